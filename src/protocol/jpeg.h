// The minimal JPEG check a frame must pass before it reaches stdout.
#pragma once

#include <cstdint>
#include <optional>
#include <span>

namespace bambu {

/// True if `bytes` looks like one whole JPEG: it starts with SOI (FF D8) and
/// ends with EOI (FF D9). go2rtc cuts an MJPEG stream at "FF D9 FF D8"
/// (../shared/docs/go2rtc-contract.md), so a payload that does not end in
/// EOI would corrupt the next frame for every viewer; such payloads are skipped.
bool is_whole_jpeg(std::span<const std::uint8_t> bytes);

/// A picture's size in pixels.
struct PictureSize {
  int width = 0;
  int height = 0;
};

/// The size a JPEG's frame header (SOFn segment, ITU-T T.81 B.2.2) gives,
/// found by walking the marker segments after SOI up to the first SOS.
/// nullopt if `bytes` has no SOI, no SOFn before SOS, or a segment runs past
/// the end. Reads only the headers (usually the first few hundred bytes).
std::optional<PictureSize> jpeg_size(std::span<const std::uint8_t> bytes);

}  // namespace bambu
