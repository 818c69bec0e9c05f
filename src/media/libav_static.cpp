// libav() of the static build (BAMBU_STATIC, issue 18): the FFmpeg linked
// into the binary. Only the functions of BAMBU_LIBAV_FUNCTIONS, and what
// they reach, are kept by the linker.
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

}  // namespace bambu
