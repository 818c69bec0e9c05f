// KeyframeJpeg: one H.264 keyframe to one JPEG, for the RTSPS source's
// --snapshot. Runs on SnapshotWriter's thread, never the stream's.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace bambu {

/// Decodes one Annex-B H.264 keyframe (an IDR access unit with its SPS and
/// PPS in-band, as the Remuxer emits every keyframe) with libavcodec's H.264
/// decoder, converts the picture to full-range yuvj420p (libswscale) and
/// encodes it with libavcodec's MJPEG encoder, at the picture's own size.
/// A fresh decoder per call: keyframes are independent and a snapshot is
/// taken at most about once a second. Not thread-safe: one thread drives it.
/// Needs libav() loaded (the RTSPS source has loaded it).
class KeyframeJpeg {
 public:
  /// JPEG quantiser (2..31, lower is better); 5 keeps text on the printer's
  /// screen legible at about 100 KB for 1920x1080.
  static constexpr int k_qscale = 5;

  /// The JPEG of `keyframe`; nullopt if it does not decode to a picture.
  /// Throws std::runtime_error if libavcodec lacks a decoder or the MJPEG
  /// encoder, or encoding fails.
  std::optional<std::vector<std::uint8_t>> convert(std::span<const std::uint8_t> keyframe);
};

}  // namespace bambu
