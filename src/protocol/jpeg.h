// The minimal JPEG check a frame must pass before it reaches stdout.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace bambu {

/// True if `bytes` looks like one whole JPEG: it starts with SOI (FF D8) and
/// ends with EOI (FF D9). go2rtc cuts an MJPEG stream at "FF D9 FF D8"
/// (../shared/docs/go2rtc-contract.md), so a payload that does not end in
/// EOI would corrupt the next frame for every viewer; such payloads are skipped.
bool is_whole_jpeg(std::span<const std::uint8_t> bytes);

/// Cuts a file of back-to-back JPEGs (what `simulate --record` and
/// `bambu-stream --format mjpeg > FILE` write) into its frames, at every
/// "FF D9 FF D8", the rule go2rtc cuts an MJPEG stream by
/// (../shared/docs/go2rtc-contract.md). Returns the byte ranges, in order;
/// a single JPEG gives one. Pieces are not checked: callers use is_whole_jpeg().
std::vector<std::span<const std::uint8_t>> split_jpeg_sequence(std::span<const std::uint8_t> bytes);

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
