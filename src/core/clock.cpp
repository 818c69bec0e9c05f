#include "core/clock.h"

namespace bambu {

int poll_timeout_ms(Deadline deadline, int cap_ms) {
  auto now = Clock::now();
  if (deadline <= now) return 0;
  auto ms = std::chrono::ceil<std::chrono::milliseconds>(deadline - now).count();
  return ms > cap_ms ? cap_ms : static_cast<int>(ms);
}

}  // namespace bambu
