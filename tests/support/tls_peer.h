// A scripted TLS peer on 127.0.0.1 port 0, for tests that need exact control
// of what "the printer" sends (record sizes, timing, faults).
#pragma once

#include <functional>
#include <string>
#include <thread>

#include "core/stop_flag.h"
#include "simulator/certificate.h"
#include "transport/socket.h"
#include "transport/tls.h"

namespace bambu::test {

/// Accepts TLS connections (server role) one after another, up to
/// `connections`, and runs `script` on each in a background thread. The
/// script must not use Catch2 assertions (they are not thread-safe); it
/// records what it saw in variables the test reads after join(). `cn` is the
/// certificate's CN; `expired` makes it expired.
class TlsPeer {
 public:
  using Script = std::function<void(TlsStream&, const StopFlag&)>;

  explicit TlsPeer(Script script, std::string cn = "01P00A000000001", bool expired = false, int connections = 1)
      : connections_(connections),
        certificate_(make_certificate(cn, expired)),
        context_(TlsContext::server(certificate_.cert.get(), certificate_.key.get())),
        listener_(tcp_listen("127.0.0.1", 0)),
        port_(local_port(listener_.get())),
        thread_([this, script = std::move(script)] { serve(script); }) {}

  ~TlsPeer() { join(); }

  std::uint16_t port() const { return port_; }
  X509* cert() const { return certificate_.cert.get(); }
  Fingerprint fingerprint() const {
    Fingerprint fp{};
    unsigned int len = 0;
    X509_digest(certificate_.cert.get(), EVP_sha256(), fp.data(), &len);
    return fp;
  }
  /// Stops the script (its StopFlag is raised) and waits for the thread.
  void join() {
    stop_.request_stop(StopReason::requested);
    if (thread_.joinable()) thread_.join();
  }
  /// Waits for the script to end by itself.
  void wait() {
    if (thread_.joinable()) thread_.join();
  }

 private:
  static Certificate make_certificate(const std::string& cn, bool expired) {
    auto now = std::chrono::system_clock::now();
    if (expired) return make_self_signed_certificate(cn, now - std::chrono::hours(48), now - std::chrono::hours(24));
    return make_self_signed_certificate(cn, now - std::chrono::hours(1), now + std::chrono::hours(24));
  }

  void serve(const Script& script) {
    for (int i = 0; i < connections_; ++i) {
      if (wait_fd(listener_.get(), 0x001 /* POLLIN */, Clock::now() + std::chrono::seconds(10), stop_) !=
          WaitResult::ready) {
        return;
      }
      UniqueFd fd = tcp_accept(listener_.get());
      if (!fd) continue;
      TlsStream tls(context_, std::move(fd), TlsStream::Role::server);
      if (tls.handshake(Clock::now() + std::chrono::seconds(10), stop_).status != TlsStatus::ok) continue;
      script(tls, stop_);
    }
  }

  int connections_;
  Certificate certificate_;
  TlsContext context_;
  UniqueFd listener_;
  std::uint16_t port_;
  StopFlag stop_;
  std::thread thread_;  // last: starts once everything it uses exists
};

}  // namespace bambu::test
