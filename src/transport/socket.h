// TCP sockets with deadlines: connect, listen, and wait for readiness, all
// interruptible by a StopFlag. Expected network conditions are returned as
// values; only programming or resource errors throw.
#pragma once

#include <cstdint>
#include <string>

#include "core/stop_flag.h"

namespace bambu {

/// Owns one file descriptor; closes it on destruction. Move-only.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() { reset(); }
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) reset(other.release());
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;

  /// The descriptor, or -1; ownership stays here.
  int get() const { return fd_; }
  /// True if a descriptor is held.
  explicit operator bool() const { return fd_ >= 0; }
  /// Gives up ownership and returns the descriptor.
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }
  /// Closes the current descriptor (if any) and takes `fd`.
  void reset(int fd = -1);

 private:
  int fd_ = -1;
};

/// The outcome of waiting for a descriptor.
enum class WaitResult { ready, timeout, stopped };

/// Waits until `fd` has any of `events` (POLLIN, POLLOUT), `deadline`
/// passes, or `stop` is requested (checked first). Errors and hang-ups on the
/// fd count as ready, so that the following read or write reports them.
/// Throws std::system_error if poll(2) itself fails (not EINTR).
WaitResult wait_fd(int fd, short events, Deadline deadline, const StopFlag& stop);

/// How a TCP connect ended.
enum class ConnectStatus {
  connected,
  refused,         ///< ECONNREFUSED: nothing listens on the port
  timed_out,       ///< no answer before the deadline
  unreachable,     ///< no route to the host or network
  resolve_failed,  ///< the host name could not be resolved
  stopped,         ///< stop requested while connecting
  failed,          ///< any other error; see `detail`
};

/// The result of tcp_connect(): a connected, non-blocking, close-on-exec
/// socket when status == connected; otherwise `detail` says why.
struct ConnectResult {
  ConnectStatus status = ConnectStatus::failed;
  UniqueFd fd;
  std::string detail;  ///< e.g. "Connection refused", gai_strerror() text
};

/// Resolves `host` (IPv4/IPv6 literal or name) and connects to `port`, trying
/// each address in turn until one connects or `deadline` passes. The socket
/// gets TCP_NODELAY. Name lookups also honour `deadline` and `stop` (they
/// run on a helper thread that is left to finish on its own if abandoned).
ConnectResult tcp_connect(const std::string& host, std::uint16_t port, Deadline deadline,
                          const StopFlag& stop);

/// Creates a listening, non-blocking TCP socket bound to `host`:`port`
/// (port 0: the kernel picks one; see local_port()). Throws
/// std::system_error (with the address in the message) if it cannot bind.
UniqueFd tcp_listen(const std::string& host, std::uint16_t port, int backlog = 16);

/// The local port `fd` is bound to. Throws std::system_error on failure.
std::uint16_t local_port(int fd);

/// Accepts one connection from listening socket `fd` as a non-blocking,
/// close-on-exec socket with TCP_NODELAY. Returns an empty UniqueFd if no
/// connection is waiting (EAGAIN) or it failed transiently.
UniqueFd tcp_accept(int fd);

}  // namespace bambu
