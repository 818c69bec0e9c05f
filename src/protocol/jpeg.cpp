#include "protocol/jpeg.h"

namespace bambu {

bool is_whole_jpeg(std::span<const std::uint8_t> bytes) {
  const auto n = bytes.size();
  return n >= 4 && bytes[0] == 0xFF && bytes[1] == 0xD8 && bytes[n - 2] == 0xFF && bytes[n - 1] == 0xD9;
}

std::optional<PictureSize> jpeg_size(std::span<const std::uint8_t> bytes) {
  const auto n = bytes.size();
  if (n < 4 || bytes[0] != 0xFF || bytes[1] != 0xD8) return std::nullopt;
  std::size_t pos = 2;
  while (pos + 4 <= n) {
    if (bytes[pos] != 0xFF) return std::nullopt;
    const std::uint8_t marker = bytes[pos + 1];
    if (marker == 0xFF) {  // fill byte
      ++pos;
      continue;
    }
    if (marker == 0xDA || marker == 0xD9) return std::nullopt;  // SOS or EOI before any SOFn
    const std::size_t length = (std::size_t{bytes[pos + 2]} << 8) | bytes[pos + 3];
    if (length < 2 || pos + 2 + length > n) return std::nullopt;
    // SOF0..SOF15, except DHT (C4), JPG (C8) and DAC (CC): P, Y (height), X (width).
    const bool sof = marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
    if (sof) {
      if (length < 7) return std::nullopt;
      const int height = (bytes[pos + 5] << 8) | bytes[pos + 6];
      const int width = (bytes[pos + 7] << 8) | bytes[pos + 8];
      return PictureSize{width, height};
    }
    pos += 2 + length;
  }
  return std::nullopt;
}

std::vector<std::span<const std::uint8_t>> split_jpeg_sequence(std::span<const std::uint8_t> bytes) {
  std::vector<std::span<const std::uint8_t>> frames;
  std::size_t start = 0;
  for (std::size_t i = 2; i + 3 < bytes.size(); ++i) {
    if (bytes[i] == 0xFF && bytes[i + 1] == 0xD9 && bytes[i + 2] == 0xFF && bytes[i + 3] == 0xD8) {
      frames.push_back(bytes.subspan(start, i + 2 - start));
      start = i + 2;
      ++i;
    }
  }
  if (start < bytes.size()) frames.push_back(bytes.subspan(start));
  return frames;
}

}  // namespace bambu
