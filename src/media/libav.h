// Libav: FFmpeg's libavformat, libavcodec, libavutil and libswscale, loaded
// at run time.
//
// Linking them would load FFmpeg's ~100 dependent libraries into every
// stream process: about 13 MB of resident memory and a slower start, per
// printer, even for the port-6000 path, which needs none of it. So only the
// code that uses them (the RTSPS source, the JPEG-to-H.264 encoder, the
// simulator) dlopen()s them, on first use, and calls them through these
// tables.
//
// The static build (CMake option BAMBU_STATIC) links a minimal
// FFmpeg into the binary instead: the same tables, filled with the linked
// functions (libav_static.cpp instead of libav_dlopen.cpp), so no caller
// changes. Pages of that code an MJPEG stream never calls are never read
// in, so its resident memory stays as low as the dynamic build's.
#pragma once

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/dict.h>
#include <libavutil/error.h>
#include <libavutil/frame.h>
#include <libavutil/log.h>
#include <libswscale/swscale.h>
}

#include <string>

namespace bambu {

/// Every libavcodec, libavutil and libswscale function we call, as
/// X(library, name): library is the one that exports it (codec, util or
/// swscale). A new call is added here only (or, for libavformat, to
/// BAMBU_LIBAV_FORMAT_FUNCTIONS); the tables, the dlopen() binding and the
/// static build's tables follow from these lists.
#define BAMBU_LIBAV_FUNCTIONS(X) \
  X(codec, avcodec_find_encoder) \
  X(codec, avcodec_find_encoder_by_name) \
  X(codec, avcodec_find_decoder) \
  X(codec, av_codec_iterate) \
  X(codec, av_codec_is_encoder) \
  X(codec, avcodec_send_packet) \
  X(codec, avcodec_receive_frame) \
  X(codec, avcodec_parameters_from_context) \
  X(codec, avcodec_parameters_alloc) \
  X(codec, avcodec_parameters_free) \
  X(codec, avcodec_alloc_context3) \
  X(codec, avcodec_open2) \
  X(codec, avcodec_free_context) \
  X(codec, avcodec_send_frame) \
  X(codec, avcodec_receive_packet) \
  X(codec, avcodec_parameters_copy) \
  X(codec, avcodec_get_name) \
  X(codec, av_packet_alloc) \
  X(codec, av_packet_free) \
  X(codec, av_packet_unref) \
  X(util, av_frame_alloc) \
  X(util, av_frame_free) \
  X(util, av_frame_get_buffer) \
  X(util, av_frame_make_writable) \
  X(util, av_frame_unref) \
  X(util, av_strerror) \
  X(util, av_dict_set) \
  X(util, av_dict_free) \
  X(util, av_log_set_callback) \
  X(util, av_log_set_level) \
  X(util, av_log_format_line2) \
  X(util, av_malloc) \
  X(util, av_free) \
  X(swscale, sws_getContext) \
  X(swscale, sws_freeContext) \
  X(swscale, sws_scale) \
  X(swscale, sws_setColorspaceDetails) \
  X(swscale, sws_getCoefficients)

/// Every libavformat function we call, as X(format, name).
#define BAMBU_LIBAV_FORMAT_FUNCTIONS(X) \
  X(format, avformat_network_init) \
  X(format, avformat_alloc_context) \
  X(format, avformat_open_input) \
  X(format, avformat_find_stream_info) \
  X(format, av_read_frame) \
  X(format, avformat_close_input) \
  X(format, avformat_alloc_output_context2) \
  X(format, avformat_new_stream) \
  X(format, avformat_write_header) \
  X(format, av_write_frame) \
  X(format, avformat_free_context) \
  X(format, avio_alloc_context) \
  X(format, avio_context_free) \
  X(format, avio_flush)

/// The libavcodec, libavutil and libswscale functions we call, with the
/// exact types of the headers we were built against. Loaded once; never
/// unloaded.
struct Libav {
#define BAMBU_LIBAV_MEMBER(library, name) decltype(&::name) name;
  BAMBU_LIBAV_FUNCTIONS(BAMBU_LIBAV_MEMBER)
#undef BAMBU_LIBAV_MEMBER
};

/// The libavformat functions we call, as Libav.
struct LibavFormat {
#define BAMBU_LIBAV_MEMBER(library, name) decltype(&::name) name;
  BAMBU_LIBAV_FORMAT_FUNCTIONS(BAMBU_LIBAV_MEMBER)
#undef BAMBU_LIBAV_MEMBER
};

/// The loaded table. The first call dlopen()s libavutil.so.U,
/// libavcodec.so.C and libswscale.so.S (the major versions built against:
/// 57, 59 and 6 on Debian 12); thread-safe. Throws std::runtime_error
/// naming the missing library or symbol (e.g. when the libavcodec59
/// package is not installed). In the static build it never throws.
const Libav& libav();

/// The loaded libavformat table: libav() first, then libavformat.so.F (59
/// on Debian 12), as libav(). Apart because libavformat and its own
/// dependencies take about as long to load again as all of libav()
/// (15 ms against 20 ms on the machine of docs/performance.md), time the
/// JPEG-to-H.264 path can spend on other work (EncodingSink loads it on a
/// thread of its own while the encoder opens and the camera connects).
const LibavFormat& libav_format();

/// libav's description of error code `err` (a negative AVERROR), e.g.
/// "Invalid data found when processing input". Needs libav() loaded.
std::string av_error_text(int err);

}  // namespace bambu

namespace bambu {

class Logger;

/// Routes libav's log lines to `log` (nullptr: drop them), as debug lines
/// prefixed "libav: ", so they show with -v and pass through the Logger's
/// redaction like every other line (libavformat may print URLs, which hold
/// the access code). Lines above `AV_LOG_WARNING` (info, verbose, debug)
/// are dropped. Partial lines are joined per thread until their '\n'.
/// `log` must outlive the routing; call route_libav_log(nullptr) first to
/// end it. Needs libav() loaded.
void route_libav_log(const Logger* log);

/// route_libav_log(&log) for the life of the object, then nullptr again.
/// Loads libav() (std::runtime_error if FFmpeg is missing).
class LibavLogRoute {
 public:
  explicit LibavLogRoute(const Logger& log) { route_libav_log(&log); }
  ~LibavLogRoute() { route_libav_log(nullptr); }
  LibavLogRoute(const LibavLogRoute&) = delete;
  LibavLogRoute& operator=(const LibavLogRoute&) = delete;
};

}  // namespace bambu
