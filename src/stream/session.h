// What both camera sources share: how a session ends, dialling the printer
// over TLS, and the reconnect policy around sessions.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "config/stream_config.h"
#include "core/errors.h"
#include "core/log.h"
#include "core/stop_flag.h"
#include "pipeline/stream_status.h"
#include "transport/endpoint.h"
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
    not_camera,        ///< the port answers, but is not this printer's camera (fatal: exit 4, never redialled)
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

/// What a failure to reach a camera port most likely means, in the words
/// the first stderr line gives after the cause: one hint per way the port
/// can turn us away. Each is a full clause such as "is LAN liveview on?".
struct DialAdvice {
  std::string_view refused;  ///< the TCP connection was refused (ECONNREFUSED)
  std::string_view closed;   ///< TCP was accepted, then closed before or during the TLS handshake
};

/// Advice for port 6000, the P1/A1 JPEG camera.
extern const DialAdvice k_jpeg_dial_advice;
/// Advice for port 322, the RTSPS camera: both a refusal and a close at once
/// are what current firmware does while "LAN Only Liveview" is off
/// (../shared/docs/port6000-protocol.md, from Doridian/OpenBambuAPI#68,
/// greghesp/ha-bambulab#1911 and greghesp/ha-bambulab#2140; rtsps.md).
extern const DialAdvice k_rtsps_dial_advice;

/// The one-line outcome of a TCP connect to `host`:`port` that did not
/// connect (`result.status` is not connected): stopped, or unreachable with
/// a message that tells apart a name that does not resolve, an address that
/// answers nothing within `budget_s` seconds (timed out), one that refuses
/// (with `advice.refused`), and no route. Pure: builds the text only.
SessionOutcome describe_connect_failure(const ConnectResult& result, const std::string& host, std::uint16_t port,
                                        double budget_s, const DialAdvice& advice);

/// The result of dial_printer(): a verified TLS connection, or why not.
struct Dialled {
  std::unique_ptr<TlsStream> tls;  ///< set on success
  SessionOutcome failure;          ///< set when `tls` is null
};

/// Connects to config.host:config.port, runs the TLS handshake and checks
/// the certificate against config.tls, all within `deadline`. A refused
/// connection, or one closed before the handshake completes, is reported
/// with the matching clause of `advice` (what the user should check, e.g.
/// whether LAN liveview is on). Logs the printer's certificate
/// fingerprint at -v once per `fingerprint_logged` flag. Never sends any
/// application data, so a failed check leaks nothing (no access code).
Dialled dial_printer(const StreamConfig& config, const TlsContext& tls, Deadline deadline, const StopFlag& stop,
                     const Logger& log, const DialAdvice& advice, bool& fingerprint_logged);

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
/// fatal at any time (6), and so is a port that is not a camera
/// (Kind::not_camera, 4). Sets the status to connecting, reconnecting,
/// stopped or failed (with the reason as last_error); `error` gets the
/// one-line reason of a non-zero result.
///
/// `run_session(deadline)` runs one session: everything up to its first
/// frame must happen before `deadline`.
ExitCode run_with_reconnects(const StreamConfig& config, StreamStatus& status, const Logger& log,
                             const StopFlag& stop, const std::function<SessionOutcome(Deadline)>& run_session,
                             std::string& error);

}  // namespace bambu
