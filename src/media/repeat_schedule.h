// RepeatSchedule: when the JPEG encoder writes the newest picture again,
// between camera frames, and whether that repeat is a keyframe.
#pragma once

#include <optional>

#include "core/clock.h"

namespace bambu {

/// The pure timing rule of EncodingSink's repeats (unit-tested on its own).
///
/// The P1/A1 camera sends a frame every 1-2 s. A player that connects
/// between two frames shows nothing until the next keyframe; go2rtc's
/// WebRTC and MSE players start only at one. So:
/// - During the start-up burst (`burst_s` seconds from the session's first
///   camera frame, the time in which players connect on demand), the newest
///   picture is written again as a keyframe whenever k_burst_repeat_s passed
///   since the last keyframe written, so that a player arriving then gets a
///   picture within about that long.
/// - With `output_fps` > 0 the newest picture is written again whenever
///   1/output_fps seconds passed since the last unit written: a steady rate
///   for consumers that expect a camera's (NVR detection, HomeKit). Past
///   the burst these repeats are P-frames; in it, those that keep keyframes
///   about k_burst_repeat_s apart are keyframes.
/// - A repeat that would come less than half its interval before the next
///   camera frame (as expected from the camera's mean pace) waits until half
///   an interval past that frame's expected time: a camera frame due then
///   makes it needless (a 1 fps camera at --output-fps 5 gets 4 repeats a
///   second, not a fifth one a millisecond before its frame).
/// - Never before the session's first camera frame (after a reconnect the
///   old session's picture is not repeated), and never once the newest camera
///   frame is k_max_hold_s old: a stalled camera is not dressed up as a live
///   one (the stall watchdog reconnects; the player sees the stream stop).
/// Times are on the monotonic Clock; a repeat is due at the time given,
/// and is stamped with the time it is made.
class RepeatSchedule {
 public:
  /// Seconds between repeats in the start-up burst: about four a second.
  static constexpr double k_burst_repeat_s = 0.25;
  /// Weight of the newest camera frame interval in the mean pace.
  static constexpr double k_step_weight = 0.2;
  /// Camera frame intervals over this many seconds (a stall) leave the mean pace alone.
  static constexpr double k_max_step_s = 10;
  /// Seconds after the newest camera frame past which nothing is repeated:
  /// over two frame intervals at the P1/A1's slowest 0.5 fps.
  static constexpr double k_max_hold_s = 5;

  /// One repeat: when it is due and whether it must be a keyframe.
  struct Repeat {
    Clock::time_point due;
    bool keyframe = false;
  };

  /// `burst_s`: seconds of the start-up burst (0: no burst repeats);
  /// `output_fps`: the steady rate, frames per second (0: none).
  RepeatSchedule(double burst_s, double output_fps) : burst_s_(burst_s), output_fps_(output_fps) {}

  /// The next camera frame starts a new session: nothing is repeated until it comes.
  void begin_session() {
    session_start_.reset();
    last_camera_.reset();
    mean_camera_step_s_ = 0;
  }
  /// A camera frame was written at `at`, a keyframe or not (the session's
  /// first starts the burst).
  void camera_frame(Clock::time_point at, bool keyframe);
  /// A repeat was written at `at`, a keyframe or not.
  void repeated(Clock::time_point at, bool keyframe);
  /// The next repeat, or nullopt while none will be due until another
  /// camera frame comes.
  std::optional<Repeat> next() const;

 private:
  const double burst_s_;
  const double output_fps_;
  std::optional<Clock::time_point> session_start_;  // the session's first camera frame
  std::optional<Clock::time_point> last_camera_;    // the newest camera frame of this session
  Clock::time_point last_output_{};                 // the last unit written, camera frame or repeat
  Clock::time_point last_keyframe_{};               // the last keyframe written
  double mean_camera_step_s_ = 0;                   // the camera's mean frame interval; 0 while unknown
};

}  // namespace bambu
