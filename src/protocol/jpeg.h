// The minimal JPEG check a frame must pass before it reaches stdout.
#pragma once

#include <cstdint>
#include <span>

namespace bambu {

/// True if `bytes` looks like one whole JPEG: it starts with SOI (FF D8) and
/// ends with EOI (FF D9). go2rtc cuts an MJPEG stream at "FF D9 FF D8"
/// (../shared/docs/go2rtc-contract.md), so a payload that does not end in
/// EOI would corrupt the next frame for every viewer; such payloads are skipped.
bool is_whole_jpeg(std::span<const std::uint8_t> bytes);

}  // namespace bambu
