// TlsRelay: lets libavformat speak plain RTSP to 127.0.0.1 while our own
// OpenSSL code holds the TLS connection to the printer.
//
// Why: Debian's FFmpeg does TLS with GnuTLS, which drops P2S streams when
// the printer renegotiates and cannot apply --tls-fingerprint or --ca-file
// (../shared/docs/rtsps.md). So we dial and verify the printer ourselves and
// relay bytes between it and one local connection from libavformat.
#pragma once

#include <array>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "core/log.h"
#include "core/stop_flag.h"
#include "transport/socket.h"
#include "transport/tls.h"

namespace bambu {

/// Relays one plain TCP connection, accepted on 127.0.0.1 (an ephemeral
/// port), to and from an established, verified TLS connection to the
/// printer, on its own thread.
///
/// The first connection accepted is relayed; the listening socket is closed
/// at once, so nothing else can connect. When libavformat closes its side,
/// the relay sends close_notify to the printer and closes, freeing the
/// camera slot at once. When the printer side ends, the local side is closed,
/// so libavformat sees end of stream, and printer_error() says why.
/// Data is passed through as it comes: nothing is buffered beyond one TLS
/// record (16 KiB) per direction.
class TlsRelay {
 public:
  /// Listens on 127.0.0.1:0 and starts the relay thread, which owns
  /// `printer` from now on. `endpoint` ("host:port") is for messages.
  /// Throws std::system_error if it cannot listen or start the thread.
  TlsRelay(std::unique_ptr<TlsStream> printer, std::string endpoint, const Logger& log);
  /// finish() with a 200 ms grace period.
  ~TlsRelay();
  TlsRelay(const TlsRelay&) = delete;
  TlsRelay& operator=(const TlsRelay&) = delete;

  /// The local port libavformat should connect to.
  std::uint16_t port() const { return port_; }

  /// Why the printer side ended ("connection to HOST:PORT lost: ..."), or
  /// nullopt while it is up or if the local side ended first.
  std::optional<std::string> printer_error() const;

  /// Waits up to `grace` for the relay to end by itself (the local side
  /// closed, e.g. after libavformat's TEARDOWN), then stops it: the printer
  /// connection is closed with close_notify (200 ms at most). Joins the
  /// thread. Idempotent.
  void finish(std::chrono::milliseconds grace);

 private:
  // Four TLS records' worth of application data: what the client reads
  // ahead (transport/tls.cpp) can go to libavformat in one send.
  using Buffer = std::array<std::uint8_t, 64 * 1024>;
  // What pass_to_printer() saw while the printer had nothing read ahead.
  enum class Wait { ended, printer_idle, printer_readable };

  void run();
  // Waits up to 1 s for either side, and passes what libavformat sent to
  // the printer. Wait::ended: either side ended, or a stop.
  Wait pass_to_printer(Buffer& buffer);
  // Reads the printer's records (all already whole) and passes them to
  // libavformat in one send; false when the relay must end.
  bool pass_to_local(Buffer& buffer);
  // Ends the relay because the printer side ended, with `why`.
  void printer_ended(std::string why);

  std::unique_ptr<TlsStream> printer_;
  const std::string endpoint_;
  const Logger& log_;
  UniqueFd listener_;
  UniqueFd local_;
  std::uint16_t port_ = 0;
  StopFlag stop_;

  mutable std::mutex mutex_;
  std::condition_variable ended_cv_;
  bool ended_ = false;
  std::optional<std::string> printer_error_;
  std::thread thread_;  // last: starts once the rest exists
};

}  // namespace bambu
