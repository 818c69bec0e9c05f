// libav() and libav_format() of the dynamic build: FFmpeg's shared
// libraries, dlopen()ed on first use (src/media/libav.h says why).
#include "media/libav.h"

#include <dlfcn.h>

#include <fmt/format.h>

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

// Binds table member `name` to its symbol in the library named `library`
// (a handle of the loader below).
#define BAMBU_BIND(library, name) bind(library, #name, l.name);

Libav load() {
  // Named as BAMBU_LIBAV_FUNCTIONS names each function's library.
  void* util = open_library(k_avutil);
  void* codec = open_library(k_avcodec);
  void* swscale = open_library(k_swscale);
  Libav l{};
  BAMBU_LIBAV_FUNCTIONS(BAMBU_BIND)
  return l;
}

LibavFormat load_format() {
  libav();  // libavformat needs libavcodec and libavutil, of the same build
  void* format = open_library(k_avformat);
  LibavFormat l{};
  BAMBU_LIBAV_FORMAT_FUNCTIONS(BAMBU_BIND)
  return l;
}

#undef BAMBU_BIND

}  // namespace

// C++ guarantees one thread-safe initialisation of each table: a second
// caller waits for the first; after a throw the next call tries again.
const Libav& libav() {
  static const Libav table = load();
  return table;
}

const LibavFormat& libav_format() {
  static const LibavFormat table = load_format();
  return table;
}

}  // namespace bambu
