#include "media/timeline.h"

#include <algorithm>

namespace bambu {

namespace {

// A source step back, or forward by more than this, is a discontinuity.
constexpr std::int64_t k_max_jump = 10 * Timeline::k_ticks_per_second;
// Repeated source timestamps in a row after which they count as frozen.
constexpr int k_frozen_after = 3;

}  // namespace

void Timeline::begin_session() {
  session_started_ = false;
  frozen_ = false;
  repeats_ = 0;
  last_source_.reset();
}

void Timeline::rebase(std::optional<std::int64_t> source_ticks, Clock::time_point arrival) {
  base_ = any_ ? last_ + step_ : 0;
  base_source_ = source_ticks;
  base_arrival_ = arrival;
}

std::int64_t Timeline::stamp(std::optional<std::int64_t> source_ticks, Clock::time_point arrival) {
  if (wallclock_) source_ticks.reset();  // arrival times only
  if (!session_started_) {
    session_started_ = true;
    rebase(source_ticks, arrival);
  } else if (source_ticks && !base_source_ && !frozen_) {
    rebase(source_ticks, arrival);  // the session's first timestamped packet (the demuxer may give none at first)
  } else if (source_ticks && last_source_) {
    const std::int64_t delta = *source_ticks - *last_source_;
    repeats_ = delta == 0 ? repeats_ + 1 : 0;
    if (!frozen_ && repeats_ >= k_frozen_after) {
      frozen_ = true;
      rebase(source_ticks, arrival);  // from here on: arrival times
    } else if (!frozen_ && (delta < 0 || delta > k_max_jump)) {
      rebase(source_ticks, arrival);
    }
  }
  if (source_ticks) last_source_ = source_ticks;

  std::int64_t out;
  if (frozen_ || !source_ticks || !base_source_) {
    out = base_ + ticks_between(base_arrival_, arrival);
  } else {
    out = base_ + (*source_ticks - *base_source_);
  }
  if (any_ && out <= last_) out = last_ + 1;
  if (any_ && out - last_ < k_ticks_per_second) step_ = std::max<std::int64_t>(out - last_, 1);
  last_ = out;
  any_ = true;
  return out;
}

}  // namespace bambu
