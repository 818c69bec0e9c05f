#include "transport/socket.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <memory>
#include <mutex>
#include <system_error>
#include <thread>

namespace bambu {

void UniqueFd::reset(int fd) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

WaitResult wait_fd(int fd, short events, Deadline deadline, const StopFlag& stop) {
  for (;;) {
    if (stop.stop_requested()) return WaitResult::stopped;
    pollfd fds[2] = {{fd, events, 0}, {stop.fd(), POLLIN, 0}};
    int n = ::poll(fds, 2, poll_timeout_ms(deadline));
    if (n < 0) {
      if (errno == EINTR) continue;
      throw std::system_error(errno, std::generic_category(), "poll");
    }
    if (fds[1].revents != 0 || stop.stop_requested()) return WaitResult::stopped;
    if (fds[0].revents != 0) return WaitResult::ready;
    if (Clock::now() >= deadline) return WaitResult::timeout;
  }
}

namespace {

void set_nodelay(int fd) {
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

ConnectStatus status_for_errno(int err) {
  switch (err) {
    case ECONNREFUSED: return ConnectStatus::refused;
    case ETIMEDOUT: return ConnectStatus::timed_out;
    case EHOSTUNREACH:
    case ENETUNREACH:
    case EHOSTDOWN:
    case ENETDOWN: return ConnectStatus::unreachable;
    default: return ConnectStatus::failed;
  }
}

struct AddrInfoDeleter {
  void operator()(addrinfo* ai) const { ::freeaddrinfo(ai); }
};

// A result with `status` and `detail` in words; the socket, if any, is added by the caller.
ConnectResult connect_result(ConnectStatus status, std::string detail) {
  ConnectResult result;
  result.status = status;
  result.detail = std::move(detail);
  return result;
}

// One non-blocking connect attempt to one address.
ConnectResult connect_one(const addrinfo& ai, Deadline deadline, const StopFlag& stop) {
  UniqueFd fd(::socket(ai.ai_family, ai.ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai.ai_protocol));
  if (!fd) return connect_result(ConnectStatus::failed, std::strerror(errno));
  if (::connect(fd.get(), ai.ai_addr, ai.ai_addrlen) != 0 && errno != EINPROGRESS) {
    return connect_result(status_for_errno(errno), std::strerror(errno));
  }
  switch (wait_fd(fd.get(), POLLOUT, deadline, stop)) {
    case WaitResult::stopped: return connect_result(ConnectStatus::stopped, "stopped");
    case WaitResult::timeout: return connect_result(ConnectStatus::timed_out, "no answer");
    case WaitResult::ready: break;
  }
  int err = 0;
  socklen_t len = sizeof err;
  ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
  if (err != 0) return connect_result(status_for_errno(err), std::strerror(err));
  set_nodelay(fd.get());
  ConnectResult result = connect_result(ConnectStatus::connected, {});
  result.fd = std::move(fd);
  return result;
}

using AddrInfoList = std::unique_ptr<addrinfo, AddrInfoDeleter>;

// What a resolver thread hands back. Shared with the thread so that a caller
// that gives up (deadline or stop) can leave; the thread then frees it.
struct Resolution {
  std::mutex mutex;
  std::condition_variable done_cv;
  bool done = false;
  int rc = 0;
  int saved_errno = 0;
  AddrInfoList list;
};

// How often a wait for the resolver re-checks the StopFlag.
constexpr auto k_resolve_poll = std::chrono::milliseconds(50);

// Resolves `host`. An IP literal (the usual case for a printer) resolves at
// once; a name goes to getaddrinfo(3) on a detached thread, because glibc
// offers no way to bound or cancel it and a dead DNS server can block it for
// many seconds: the wait honours `deadline` and `stop` instead.
ConnectResult resolve(const std::string& host, std::uint16_t port, Deadline deadline, const StopFlag& stop,
                      AddrInfoList& out) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
  std::string service = std::to_string(port);
  addrinfo* raw = nullptr;
  if (::getaddrinfo(host.c_str(), service.c_str(), &hints, &raw) == 0) {
    out.reset(raw);
    return connect_result(ConnectStatus::connected, {});  // resolved; the caller connects
  }
  hints.ai_flags = AI_ADDRCONFIG | AI_NUMERICSERV;
  auto shared = std::make_shared<Resolution>();
  std::thread([shared, host, service, hints] {
    addrinfo* list = nullptr;
    int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &list);
    std::lock_guard lock(shared->mutex);
    shared->rc = rc;
    shared->saved_errno = errno;
    shared->list.reset(list);
    shared->done = true;
    shared->done_cv.notify_all();
  }).detach();
  std::unique_lock lock(shared->mutex);
  while (!shared->done) {
    if (stop.stop_requested()) return connect_result(ConnectStatus::stopped, "stopped");
    if (Clock::now() >= deadline) return connect_result(ConnectStatus::resolve_failed, "name lookup timed out");
    shared->done_cv.wait_until(lock, std::min<Deadline>(deadline, Clock::now() + k_resolve_poll));
  }
  if (shared->rc != 0) {
    return connect_result(ConnectStatus::resolve_failed,
                         shared->rc == EAI_SYSTEM ? std::strerror(shared->saved_errno) : ::gai_strerror(shared->rc));
  }
  out = std::move(shared->list);
  return connect_result(ConnectStatus::connected, {});
}

}  // namespace

ConnectResult tcp_connect(const std::string& host, std::uint16_t port, Deadline deadline,
                          const StopFlag& stop) {
  if (stop.stop_requested()) return connect_result(ConnectStatus::stopped, "stopped");
  AddrInfoList list;
  ConnectResult resolved = resolve(host, port, deadline, stop, list);
  if (resolved.status != ConnectStatus::connected) return resolved;
  ConnectResult last;
  for (const addrinfo* ai = list.get(); ai != nullptr; ai = ai->ai_next) {
    last = connect_one(*ai, deadline, stop);
    if (last.status == ConnectStatus::connected || last.status == ConnectStatus::stopped ||
        last.status == ConnectStatus::timed_out) {
      return last;
    }
  }
  return last;
}

UniqueFd tcp_listen(const std::string& host, std::uint16_t port, int backlog) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* raw = nullptr;
  std::string service = std::to_string(port);
  int rc = ::getaddrinfo(host.empty() ? nullptr : host.c_str(), service.c_str(), &hints, &raw);
  if (rc != 0) {
    throw std::system_error(EINVAL, std::generic_category(),
                            "cannot resolve listen address " + host + ": " + ::gai_strerror(rc));
  }
  AddrInfoList list(raw);
  int err = 0;
  for (const addrinfo* ai = list.get(); ai != nullptr; ai = ai->ai_next) {
    UniqueFd fd(::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol));
    if (!fd) {
      err = errno;
      continue;
    }
    int one = 1;
    ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(fd.get(), ai->ai_addr, ai->ai_addrlen) == 0 && ::listen(fd.get(), backlog) == 0) {
      return fd;
    }
    err = errno;
  }
  throw std::system_error(err, std::generic_category(),
                          "cannot listen on " + host + ":" + std::to_string(port));
}

std::uint16_t local_port(int fd) {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    throw std::system_error(errno, std::generic_category(), "getsockname");
  }
  if (addr.ss_family == AF_INET6) return ntohs(reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port);
  return ntohs(reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
}

UniqueFd tcp_accept(int fd) {
  UniqueFd client(::accept4(fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
  if (client) set_nodelay(client.get());
  return client;
}

}  // namespace bambu
