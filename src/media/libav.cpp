#include "media/libav.h"

#include <dlfcn.h>

#include <fmt/format.h>

#include "core/log.h"

#include <atomic>
#include <cstdarg>
#include <stdexcept>
#include <string>

#define BAMBU_STRINGIFY_(x) #x
#define BAMBU_STRINGIFY(x) BAMBU_STRINGIFY_(x)

namespace bambu {

namespace {

// A library to load: the soname of the major version whose headers we
// compiled against (another major version has another ABI and must not be
// loaded) and the Debian package that ships it, for the error message.
struct Library {
  const char* soname;
  const char* package;
};

constexpr Library k_avutil{"libavutil.so." BAMBU_STRINGIFY(LIBAVUTIL_VERSION_MAJOR),
                           "libavutil" BAMBU_STRINGIFY(LIBAVUTIL_VERSION_MAJOR)};
constexpr Library k_avcodec{"libavcodec.so." BAMBU_STRINGIFY(LIBAVCODEC_VERSION_MAJOR),
                            "libavcodec" BAMBU_STRINGIFY(LIBAVCODEC_VERSION_MAJOR)};
constexpr Library k_swscale{"libswscale.so." BAMBU_STRINGIFY(LIBSWSCALE_VERSION_MAJOR),
                            "libswscale" BAMBU_STRINGIFY(LIBSWSCALE_VERSION_MAJOR)};
constexpr Library k_avformat{"libavformat.so." BAMBU_STRINGIFY(LIBAVFORMAT_VERSION_MAJOR),
                             "libavformat" BAMBU_STRINGIFY(LIBAVFORMAT_VERSION_MAJOR)};

void* open_library(const Library& library) {
  // Never closed: the table must stay valid for the life of the process.
  void* handle = ::dlopen(library.soname, RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = ::dlerror();
    throw std::runtime_error(fmt::format("FFmpeg's {} is needed here (Debian package {}): {}", library.soname,
                                         library.package, why ? why : "not found"));
  }
  return handle;
}

template <typename Fn>
void bind(void* handle, const char* name, Fn& out) {
  void* symbol = ::dlsym(handle, name);
  if (symbol == nullptr) throw std::runtime_error(std::string("libav: missing symbol ") + name);
  out = reinterpret_cast<Fn>(symbol);
}

Libav load() {
  void* util = open_library(k_avutil);
  void* codec = open_library(k_avcodec);
  void* format = open_library(k_avformat);
  void* swscale = open_library(k_swscale);
  Libav l{};
#define BAMBU_BIND(lib, name) bind(lib, #name, l.name)
  BAMBU_BIND(codec, avcodec_find_encoder);
  BAMBU_BIND(codec, avcodec_find_encoder_by_name);
  BAMBU_BIND(codec, avcodec_find_decoder);
  BAMBU_BIND(codec, av_codec_iterate);
  BAMBU_BIND(codec, av_codec_is_encoder);
  BAMBU_BIND(codec, avcodec_send_packet);
  BAMBU_BIND(codec, avcodec_receive_frame);
  BAMBU_BIND(codec, avcodec_parameters_from_context);
  BAMBU_BIND(codec, avcodec_parameters_alloc);
  BAMBU_BIND(codec, avcodec_parameters_free);
  BAMBU_BIND(codec, avcodec_alloc_context3);
  BAMBU_BIND(codec, avcodec_open2);
  BAMBU_BIND(codec, avcodec_free_context);
  BAMBU_BIND(codec, avcodec_send_frame);
  BAMBU_BIND(codec, avcodec_receive_packet);
  BAMBU_BIND(codec, avcodec_parameters_copy);
  BAMBU_BIND(codec, avcodec_get_name);
  BAMBU_BIND(codec, av_packet_alloc);
  BAMBU_BIND(codec, av_packet_free);
  BAMBU_BIND(codec, av_packet_unref);
  BAMBU_BIND(util, av_frame_alloc);
  BAMBU_BIND(util, av_frame_free);
  BAMBU_BIND(util, av_frame_get_buffer);
  BAMBU_BIND(util, av_frame_make_writable);
  BAMBU_BIND(util, av_frame_unref);
  BAMBU_BIND(util, av_strerror);
  BAMBU_BIND(util, av_dict_set);
  BAMBU_BIND(util, av_dict_free);
  BAMBU_BIND(util, av_log_set_callback);
  BAMBU_BIND(util, av_log_set_level);
  BAMBU_BIND(util, av_log_format_line2);
  BAMBU_BIND(util, av_malloc);
  BAMBU_BIND(util, av_free);
  BAMBU_BIND(format, avformat_network_init);
  BAMBU_BIND(format, avformat_alloc_context);
  BAMBU_BIND(format, avformat_open_input);
  BAMBU_BIND(format, avformat_find_stream_info);
  BAMBU_BIND(format, av_read_frame);
  BAMBU_BIND(format, avformat_close_input);
  BAMBU_BIND(format, avformat_alloc_output_context2);
  BAMBU_BIND(format, avformat_new_stream);
  BAMBU_BIND(format, avformat_write_header);
  BAMBU_BIND(format, av_write_frame);
  BAMBU_BIND(format, av_write_trailer);
  BAMBU_BIND(format, avformat_free_context);
  BAMBU_BIND(format, avio_alloc_context);
  BAMBU_BIND(format, avio_context_free);
  BAMBU_BIND(format, avio_flush);
  BAMBU_BIND(swscale, sws_getContext);
  BAMBU_BIND(swscale, sws_freeContext);
  BAMBU_BIND(swscale, sws_scale);
  BAMBU_BIND(swscale, sws_setColorspaceDetails);
  BAMBU_BIND(swscale, sws_getCoefficients);
#undef BAMBU_BIND
  return l;
}

}  // namespace

const Libav& libav() {
  static const Libav table = load();  // C++ guarantees one thread-safe initialisation
  return table;
}

namespace {

std::atomic<const Logger*> g_libav_log{nullptr};

void libav_log_callback(void* avcl, int level, const char* format, va_list args) {
  const Logger* log = g_libav_log.load();
  if (log == nullptr || level > AV_LOG_WARNING || !log->enabled(LogLevel::debug)) return;
  thread_local std::string partial;
  thread_local int print_prefix = 1;
  char line[1024];
  va_list copy;
  va_copy(copy, args);
  libav().av_log_format_line2(avcl, level, format, copy, line, sizeof line, &print_prefix);
  va_end(copy);
  partial += line;
  if (partial.size() > 4096) partial += '\n';  // a line that never ends: cut it here
  for (auto nl = partial.find('\n'); nl != std::string::npos; nl = partial.find('\n')) {
    std::string text = partial.substr(0, nl);
    partial.erase(0, nl + 1);
    if (!text.empty()) log->write(LogLevel::debug, "libav: " + text);
  }
}

}  // namespace

void route_libav_log(const Logger* log) {
  g_libav_log.store(log);
  libav().av_log_set_level(AV_LOG_WARNING);
  libav().av_log_set_callback(&libav_log_callback);
}

std::string av_error_text(int err) {
  char buf[AV_ERROR_MAX_STRING_SIZE] = {};
  if (libav().av_strerror(err, buf, sizeof buf) < 0) return fmt::format("libav error {}", err);
  return buf;
}

}  // namespace bambu
