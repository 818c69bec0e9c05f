// The RTSPS remux's output timestamps: from 0, monotonic, continuous across
// reconnects, and on arrival when asked or when the source's are frozen.
#include <catch2/catch.hpp>

#include "media/timeline.h"

using namespace bambu;
using namespace std::chrono_literals;

namespace {
constexpr std::int64_t k_frame = 6000;  // 15 fps in 90 kHz ticks
}

TEST_CASE("output starts at 0 and follows the source's intervals") {
  Timeline t(false);
  const auto now = Clock::now();
  CHECK(t.stamp(123456789, now) == 0);
  CHECK(t.stamp(123456789 + k_frame, now) == k_frame);
  CHECK(t.stamp(123456789 + 3 * k_frame, now) == 3 * k_frame);  // a lost frame keeps its gap
  CHECK_FALSE(t.frozen());
}

TEST_CASE("a first packet without a timestamp: the next one continues one interval later") {
  Timeline t(false);
  const auto now = Clock::now();
  CHECK(t.stamp(std::nullopt, now) == 0);
  const std::int64_t second = t.stamp(k_frame, now);
  CHECK(second == Timeline::k_ticks_per_second / 30);  // the default interval
  CHECK(t.stamp(2 * k_frame, now) == second + k_frame);
}

TEST_CASE("a new session continues one frame interval after the last, however long the gap") {
  Timeline t(false);
  const auto now = Clock::now();
  t.stamp(1000, now);
  t.stamp(1000 + k_frame, now);
  const std::int64_t last = t.stamp(1000 + 2 * k_frame, now);
  t.begin_session();
  // The reconnected camera restarts its clock somewhere else entirely.
  CHECK(t.stamp(42, now + 30s) == last + k_frame);
  CHECK(t.stamp(42 + k_frame, now + 30s) == last + 2 * k_frame);
}

TEST_CASE("a step back or a big jump in the source is absorbed, and output never goes back") {
  Timeline t(false);
  const auto now = Clock::now();
  std::int64_t a = t.stamp(900000, now);
  std::int64_t b = t.stamp(900000 + k_frame, now);
  std::int64_t c = t.stamp(100, now);                    // back
  std::int64_t d = t.stamp(100 + 3600 * 90000LL, now);   // an hour ahead
  std::int64_t e = t.stamp(100 + 3600 * 90000LL, now);   // the same again
  CHECK(a < b);
  CHECK(c == b + k_frame);
  CHECK(d == c + k_frame);
  CHECK(e == d + 1);
}

TEST_CASE("frozen source timestamps switch to arrival times, with a flag") {
  Timeline t(false);
  const auto t0 = Clock::now();
  std::int64_t last = 0;
  for (int i = 0; i < 4; ++i) last = t.stamp(5000, t0 + i * 100ms);
  CHECK(t.frozen());
  // From the switch (the 4th packet, at 300 ms) on, output advances with
  // arrival: 100 ms = 9000 ticks.
  CHECK(t.stamp(5000, t0 + 500ms) == last + 18000);
  CHECK(t.stamp(5000, t0 + 600ms) == last + 27000);
  t.begin_session();
  CHECK_FALSE(t.frozen());
}

TEST_CASE("wallclock mode stamps on arrival and ignores the source") {
  Timeline t(true);
  const auto t0 = Clock::now();
  CHECK(t.stamp(777, t0) == 0);
  CHECK(t.stamp(777, t0 + 40ms) == 3600);
  CHECK(t.stamp(999999, t0 + 1s) == 90000);
  CHECK(t.stamp(std::nullopt, t0 + 1s) == 90001);  // never equal, never back
}
