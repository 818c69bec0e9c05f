// FrameSink: where a camera client delivers whole frames.
#pragma once

#include <cstdint>
#include <vector>

namespace bambu {

/// Receives whole output units in stream order: one complete JPEG each
/// (port 6000), or the bytes of one H.264 access unit as MPEG-TS packets or
/// Annex-B (RTSPS). Implementations must not block the caller on slow output.
class FrameSink {
 public:
  virtual ~FrameSink() = default;
  /// Takes ownership of one whole unit. `keyframe`: a decoder can start
  /// here (every JPEG is one; for H.264, an IDR with its SPS and PPS).
  virtual void post(std::vector<std::uint8_t> unit, bool keyframe) = 0;
  /// Posts one whole JPEG frame (a keyframe).
  void post(std::vector<std::uint8_t> frame) { post(std::move(frame), true); }
};

}  // namespace bambu
