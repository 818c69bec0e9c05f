// LoopbackPort: a TCP port on 127.0.0.1 reserved by the test, for tests that
// need a connection to be refused or to hang after the TCP handshake.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <system_error>
#include <thread>

namespace bambu::test {

/// A TCP socket bound to 127.0.0.1 on an ephemeral port, held for the
/// lifetime of the object (the socket is closed by the destructor).
///
/// listen = false: bound but not listening, so connects to the port are
/// refused (ECONNREFUSED) for as long as it lives, and no other process can
/// take the port (SO_REUSEADDR/SO_REUSEPORT are not set).
///
/// listen = true: listening with a backlog of kBacklog but never accepting:
/// the kernel completes TCP handshakes, and nobody ever reads or answers (a
/// TLS ClientHello stays unanswered). Once more than kBacklog connections
/// are pending, further connects hang in SYN retries instead.
///
/// The descriptor is O_CLOEXEC, so child processes do not inherit it.
/// Not copyable or movable.
class LoopbackPort {
 public:
  /// Connections the kernel completes and queues without anyone accepting.
  static constexpr int kBacklog = 64;

  /// Creates, binds (and if `listen`, listens on) the socket. Throws
  /// std::system_error if socket, bind, listen or getsockname fails.
  explicit LoopbackPort(bool listen) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) fail("socket");
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;  // ephemeral, chosen by the kernel
    if (::bind(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) fail("bind");
    if (listen && ::listen(fd_, kBacklog) != 0) fail("listen");
    socklen_t len = sizeof addr;
    if (::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) fail("getsockname");
    port_ = ntohs(addr.sin_port);
  }
  /// Closes the socket, releasing the port (pending connections get a reset).
  ~LoopbackPort() {
    if (fd_ >= 0) ::close(fd_);
  }
  LoopbackPort(const LoopbackPort&) = delete;
  LoopbackPort& operator=(const LoopbackPort&) = delete;

  /// The port number (host byte order), never 0.
  std::uint16_t port() const { return port_; }
  /// The socket (owned here), for a test server that accepts on it.
  int fd() const { return fd_; }
  /// True while a connection waits to be accepted (listen = true): the
  /// kernel has completed its TCP handshake, so the client's connect()
  /// returned. Takes nothing from the queue.
  bool has_pending_connection() const {
    pollfd p{fd_, POLLIN, 0};
    return ::poll(&p, 1, 0) == 1 && (p.revents & POLLIN) != 0;
  }

 private:
  /// Closes the socket and throws std::system_error for errno.
  [[noreturn]] void fail(const char* what) {
    const int err = errno;
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    throw std::system_error(err, std::generic_category(), what);
  }

  int fd_ = -1;
  std::uint16_t port_ = 0;
};

/// A free TCP port on 127.0.0.1, for a server that must be told its port
/// (go2rtc, mosquitto: neither takes port 0): a LoopbackPort's, released
/// on return. Another process may take it in between, so the caller retries
/// with a new one when its server cannot listen. Throws std::system_error.
inline int free_port() { return LoopbackPort(false).port(); }

/// A port on 127.0.0.1 that accepts every TCP connection and closes it at
/// once, before any byte is read or written: what port 322 of a printer
/// with "LAN Only Liveview" off does (../shared/docs/port6000-protocol.md).
/// A client's ClientHello that arrived first makes the close a reset.
/// One thread accepts until the destructor stops and joins it; connections()
/// counts those accepted so far (counted before each close), so a test can
/// check that a client did not redial.
class ClosingPort {
 public:
  /// Listens and starts the accepting thread. Throws std::system_error.
  ClosingPort() : listener_(true), stop_fd_(::eventfd(0, EFD_CLOEXEC)) {
    if (stop_fd_ < 0) throw std::system_error(errno, std::generic_category(), "eventfd");
    thread_ = std::thread([this] { accept_loop(); });
  }
  /// Stops and joins the thread, then closes the port.
  ~ClosingPort() {
    const std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(stop_fd_, &one, sizeof one);
    thread_.join();
    ::close(stop_fd_);
  }
  ClosingPort(const ClosingPort&) = delete;
  ClosingPort& operator=(const ClosingPort&) = delete;

  /// The port number (host byte order), never 0.
  std::uint16_t port() const { return listener_.port(); }
  /// TCP connections accepted (and closed) so far.
  int connections() const { return connections_.load(); }

 private:
  void accept_loop() {
    for (;;) {
      pollfd fds[2] = {{listener_.fd(), POLLIN, 0}, {stop_fd_, POLLIN, 0}};
      if (::poll(fds, 2, -1) < 0 && errno != EINTR) return;
      if (fds[1].revents != 0) return;
      if ((fds[0].revents & POLLIN) == 0) continue;
      const int client = ::accept4(listener_.fd(), nullptr, nullptr, SOCK_CLOEXEC);
      if (client < 0) continue;
      connections_.fetch_add(1);
      ::close(client);
    }
  }

  LoopbackPort listener_;
  int stop_fd_ = -1;
  std::atomic<int> connections_{0};
  std::thread thread_;  // last: started once the rest exists
};

}  // namespace bambu::test
