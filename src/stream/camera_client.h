// CameraClient: one port-6000 camera stream with stall watchdog and reconnects.
#pragma once

#include <string>

#include "cli/config.h"
#include "core/errors.h"
#include "core/log.h"
#include "core/stop_flag.h"
#include "heartbeat/stream_status.h"
#include "output/frame_sink.h"
#include "protocol/frame_parser.h"
#include "transport/tls.h"

namespace bambu {

/// How one session (one TCP + TLS connection) ended.
struct SessionOutcome {
  enum class Kind {
    stopped,           ///< the StopFlag was raised
    unreachable,       ///< TCP refused, timed out, unreachable, unresolvable
    handshake_failed,  ///< TLS handshake timed out, was closed or failed
    verify_failed,     ///< the certificate failed the TlsPolicy
    rejected,          ///< closed right after the login without a byte: wrong access code
    no_first_frame,    ///< logged in, but no frame before the deadline
    stalled,           ///< frames stopped for --stall-timeout
    lost,              ///< the connection closed or failed while streaming
    protocol_error,    ///< a size field over k_max_frame_size
  };
  Kind kind = Kind::stopped;
  std::string message;     ///< one line, cause first; never the access code
  bool got_frame = false;  ///< at least one whole JPEG was delivered
  Clock::duration streamed_for{};  ///< from the first to the last whole JPEG
};

/// Streams one printer's port-6000 camera into a FrameSink until stopped.
///
/// Protocol: ../shared/docs/port6000-protocol.md. One session at a time: a
/// session is closed (close_notify, socket closed) before the next is dialled,
/// so we never hold two of the printer's few camera slots. Before the first
/// frame nothing is retried (go2rtc restarts us with its own backoff, and
/// the error must come fast); once frames have flowed, a lost or stalled
/// session is redialled with exponential backoff for up to --retry-for. The
/// stream counts as regained only after 10 s of frames in a new session, so
/// a printer that drops after every frame still ends in exit 5.
class CameraClient {
 public:
  /// All references must outlive the client. `config.port` must be set.
  CameraClient(const StreamConfig& config, const TlsContext& tls, FrameSink& sink, StreamStatus& status,
               const Logger& log, const StopFlag& stop);

  /// Runs until stop is requested (returns ExitCode::ok) or a fatal
  /// condition: access code rejected (3), unreachable or no first frame in
  /// --start-timeout (4), stream not regained within --retry-for (5),
  /// certificate rejected (6). Sets the status to stopped or failed, with
  /// the reason as last_error, before returning. `error` gets the one-line
  /// reason of a non-zero result.
  ExitCode run(std::string& error);

  /// Runs one session: connect, handshake, verify, log in, then read frames
  /// until something ends it. `first_frame_deadline` bounds everything up to
  /// the first frame; after it, each frame must follow within --stall-timeout.
  SessionOutcome run_session(Deadline first_frame_deadline);

 private:
  // Posts `payload` if it is a whole JPEG and returns true; otherwise counts
  // it as skipped (with a rate-limited warning) and returns false.
  bool deliver(std::vector<std::uint8_t> payload);

  const StreamConfig& config_;
  const TlsContext& tls_;
  FrameSink& sink_;
  StreamStatus& status_;
  const Logger& log_;
  const StopFlag& stop_;
  std::string endpoint_;  // "host:port", for messages
  FrameParser parser_;
  bool fingerprint_logged_ = false;
  Clock::time_point last_skip_warning_{};
  std::uint64_t skipped_since_warning_ = 0;
};

/// "host:port", with IPv6 literals in brackets.
std::string format_endpoint(const std::string& host, std::uint16_t port);

}  // namespace bambu
