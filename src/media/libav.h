// Libav: FFmpeg's libavformat, libavcodec, libavutil and libswscale, loaded
// at run time.
//
// Linking them would load FFmpeg's ~100 dependent libraries into every
// stream process: about 13 MB of resident memory and a slower start, per
// printer, even for the port-6000 path, which needs none of it. So only the
// code that uses them (the RTSPS source, the JPEG-to-H.264 encoder, the
// simulator) dlopen()s them, on first use, and calls them through this table.
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

/// The libav functions we call, with the exact types of the headers we were
/// built against. Loaded once; never unloaded.
struct Libav {
  // libavcodec
  decltype(&::avcodec_find_encoder) avcodec_find_encoder;
  decltype(&::avcodec_find_encoder_by_name) avcodec_find_encoder_by_name;
  decltype(&::avcodec_find_decoder) avcodec_find_decoder;
  decltype(&::av_codec_iterate) av_codec_iterate;
  decltype(&::av_codec_is_encoder) av_codec_is_encoder;
  decltype(&::avcodec_send_packet) avcodec_send_packet;
  decltype(&::avcodec_receive_frame) avcodec_receive_frame;
  decltype(&::avcodec_parameters_from_context) avcodec_parameters_from_context;
  decltype(&::avcodec_parameters_alloc) avcodec_parameters_alloc;
  decltype(&::avcodec_parameters_free) avcodec_parameters_free;
  decltype(&::avcodec_alloc_context3) avcodec_alloc_context3;
  decltype(&::avcodec_open2) avcodec_open2;
  decltype(&::avcodec_free_context) avcodec_free_context;
  decltype(&::avcodec_send_frame) avcodec_send_frame;
  decltype(&::avcodec_receive_packet) avcodec_receive_packet;
  decltype(&::avcodec_parameters_copy) avcodec_parameters_copy;
  decltype(&::avcodec_get_name) avcodec_get_name;
  decltype(&::av_packet_alloc) av_packet_alloc;
  decltype(&::av_packet_free) av_packet_free;
  decltype(&::av_packet_unref) av_packet_unref;
  // libavutil
  decltype(&::av_frame_alloc) av_frame_alloc;
  decltype(&::av_frame_free) av_frame_free;
  decltype(&::av_frame_get_buffer) av_frame_get_buffer;
  decltype(&::av_frame_make_writable) av_frame_make_writable;
  decltype(&::av_frame_unref) av_frame_unref;
  decltype(&::av_strerror) av_strerror;
  decltype(&::av_dict_set) av_dict_set;
  decltype(&::av_dict_free) av_dict_free;
  decltype(&::av_log_set_callback) av_log_set_callback;
  decltype(&::av_log_set_level) av_log_set_level;
  decltype(&::av_log_format_line2) av_log_format_line2;
  decltype(&::av_malloc) av_malloc;
  decltype(&::av_free) av_free;
  // libavformat
  decltype(&::avformat_network_init) avformat_network_init;
  decltype(&::avformat_alloc_context) avformat_alloc_context;
  decltype(&::avformat_open_input) avformat_open_input;
  decltype(&::avformat_find_stream_info) avformat_find_stream_info;
  decltype(&::av_read_frame) av_read_frame;
  decltype(&::avformat_close_input) avformat_close_input;
  decltype(&::avformat_alloc_output_context2) avformat_alloc_output_context2;
  decltype(&::avformat_new_stream) avformat_new_stream;
  decltype(&::avformat_write_header) avformat_write_header;
  decltype(&::av_write_frame) av_write_frame;
  decltype(&::av_write_trailer) av_write_trailer;
  decltype(&::avformat_free_context) avformat_free_context;
  decltype(&::avio_alloc_context) avio_alloc_context;
  decltype(&::avio_context_free) avio_context_free;
  decltype(&::avio_flush) avio_flush;
  // libswscale
  decltype(&::sws_getContext) sws_getContext;
  decltype(&::sws_freeContext) sws_freeContext;
  decltype(&::sws_scale) sws_scale;
  decltype(&::sws_setColorspaceDetails) sws_setColorspaceDetails;
  decltype(&::sws_getCoefficients) sws_getCoefficients;
};

/// The loaded table. The first call dlopen()s libavformat.so.F,
/// libavcodec.so.C, libavutil.so.U and libswscale.so.S (the major versions
/// built against: 59, 59, 57 and 6 on Debian 12); thread-safe. Throws std::runtime_error
/// naming the missing library or symbol (e.g. when the libavformat59
/// package is not installed).
const Libav& libav();

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
