// The printer simulator: a fake P1/A1 camera speaking the port-6000 protocol
// over real TLS, for users without a printer at hand and as the peer of our
// own tests (no public capture of real printer bytes exists;
// ../shared/docs/port6000-protocol.md).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "simulator/simulate_config.h"
#include "core/log.h"
#include "core/stop_flag.h"

namespace bambu {

/// A fake camera. Behaves as the protocol notes describe the printer:
/// - TLS 1.2 only, a self-signed certificate made at start (CN = serial),
///   or the one in SimulateConfig::cert_file (tests of --ca-file);
/// - reads the 80-byte login; a wrong user or access code: closes the
///   connection without sending a byte;
/// - then sends one frame (16-byte header + 1280x720 JPEG) every 1/fps s
///   (moved at random by up to --jitter ms): the test pattern, or the JPEGs
///   of --frames-dir in name order, looping;
/// - serves at most max_sessions at once: a further client's TCP connect
///   completes but its ClientHello gets no answer until a slot frees.
/// Logs "session N opened: streaming at F fps, K open" (K: logged-in
/// sessions now, this one included) and "session N closed: why" on stderr,
/// one connection per N; tests read these lines.
/// Faults (SimulateConfig::fault) hit the first session only, so a client's
/// recovery can be tested against the sessions that follow; except `tunnel`
/// and `slots-full`, which are what the port is, and hit every session
/// ("session N closed: fault tunnel: ..." and "session N logged in: fault
/// slots-full: ..." lines, one per connection, which tests count).
class Simulator {
 public:
  /// Makes the certificate and binds the listening socket (so port() is
  /// known before run()). Writes SimulateConfig::cert_out if set. Throws
  /// std::system_error if the address cannot be bound, std::runtime_error
  /// if the certificate, JPEG encoder or record file cannot be made or
  /// --frames-dir holds no usable JPEGs.
  Simulator(const SimulateConfig& config, const Logger& log);
  ~Simulator();
  Simulator(const Simulator&) = delete;
  Simulator& operator=(const Simulator&) = delete;

  /// The port actually listened on (the ephemeral one for port 0).
  std::uint16_t port() const;
  /// SHA-256 of the certificate as 64 hex digits (what --tls-fingerprint takes).
  std::string fingerprint() const;

  /// Accepts and serves clients until `stop` is requested or `frames` have
  /// been sent in all; then closes every session and returns. Blocking.
  void run(const StopFlag& stop);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace bambu
