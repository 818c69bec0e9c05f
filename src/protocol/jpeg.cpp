#include "protocol/jpeg.h"

namespace bambu {

bool is_whole_jpeg(std::span<const std::uint8_t> bytes) {
  const auto n = bytes.size();
  return n >= 4 && bytes[0] == 0xFF && bytes[1] == 0xD8 && bytes[n - 2] == 0xFF && bytes[n - 1] == 0xD9;
}

}  // namespace bambu
