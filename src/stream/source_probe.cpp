#include "stream/source_probe.h"

#include <fmt/format.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>

#include "core/errors.h"
#include "stream/session.h"
#include "transport/socket.h"

namespace bambu {

namespace {

// How long the probe watches an accepted port 322 for the printer closing it
// at once, which current firmware does while "LAN Only Liveview" is off
// (../shared/docs/port6000-protocol.md). A LAN peer that closes on accept
// does so within a round trip; a live camera waits for our ClientHello.
constexpr auto k_close_watch = std::chrono::milliseconds(250);

enum class Watched { open, closed, stopped };

// Watches connected socket `fd` until `deadline` for an end-of-file or a
// reset the peer sent without being asked anything.
Watched watch_for_close(int fd, Deadline deadline, const StopFlag& stop) {
  switch (wait_fd(fd, POLLIN, deadline, stop)) {
    case WaitResult::stopped: return Watched::stopped;
    case WaitResult::timeout: return Watched::open;
    case WaitResult::ready: break;
  }
  char byte = 0;
  const ssize_t n = ::recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n > 0 || (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) ? Watched::open : Watched::closed;
}

// One camera port the probe tries, and what it found there.
struct Candidate {
  SourceChoice source;
  std::uint16_t port;
  ConnectResult result;
  bool closed_at_once = false;
};

// The error line when neither port of `host` led to a camera: what each
// port did (`rtsps` and `jpeg` are the two candidates, tried in that order).
std::string describe_probe_failure(const Candidate& rtsps, const Candidate& jpeg, const std::string& host,
                                   ProbePorts ports) {
  auto why = [](const Candidate& c) {
    if (c.closed_at_once) return std::string("accepted, then closed at once");
    return c.result.status == ConnectStatus::refused     ? std::string("refused")
           : c.result.status == ConnectStatus::timed_out ? std::string("no answer")
                                                         : c.result.detail;
  };
  if (rtsps.closed_at_once) {
    return fmt::format("port {} of {} closes connections at once and port {} {}: {}", ports.rtsps, host, ports.jpeg,
                       why(jpeg), k_rtsps_dial_advice.closed);
  }
  return fmt::format("neither camera port of {} answers ({} for X1/H2/P2S: {}; {} for P1/A1: {}): is the "
                     "printer on, the address right, and LAN liveview switched on on the printer?",
                     host, ports.rtsps, why(rtsps), ports.jpeg, why(jpeg));
}

}  // namespace

bool probe_source(StreamConfig& config, Clock::duration per_port, const StopFlag& stop, const Logger& log,
                  std::string& error, ProbePorts ports) {
  if (!config.serial.empty()) {
    log.debug("--source auto: serial prefix '{}' is not in the model table, so the camera port is probed",
              config.serial.substr(0, 3));
  }
  Candidate candidates[] = {{SourceChoice::rtsps, ports.rtsps, {}}, {SourceChoice::jpeg, ports.jpeg, {}}};
  for (Candidate& c : candidates) {
    const Deadline deadline = Clock::now() + per_port;
    c.result = tcp_connect(config.host, c.port, deadline, stop);
    if (c.result.status == ConnectStatus::stopped) {
      error.clear();
      return false;
    }
    if (c.result.status == ConnectStatus::resolve_failed) {
      error = describe_connect_failure(c.result, config.host, c.port, 0, k_jpeg_dial_advice).message;
      return false;
    }
    if (c.result.status != ConnectStatus::connected) continue;
    if (c.source == SourceChoice::rtsps) {
      const Deadline watch_until = std::min(deadline, Clock::now() + k_close_watch);
      const Watched watched = watch_for_close(c.result.fd.get(), watch_until, stop);
      if (watched == Watched::stopped) {
        error.clear();
        return false;
      }
      if (watched == Watched::closed) {
        c.closed_at_once = true;
        log.debug("--source auto: {} closed the connection at once (LAN liveview off?); trying {}",
                  format_endpoint(config.host, c.port), ports.jpeg);
        continue;
      }
    }
    c.result.fd.reset();  // a bare TCP connect: no TLS, no session, no camera slot
    log.debug("--source auto: {} accepts connections, so the camera is {} ({})", format_endpoint(config.host, c.port),
              to_string(c.source), c.source == SourceChoice::rtsps ? "X1, H2 or P2S" : "P1 or A1");
    config.port = c.port;
    settle_source(config, c.source);
    return true;
  }
  error = describe_probe_failure(candidates[0], candidates[1], config.host, ports);
  return false;
}

}  // namespace bambu
