// Throttle (core/throttle.h): which events go through, and the counts
// they report, on synthetic times.
#include <catch2/catch.hpp>

#include <chrono>
#include <vector>

#include "core/throttle.h"

using namespace std::chrono_literals;
using bambu::Clock;
using bambu::Throttle;

TEST_CASE("Throttle: the first event goes through, then one per interval with the count held back") {
  Throttle throttle(10s);
  const Clock::time_point t0{100s};
  CHECK(throttle.pass(t0) == 1);
  CHECK(throttle.pass(t0 + 1s) == 0);
  CHECK(throttle.pass(t0 + 9999ms) == 0);
  // 10 s after the last that went through: this one and the two held back.
  CHECK(throttle.pass(t0 + 10s) == 3);
  CHECK(throttle.pass(t0 + 15s) == 0);
  CHECK(throttle.pass(t0 + 19999ms) == 0);
  CHECK(throttle.pass(t0 + 30s) == 3);
  // A lone event long after goes through alone.
  CHECK(throttle.pass(t0 + 1h) == 1);
}

TEST_CASE("Throttle: at Clock's epoch the first event still goes through") {
  Throttle throttle(1min);
  CHECK(throttle.pass(Clock::time_point{}) == 1);
  CHECK(throttle.pass(Clock::time_point{} + 59s) == 0);
  CHECK(throttle.pass(Clock::time_point{} + 60s) == 2);
}

TEST_CASE("Throttle: over a steady stream of events, one passes per interval and none is uncounted") {
  Throttle throttle(10s);
  const Clock::time_point t0{};
  std::uint64_t counted = 0;
  std::vector<Clock::time_point> passed;
  for (int i = 0; i < 1000; ++i) {  // one event every 100 ms for 100 s
    const auto now = t0 + i * 100ms;
    if (const auto n = throttle.pass(now)) {
      counted += n;
      passed.push_back(now);
    }
  }
  CHECK(passed.size() == 10);
  for (std::size_t i = 1; i < passed.size(); ++i) CHECK(passed[i] - passed[i - 1] == 10s);
  // The events after the last one that passed are still held back.
  CHECK(counted == 901);
}
