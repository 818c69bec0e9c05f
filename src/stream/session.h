// What both camera sources share: how a session ends, dialling the printer
// over TLS, and the reconnect policy around sessions.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "cli/config.h"
#include "core/errors.h"
#include "core/log.h"
#include "core/stop_flag.h"
#include "heartbeat/stream_status.h"
#include "transport/tls.h"

namespace bambu {

/// How one session (one TCP + TLS connection) ended.
struct SessionOutcome {
  enum class Kind {
    stopped,           ///< the StopFlag was raised
    unreachable,       ///< TCP refused, timed out, unreachable, unresolvable
    handshake_failed,  ///< TLS handshake timed out, was closed or failed
    verify_failed,     ///< the certificate failed the TlsPolicy
    rejected,          ///< the access code was refused
    no_first_frame,    ///< connected, but no frame (keyframe) before the deadline
    stalled,           ///< frames stopped for --stall-timeout
    lost,              ///< the connection closed or failed while streaming
    protocol_error,    ///< the printer sent something we cannot use
  };
  Kind kind = Kind::stopped;
  std::string message;     ///< one line, cause first; never the access code
  bool got_frame = false;  ///< at least one whole frame was delivered
  Clock::duration streamed_for{};  ///< from the first to the last frame
};

/// Builds a failed SessionOutcome.
inline SessionOutcome session_failed(SessionOutcome::Kind kind, std::string message) {
  SessionOutcome out;
  out.kind = kind;
  out.message = std::move(message);
  return out;
}

/// "host:port", with IPv6 literals in brackets.
std::string format_endpoint(const std::string& host, std::uint16_t port);

/// The result of dial_printer(): a verified TLS connection, or why not.
struct Dialled {
  std::unique_ptr<TlsStream> tls;  ///< set on success
  SessionOutcome failure;          ///< set when `tls` is null
};

/// Connects to config.host:config.port, runs the TLS handshake and checks
/// the certificate against config.tls, all within `deadline`. Refused
/// connections are reported with `refused_hint` (what the user should check,
/// e.g. whether LAN liveview is on). Logs the printer's certificate
/// fingerprint at -v once per `fingerprint_logged` flag. Never sends any
/// application data, so a failed check leaks nothing (no access code).
Dialled dial_printer(const StreamConfig& config, const TlsContext& tls, Deadline deadline, const StopFlag& stop,
                     const Logger& log, std::string_view refused_hint, bool& fingerprint_logged);

/// Runs sessions with the reconnect policy both sources share, until stop
/// is requested (returns ExitCode::ok) or a fatal condition.
///
/// Before the first frame nothing is retried (go2rtc restarts us with its
/// own backoff, and the error must come fast): access code rejected (3),
/// anything else (4). Once frames have flowed, a lost or stalled session is
/// redialled after 1 s, doubling to 15 s (config.backoff_*), until the
/// stream is regained or --retry-for runs out (5). The stream counts as
/// regained only after 10 s of frames in a new session, so a printer that
/// drops after every frame still ends in exit 5. A certificate mismatch is
/// fatal at any time (6). Sets the status to connecting, reconnecting,
/// stopped or failed (with the reason as last_error); `error` gets the
/// one-line reason of a non-zero result.
///
/// `run_session(deadline)` runs one session: everything up to its first
/// frame must happen before `deadline`.
ExitCode run_with_reconnects(const StreamConfig& config, StreamStatus& status, const Logger& log,
                             const StopFlag& stop, const std::function<SessionOutcome(Deadline)>& run_session,
                             std::string& error);

}  // namespace bambu
