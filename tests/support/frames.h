// Helpers for building port-6000 wire bytes in tests.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "protocol/frame_parser.h"

namespace bambu::test {

/// A fake JPEG payload of `size` bytes (>= 4): FF D8, a counting body, FF D9.
inline std::vector<std::uint8_t> fake_jpeg(std::size_t size, std::uint8_t seed = 0) {
  std::vector<std::uint8_t> jpeg(size);
  for (std::size_t i = 0; i < size; ++i) jpeg[i] = static_cast<std::uint8_t>(seed + i * 7);
  jpeg[0] = 0xFF;
  jpeg[1] = 0xD8;
  jpeg[size - 2] = 0xFF;
  jpeg[size - 1] = 0xD9;
  return jpeg;
}

/// Header + payload as the printer sends them (itrack 0, flags 1).
inline std::vector<std::uint8_t> wire_frame(std::span<const std::uint8_t> payload, std::uint32_t size_field) {
  std::vector<std::uint8_t> bytes(k_frame_header_size);
  encode_frame_header(FrameHeader{size_field, 0, 1, 0},
                      std::span<std::uint8_t, k_frame_header_size>(bytes.data(), k_frame_header_size));
  bytes.insert(bytes.end(), payload.begin(), payload.end());
  return bytes;
}

inline std::vector<std::uint8_t> wire_frame(std::span<const std::uint8_t> payload) {
  return wire_frame(payload, static_cast<std::uint32_t>(payload.size()));
}

}  // namespace bambu::test
