// StopFlag: one-shot cancellation shared by every blocking wait in the program.
#pragma once

#include <atomic>
#include <string_view>

#include "core/clock.h"

namespace bambu {

/// Why the program is stopping. Every reason but output_failed and
/// encoder_failed ends with exit code 0.
enum class StopReason {
  none,
  signal,         ///< SIGTERM, SIGINT or SIGHUP received
  consumer_gone,  ///< stdout's reader closed the pipe (EPIPE)
  frames_done,    ///< --frames N frames were written
  output_failed,  ///< writing stdout failed with an error other than EPIPE (exit 1)
  encoder_failed, ///< the H.264 encoder failed mid-stream (exit 1)
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
