// libav() and libav_format() of the static build (BAMBU_STATIC, issue 18):
// the FFmpeg linked into the binary. Only the functions of
// BAMBU_LIBAV_FUNCTIONS and BAMBU_LIBAV_FORMAT_FUNCTIONS, and what they
// reach, are kept by the linker.
#include "media/libav.h"

namespace bambu {

const Libav& libav() {
  static const Libav table = [] {
    Libav l{};
#define BAMBU_LINKED(library, name) l.name = &::name;
    BAMBU_LIBAV_FUNCTIONS(BAMBU_LINKED)
#undef BAMBU_LINKED
    return l;
  }();
  return table;
}

const LibavFormat& libav_format() {
  static const LibavFormat table = [] {
    LibavFormat l{};
#define BAMBU_LINKED(library, name) l.name = &::name;
    BAMBU_LIBAV_FORMAT_FUNCTIONS(BAMBU_LINKED)
#undef BAMBU_LINKED
    return l;
  }();
  return table;
}

}  // namespace bambu
