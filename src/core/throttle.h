// Throttle: lets a repeated event through at most once per interval, and
// counts the ones it held back, for warnings that a stream could otherwise
// write every frame (skipped payloads, failed decodes, failed rewrites).
#pragma once

#include <cstdint>

#include "core/clock.h"

namespace bambu {

/// Not thread-safe: each user keeps its own, on one thread or under its lock.
class Throttle {
 public:
  /// `interval`: the least time between two events that go through.
  explicit Throttle(Clock::duration interval) : interval_(interval) {}

  /// Counts one event at `now`. Returns how many events came since the last
  /// one that went through, this one included, if this one goes through
  /// (the first ever does, then one `interval` after the last that did);
  /// 0 if it is held back.
  std::uint64_t pass(Clock::time_point now) {
    ++pending_;
    if (passed_any_ && now - last_passed_ < interval_) return 0;
    passed_any_ = true;
    last_passed_ = now;
    const std::uint64_t count = pending_;
    pending_ = 0;
    return count;
  }

 private:
  Clock::duration interval_;
  bool passed_any_ = false;
  Clock::time_point last_passed_{};
  std::uint64_t pending_ = 0;
};

}  // namespace bambu
