// RepeatSchedule (media/repeat_schedule.h): when the encoder writes the
// newest picture again between camera frames, driven by made-up times.
#include <catch2/catch.hpp>

#include <optional>
#include <vector>

#include "media/repeat_schedule.h"

using bambu::Clock;
using bambu::RepeatSchedule;

namespace {

const Clock::time_point t0 = Clock::now();

Clock::time_point at(double s) {
  return t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
}

double seconds(Clock::time_point t) { return std::chrono::duration<double>(t - t0).count(); }

// The writes of a camera at `camera_fps` (keyframes while `keyframe_until`
// seconds of the session have not passed) up to `end` seconds, with every
// repeat the schedule asks for made exactly when due: {time, keyframe,
// repeat} in order.
struct Write {
  double t;
  bool keyframe;
  bool repeat;
};
std::vector<Write> simulate(RepeatSchedule& s, double camera_fps, double keyframe_until, double end) {
  std::vector<Write> writes;
  double next_camera = 0;
  for (;;) {
    const std::optional<RepeatSchedule::Repeat> r = s.next();
    if (r && seconds(r->due) < next_camera - 1e-9) {
      if (seconds(r->due) > end) break;
      s.repeated(r->due, r->keyframe);
      writes.push_back({seconds(r->due), r->keyframe, true});
      continue;
    }
    if (next_camera > end) break;
    const bool key = next_camera < keyframe_until;
    s.camera_frame(at(next_camera), key);
    writes.push_back({next_camera, key, false});
    next_camera += 1 / camera_fps;
  }
  return writes;
}

}  // namespace

TEST_CASE("RepeatSchedule: nothing before the first camera frame, and nothing once the session ended") {
  RepeatSchedule s(4, 5);
  CHECK_FALSE(s.next().has_value());
  s.camera_frame(at(0), true);
  REQUIRE(s.next().has_value());
  s.begin_session();
  CHECK_FALSE(s.next().has_value());  // the old session's picture is not repeated
}

TEST_CASE("RepeatSchedule: the start-up burst repeats keyframes every 0.25 s, only while it lasts") {
  RepeatSchedule s(4, 0);
  const auto writes = simulate(s, 1, 4, 6);
  std::vector<double> repeats;
  for (const auto& w : writes) {
    if (!w.repeat) continue;
    CHECK(w.keyframe);
    repeats.push_back(w.t);
  }
  // 3 between each pair of camera frames in the first 4 s: 0.25, 0.5, 0.75, 1.25, ...
  REQUIRE(repeats.size() == 12);
  for (std::size_t i = 0; i < repeats.size(); ++i) {
    CHECK(repeats[i] == Approx(static_cast<double>(i / 3) + 0.25 * static_cast<double>(i % 3 + 1)));
  }
  // No gap between keyframes over 0.25 s in the burst.
  double last_key = 0;
  for (const auto& w : writes) {
    if (w.t >= 4 || !w.keyframe) continue;
    CHECK(w.t - last_key <= 0.25 + 1e-9);
    last_key = w.t;
  }
}

TEST_CASE("RepeatSchedule: a camera faster than four a second gets no repeats") {
  RepeatSchedule s(4, 0);
  for (const auto& w : simulate(s, 5, 4, 6)) CHECK_FALSE(w.repeat);
}

TEST_CASE("RepeatSchedule: --keyframe-burst 0 turns the burst repeats off") {
  RepeatSchedule s(0, 0);
  s.camera_frame(at(0), true);
  CHECK_FALSE(s.next().has_value());
}

TEST_CASE("RepeatSchedule: --output-fps 5 fills a 1 fps camera to a frame every 0.2 s, as P-frames past the burst") {
  RepeatSchedule s(1, 5);
  const auto writes = simulate(s, 1, 1, 4);
  for (std::size_t i = 1; i < writes.size(); ++i) CHECK(writes[i].t - writes[i - 1].t <= 0.2 + 1e-9);
  int burst_repeats = 0, steady = 0;
  for (const auto& w : writes) {
    if (!w.repeat) continue;
    if (w.t < 1) {
      CHECK(w.keyframe);  // in the burst at 5 a second: every repeat a keyframe, 0.2 s apart
      ++burst_repeats;
    } else {
      CHECK_FALSE(w.keyframe);
      ++steady;
    }
  }
  CHECK(burst_repeats == 4);
  CHECK(steady == 12);  // 4 between each camera frame after the first second
}

TEST_CASE("RepeatSchedule: no repeat just before a camera frame that is due, even one a little late") {
  RepeatSchedule s(0, 5);
  // A camera at 1 fps whose frames come 1 ms late each: the fifth repeat of
  // each second would be due a millisecond before the frame.
  std::vector<double> repeats;
  for (int i = 0; i < 6; ++i) {
    const double camera = i * 1.001;
    s.camera_frame(at(camera), i == 0);
    for (auto r = s.next(); r && seconds(r->due) < (i + 1) * 1.001; r = s.next()) {
      if (i > 0) repeats.push_back(seconds(r->due));  // the pace is known from the second frame on
      s.repeated(r->due, r->keyframe);
    }
  }
  CHECK(repeats.size() == 20);  // 4 a second
  // A camera frame that does not come: the repeats go on, half an interval late.
  RepeatSchedule late(0, 5);
  late.camera_frame(at(0), true);
  late.camera_frame(at(1), false);
  for (int i = 0; i < 4; ++i) late.repeated(late.next()->due, false);
  REQUIRE(late.next().has_value());
  CHECK(seconds(late.next()->due) == Approx(2.1));
}

TEST_CASE("RepeatSchedule: a stalled camera is not repeated past 5 s after its newest frame") {
  RepeatSchedule s(0, 2);
  s.camera_frame(at(0), true);
  double last = 0;
  while (const auto r = s.next()) {
    last = seconds(r->due);
    s.repeated(r->due, r->keyframe);
    REQUIRE(last < 100);  // it ends
  }
  CHECK(last < RepeatSchedule::k_max_hold_s);
  CHECK(last >= RepeatSchedule::k_max_hold_s - 0.5 - 1e-9);
}
