#include "media/repeat_schedule.h"

#include <algorithm>

namespace bambu {

void RepeatSchedule::camera_frame(Clock::time_point at, bool keyframe) {
  if (!session_start_) session_start_ = at;
  if (last_camera_) {
    const double step = seconds_between(*last_camera_, at);
    if (step > 0 && step < k_max_step_s) {
      mean_camera_step_s_ =
          mean_camera_step_s_ == 0 ? step : (1 - k_step_weight) * mean_camera_step_s_ + k_step_weight * step;
    }
  }
  last_camera_ = at;
  repeated(at, keyframe);
}

void RepeatSchedule::repeated(Clock::time_point at, bool keyframe) {
  last_output_ = at;
  if (keyframe) last_keyframe_ = at;
}

std::optional<RepeatSchedule::Repeat> RepeatSchedule::next() const {
  if (!last_camera_) return std::nullopt;
  const Clock::time_point hold_end = *last_camera_ + seconds_to_duration(k_max_hold_s);
  const Clock::time_point burst_end = *session_start_ + seconds_to_duration(burst_s_);
  auto in_burst = [&](Clock::time_point t) { return burst_s_ > 0 && t < burst_end; };
  std::optional<Repeat> next;
  double interval_s = k_burst_repeat_s;  // of the repeat chosen
  if (output_fps_ > 0) {
    // In the burst a steady repeat is a keyframe when that keeps keyframes
    // about k_burst_repeat_s apart (the nearest steady slot), not every one.
    const double step = 1 / output_fps_;
    const Clock::time_point due = last_output_ + seconds_to_duration(step);
    next = Repeat{due, in_burst(due) && seconds_between(last_keyframe_, due) >= k_burst_repeat_s - step / 2};
    interval_s = step;
  }
  // A steady rate under four a second leaves room for burst keyframes between.
  const Clock::time_point key_due = last_keyframe_ + seconds_to_duration(k_burst_repeat_s);
  if (in_burst(key_due) && (!next || key_due < next->due)) {
    next = Repeat{key_due, true};
    interval_s = k_burst_repeat_s;
  }
  if (!next) return std::nullopt;
  if (mean_camera_step_s_ > 0) {
    const Clock::time_point expected = *last_camera_ + seconds_to_duration(mean_camera_step_s_);
    const Clock::duration half = seconds_to_duration(interval_s / 2);
    if (next->due + half > expected) next->due = std::max(next->due, expected + half);
  }
  if (next->due >= hold_end) return std::nullopt;
  return next;
}

}  // namespace bambu
