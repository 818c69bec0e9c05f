#include "transport/tls_relay.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>

#include <array>
#include <cerrno>
#include <cstring>

namespace bambu {

namespace {

// How long to wait for the rest of a TLS record once its first bytes are in.
constexpr auto k_record_wait = std::chrono::milliseconds(50);
// Longest a write to either side may take before the relay gives up: the
// local reader is libavformat in this process, the printer reads at once.
constexpr auto k_write_timeout = std::chrono::seconds(10);
// Time given to close_notify.
constexpr auto k_close_grace = std::chrono::milliseconds(200);

// Sends all of `data` on non-blocking socket `fd`. Returns "" or the reason.
std::string send_all(int fd, const std::uint8_t* data, std::size_t size, const StopFlag& stop) {
  const Deadline deadline = Clock::now() + k_write_timeout;
  while (size > 0) {
    ssize_t n = ::send(fd, data, size, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN) return std::strerror(errno);
      WaitResult w = wait_fd(fd, POLLOUT, deadline, stop);
      if (w == WaitResult::stopped) return "stopped";
      if (w == WaitResult::timeout) return "libavformat stopped reading";
      continue;
    }
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return {};
}

}  // namespace

TlsRelay::TlsRelay(std::unique_ptr<TlsStream> printer, std::string endpoint, const Logger& log)
    : printer_(std::move(printer)), endpoint_(std::move(endpoint)), log_(log) {
  listener_ = tcp_listen("127.0.0.1", 0, 1);
  port_ = local_port(listener_.get());
  thread_ = std::thread([this] { run(); });
}

TlsRelay::~TlsRelay() { finish(std::chrono::milliseconds(200)); }

std::optional<std::string> TlsRelay::printer_error() const {
  std::lock_guard lock(mutex_);
  return printer_error_;
}

void TlsRelay::printer_ended(std::string why) {
  std::lock_guard lock(mutex_);
  printer_error_ = std::move(why);
}

void TlsRelay::finish(std::chrono::milliseconds grace) {
  if (!thread_.joinable()) return;
  {
    std::unique_lock lock(mutex_);
    ended_cv_.wait_for(lock, grace, [this] { return ended_; });
  }
  stop_.request_stop(StopReason::requested);
  thread_.join();
}

void TlsRelay::run() {
  // Accept libavformat's connection (it comes within milliseconds; a stop
  // ends the wait), then close the listener so nobody else can connect.
  while (!local_) {
    if (wait_fd(listener_.get(), POLLIN, Clock::now() + std::chrono::hours(1), stop_) == WaitResult::stopped) break;
    local_ = tcp_accept(listener_.get());
  }
  listener_.reset();

  Buffer buffer{};
  while (local_) {
    if (printer_->pending() == 0) {
      const Wait waited = pass_to_printer(buffer);
      if (waited == Wait::ended) break;
      if (waited == Wait::printer_idle) continue;
    }
    if (!pass_to_local(buffer)) break;
  }
  local_.reset();  // libavformat sees the end of the stream
  printer_->close(Clock::now() + k_close_grace);
  std::lock_guard lock(mutex_);
  ended_ = true;
  ended_cv_.notify_all();
}

TlsRelay::Wait TlsRelay::pass_to_printer(Buffer& buffer) {
  pollfd fds[] = {{local_.get(), POLLIN, 0}, {printer_->fd(), POLLIN, 0}, {stop_.fd(), POLLIN, 0}};
  if (::poll(fds, 3, 1000) < 0 && errno != EINTR) {
    log_.warning("relay: poll failed: {}", std::strerror(errno));
    return Wait::ended;
  }
  if (stop_.stop_requested()) return Wait::ended;
  if (fds[0].revents != 0) {
    ssize_t n = ::recv(local_.get(), buffer.data(), buffer.size(), 0);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) return Wait::ended;  // libavformat closed its side
    if (n > 0) {
      TlsResult w = printer_->write_all({buffer.data(), static_cast<std::size_t>(n)},
                                        Clock::now() + k_write_timeout, stop_);
      if (w.status == TlsStatus::stopped) return Wait::ended;
      if (w.status != TlsStatus::ok) {
        printer_ended(fmt::format("connection to {} lost: {}", endpoint_, w.detail));
        return Wait::ended;
      }
    }
  }
  return fds[1].revents == 0 ? Wait::printer_idle : Wait::printer_readable;
}

bool TlsRelay::pass_to_local(Buffer& buffer) {
  TlsResult r = printer_->read_some(buffer, Clock::now() + k_record_wait, stop_);
  if (r.status == TlsStatus::timed_out) return true;  // the rest of the record is on its way
  if (r.status == TlsStatus::stopped) return false;
  if (r.status != TlsStatus::ok) {
    printer_ended(r.status == TlsStatus::closed ? fmt::format("{} closed the connection", endpoint_)
                                                : fmt::format("connection to {} lost: {}", endpoint_, r.detail));
    printer_->abort();
    return false;
  }
  // Take every whole record already read ahead before passing them on:
  // one send, and one wake-up of libavformat, instead of one per record
  // (gst-rtsp-server and LIVE555 send each RTP packet in its own record).
  // A record not yet whole times out at once and is left for later.
  std::size_t filled = r.bytes;
  while (filled < buffer.size() && printer_->pending() > 0) {
    TlsResult more = printer_->read_some(std::span(buffer).subspan(filled), Clock::now(), stop_);
    if (more.status != TlsStatus::ok) break;  // a failure shows again on the next read
    filled += more.bytes;
  }
  if (auto why = send_all(local_.get(), buffer.data(), filled, stop_); !why.empty()) {
    if (why != "stopped") log_.debug("relay: cannot pass data to libavformat: {}", why);
    return false;
  }
  return true;
}

}  // namespace bambu
