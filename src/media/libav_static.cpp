// libav() and libav_format() of the static build (BAMBU_STATIC):
// the FFmpeg linked into the binary. Only the functions of
// BAMBU_LIBAV_FUNCTIONS and BAMBU_LIBAV_FORMAT_FUNCTIONS, and what they
// reach, are kept by the linker.
#include "media/libav.h"

namespace bambu {

namespace {

#define BAMBU_LINKED(library, name) l.name = &::name;
Libav linked() {
  Libav l{};
  BAMBU_LIBAV_FUNCTIONS(BAMBU_LINKED)
  return l;
}

LibavFormat linked_format() {
  LibavFormat l{};
  BAMBU_LIBAV_FORMAT_FUNCTIONS(BAMBU_LINKED)
  return l;
}
#undef BAMBU_LINKED

}  // namespace

const Libav& libav() {
  static const Libav table = linked();
  return table;
}

const LibavFormat& libav_format() {
  static const LibavFormat table = linked_format();
  return table;
}

}  // namespace bambu
