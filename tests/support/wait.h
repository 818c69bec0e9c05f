// Waiting for a condition in a test: poll it until a deadline, never sleep a
// fixed time and assume that something happened meanwhile.
#pragma once

#include <chrono>
#include <thread>

namespace bambu::test {

/// Asks `condition` (a callable returning bool) every `poll` until it
/// returns true or `limit` has passed; returns whether it held. It is asked
/// once more at the deadline, so a condition that holds by then counts,
/// however late the last poll woke. Every caller states its limit: a
/// generous one, since a loaded machine, a sanitizer or qemu slows the code
/// under test; a wait that holds returns as soon as it does.
template <typename Condition>
bool wait_until(Condition&& condition, std::chrono::milliseconds limit,
                std::chrono::milliseconds poll = std::chrono::milliseconds(2)) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= end) return condition();
    std::this_thread::sleep_for(poll);
  }
  return true;
}

}  // namespace bambu::test
