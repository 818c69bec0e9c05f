#include "simulator/libav.h"

#include <dlfcn.h>

#include <stdexcept>
#include <string>

#define BAMBU_STRINGIFY_(x) #x
#define BAMBU_STRINGIFY(x) BAMBU_STRINGIFY_(x)

namespace bambu {

namespace {

// The sonames of the versions whose headers we compiled against: a
// different major version has a different ABI and must not be loaded.
constexpr const char* k_avcodec_soname = "libavcodec.so." BAMBU_STRINGIFY(LIBAVCODEC_VERSION_MAJOR);
constexpr const char* k_avutil_soname = "libavutil.so." BAMBU_STRINGIFY(LIBAVUTIL_VERSION_MAJOR);

void* open_library(const char* soname) {
  // Never closed: the table must stay valid for the life of the process.
  void* handle = ::dlopen(soname, RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = ::dlerror();
    throw std::runtime_error(std::string("the simulator needs ") + soname + " (Debian package libavcodec" +
                             BAMBU_STRINGIFY(LIBAVCODEC_VERSION_MAJOR) + "): " + (why ? why : "not found"));
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
  void* codec = open_library(k_avcodec_soname);
  void* util = open_library(k_avutil_soname);
  Libav l{};
  bind(codec, "avcodec_find_encoder", l.avcodec_find_encoder);
  bind(codec, "avcodec_alloc_context3", l.avcodec_alloc_context3);
  bind(codec, "avcodec_open2", l.avcodec_open2);
  bind(codec, "avcodec_free_context", l.avcodec_free_context);
  bind(codec, "avcodec_send_frame", l.avcodec_send_frame);
  bind(codec, "avcodec_receive_packet", l.avcodec_receive_packet);
  bind(codec, "av_packet_alloc", l.av_packet_alloc);
  bind(codec, "av_packet_free", l.av_packet_free);
  bind(codec, "av_packet_unref", l.av_packet_unref);
  bind(util, "av_frame_alloc", l.av_frame_alloc);
  bind(util, "av_frame_free", l.av_frame_free);
  bind(util, "av_frame_get_buffer", l.av_frame_get_buffer);
  bind(util, "av_frame_make_writable", l.av_frame_make_writable);
  bind(util, "av_strerror", l.av_strerror);
  return l;
}

}  // namespace

const Libav& libav() {
  static const Libav table = load();  // C++ guarantees one thread-safe initialisation
  return table;
}

}  // namespace bambu
