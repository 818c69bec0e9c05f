// Libav: libavcodec and libavutil loaded at run time, only by the simulator.
//
// Linking them would load FFmpeg's ~100 dependent libraries into every
// stream process: about 13 MB of resident memory and a slower start, per
// printer, for code that only `simulate` and `--demo` use. So the simulator
// dlopen()s them on first use and calls them through this table.
#pragma once

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavutil/error.h>
#include <libavutil/frame.h>
}

namespace bambu {

/// The libav functions the simulator calls, with the exact types of the
/// headers it was built against. Loaded once; never unloaded.
struct Libav {
  decltype(&::avcodec_find_encoder) avcodec_find_encoder;
  decltype(&::avcodec_alloc_context3) avcodec_alloc_context3;
  decltype(&::avcodec_open2) avcodec_open2;
  decltype(&::avcodec_free_context) avcodec_free_context;
  decltype(&::avcodec_send_frame) avcodec_send_frame;
  decltype(&::avcodec_receive_packet) avcodec_receive_packet;
  decltype(&::av_packet_alloc) av_packet_alloc;
  decltype(&::av_packet_free) av_packet_free;
  decltype(&::av_packet_unref) av_packet_unref;
  decltype(&::av_frame_alloc) av_frame_alloc;
  decltype(&::av_frame_free) av_frame_free;
  decltype(&::av_frame_get_buffer) av_frame_get_buffer;
  decltype(&::av_frame_make_writable) av_frame_make_writable;
  decltype(&::av_strerror) av_strerror;
};

/// The loaded table. The first call dlopen()s libavcodec.so.N and
/// libavutil.so.M (N and M: the major versions built against, 59 and 57 on
/// Debian 12); thread-safe. Throws std::runtime_error naming the missing
/// library or symbol (e.g. when the libavcodec59 package is not installed).
const Libav& libav();

}  // namespace bambu
