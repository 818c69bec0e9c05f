#include "core/stop_flag.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace bambu {

std::string_view to_string(StopReason reason) {
  switch (reason) {
    case StopReason::none: return "not stopped";
    case StopReason::signal: return "SIGTERM, SIGINT or SIGHUP received";
    case StopReason::consumer_gone: return "the reader closed stdout";
    case StopReason::frames_done: return "--frames reached";
    case StopReason::output_failed: return "writing stdout failed";
    case StopReason::encoder_failed: return "the H.264 encoder failed";
    case StopReason::requested: return "stop requested";
  }
  return "unknown";
}

StopFlag::StopFlag() : fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "eventfd");
}

StopFlag::~StopFlag() { ::close(fd_); }

void StopFlag::request_stop(StopReason reason) noexcept {
  StopReason expected = StopReason::none;
  if (reason_.compare_exchange_strong(expected, reason)) {
    std::uint64_t one = 1;
    // Only fails if the counter would overflow, which one write cannot do.
    [[maybe_unused]] auto n = ::write(fd_, &one, sizeof one);
  }
}

bool StopFlag::stop_requested() const noexcept { return reason_.load() != StopReason::none; }

StopReason StopFlag::reason() const noexcept { return reason_.load(); }

bool StopFlag::wait_until(Deadline deadline) const {
  for (;;) {
    if (stop_requested()) return true;
    int timeout = poll_timeout_ms(deadline);
    if (timeout == 0) return stop_requested();
    pollfd p{fd_, POLLIN, 0};
    ::poll(&p, 1, timeout);  // EINTR or wake-up: loop and re-check
  }
}

}  // namespace bambu
