// Clock and deadline helpers: the monotonic clock every timeout in the
// program is measured on, and conversions for poll(2) and the command line.
#pragma once

#include <chrono>

namespace bambu {

/// The monotonic clock every timeout is measured on.
using Clock = std::chrono::steady_clock;
/// An absolute point on Clock after which a wait gives up.
using Deadline = Clock::time_point;

/// Converts seconds (as given on the command line) to a Clock duration,
/// saturating at 0 and at ten years so that the conversion can never overflow
/// (the CLI bounds every duration well below that).
inline Clock::duration seconds_to_duration(double seconds) {
  constexpr double k_max_seconds = 10.0 * 365 * 86400;
  if (!(seconds > 0)) return Clock::duration::zero();  // also NaN
  if (seconds > k_max_seconds) seconds = k_max_seconds;
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
}

/// Milliseconds from now until `deadline` for poll(2): 0 when it has passed,
/// rounded up so that a wait never wakes just before its deadline, and capped
/// at `cap_ms` (so callers can wake up periodically).
int poll_timeout_ms(Deadline deadline, int cap_ms = 1000 * 60 * 60);

/// Seconds (fractional) from `from` to `to`; negative if `to` is earlier.
inline double seconds_between(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double>(to - from).count();
}

}  // namespace bambu
