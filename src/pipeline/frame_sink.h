// FrameSink: where a camera client delivers whole frames.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "core/clock.h"

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
  /// Takes one unit that shows the newest picture again, re-encoded, between
  /// camera frames (EncodingSink's repeats): passed on like post(), but not
  /// a camera frame, so not counted as one (--frames, the heartbeat's
  /// frames and fps). Default: post().
  virtual void post_repeat(std::vector<std::uint8_t> unit, bool keyframe) { post(std::move(unit), keyframe); }
  /// Posts one whole JPEG frame (a keyframe).
  void post(std::vector<std::uint8_t> frame) { post(std::move(frame), true); }

  /// The units posted from now on come from a new camera session (the
  /// first, or one after a reconnect). Called by the camera client on the
  /// session thread before the session's first unit. Default: nothing.
  virtual void begin_session() {}

  /// The session's last unit has been posted: it was lost, stalled or
  /// stopped (the camera client calls this on the session thread, whether
  /// or not the session delivered anything). Default: nothing.
  virtual void end_session() {}

  /// For the camera client's stall watchdog: when the newest unit that this
  /// sink found good (e.g. a JPEG that decoded) was posted; Clock's epoch
  /// while none was. nullopt: the sink does not judge units (every whole
  /// unit counts). Thread-safe.
  virtual std::optional<Clock::time_point> last_good_unit() const { return std::nullopt; }
};

}  // namespace bambu
