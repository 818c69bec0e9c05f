// StopFlag: one-shot cancellation shared by every blocking wait in the program.
#pragma once

#include <atomic>
#include <chrono>
#include <string_view>

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

/// Why the program is stopping. Every reason but output_failed ends with exit code 0.
enum class StopReason {
  none,
  signal,         ///< SIGTERM, SIGINT or SIGHUP received
  consumer_gone,  ///< stdout's reader closed the pipe (EPIPE)
  frames_done,    ///< --frames N frames were written
  output_failed,  ///< writing stdout failed with an error other than EPIPE (exit 1)
  requested,      ///< asked by the program itself (e.g. the demo's simulator shutting down)
};

/// Short human words for `reason`, e.g. "SIGTERM or SIGINT received".
std::string_view to_string(StopReason reason);

/// A thread-safe, one-shot stop request that is also a pollable file
/// descriptor (an eventfd that becomes readable once stop is requested), so
/// that a thread blocked in poll(2) on a socket wakes up at once.
/// Not copyable or movable: waiters hold references to it.
class StopFlag {
 public:
  /// Throws std::system_error if the eventfd cannot be created.
  StopFlag();
  ~StopFlag();
  StopFlag(const StopFlag&) = delete;
  StopFlag& operator=(const StopFlag&) = delete;

  /// Requests stop. Safe from any thread (not from a signal handler: use
  /// signals.h). The first reason wins; later calls change nothing.
  void request_stop(StopReason reason) noexcept;
  /// True once request_stop() has been called.
  bool stop_requested() const noexcept;
  /// The first reason given, or StopReason::none.
  StopReason reason() const noexcept;
  /// Readable (POLLIN) once stop is requested; never read from it.
  int fd() const noexcept { return fd_; }
  /// Sleeps until `deadline` or until stop is requested, whichever comes first.
  /// Returns true if stop was requested.
  bool wait_until(Deadline deadline) const;

 private:
  int fd_ = -1;
  std::atomic<StopReason> reason_{StopReason::none};
};

}  // namespace bambu
