// CameraClient: one port-6000 camera stream with stall watchdog and reconnects.
#pragma once

#include <optional>
#include <string>

#include "config/stream_config.h"
#include "core/errors.h"
#include "core/log.h"
#include "core/stop_flag.h"
#include "core/throttle.h"
#include "pipeline/frame_sink.h"
#include "pipeline/stream_status.h"
#include "protocol/frame_parser.h"
#include "stream/session.h"
#include "stream/session_frames.h"
#include "transport/tls.h"

namespace bambu {

/// The first stderr line (without "error: ") when `host`:`port` answers the
/// camera login as Bambu's file-transfer tunnel (protocol/file_tunnel.h):
/// the printer is an RTSPS model, whose camera is on port 322.
std::string not_a_camera_message(const std::string& host, std::uint16_t port);

/// Streams one printer's port-6000 camera into a FrameSink until stopped.
///
/// Protocol: ../shared/docs/port6000-protocol.md. One session at a time: a
/// session is closed (close_notify, socket closed) before the next is dialled,
/// so we never hold two of the printer's few camera slots. Reconnects follow
/// run_with_reconnects().
class CameraClient {
 public:
  /// All references must outlive the client. `config.port` must be set.
  CameraClient(const StreamConfig& config, const TlsContext& tls, FrameSink& sink, StreamStatus& status,
               const Logger& log, const StopFlag& stop);

  /// Runs until stop is requested (returns ExitCode::ok) or a fatal
  /// condition: access code rejected (3), unreachable, the file-transfer
  /// tunnel instead of a camera, or no first frame in --start-timeout (4), stream not regained within --retry-for (5),
  /// certificate rejected (6). Sets the status to stopped or failed, with
  /// the reason as last_error, before returning. `error` gets the one-line
  /// reason of a non-zero result.
  ExitCode run(std::string& error);

  /// Runs one session: connect, handshake, verify, log in, then read frames
  /// until something ends it. `first_frame_deadline` bounds everything up to
  /// the first frame; after it, each frame must follow within --stall-timeout.
  SessionOutcome run_session(Deadline first_frame_deadline);

 private:
  // When the current read gives up: the first-frame deadline, then the
  // stall watchdog's. `judged_bad`: the sink found the newest frames bad
  // (undecodable), so the watchdog runs from the last good one.
  struct Watchdog {
    Deadline deadline;
    bool judged_bad;
  };
  Watchdog watchdog(const SessionFrames& frames, Deadline first_frame_deadline) const;
  // Reads and delivers frames until something ends the session.
  SessionOutcome read_frames(TlsStream& tls, Deadline first_frame_deadline, SessionFrames& frames);
  // Parses `bytes` newly read into the parser's window and delivers each
  // whole frame; an outcome if they end the session (the file tunnel, a
  // corrupt header).
  std::optional<SessionOutcome> take_frames(TlsStream& tls, std::size_t bytes, SessionFrames& frames);
  // The outcome of a read that did not return data (stopped, timed out
  // before the first frame, closed or failed); `budget_s` was the time
  // given to the first frame.
  SessionOutcome read_failed(TlsStream& tls, const TlsResult& r, const SessionFrames& frames, bool received_any,
                             double budget_s);
  // Closes the session as stalled.
  SessionOutcome stalled(TlsStream& tls, const SessionFrames& frames, bool judged_bad);
  // Posts `payload` if it is a whole JPEG and returns true; otherwise counts
  // it as skipped (with a throttled warning) and returns false.
  bool deliver(std::vector<std::uint8_t> payload);

  const StreamConfig& config_;
  const TlsContext& tls_;
  FrameSink& sink_;
  StreamStatus& status_;
  const Logger& log_;
  const StopFlag& stop_;
  std::string endpoint_;  // "host:port", for messages
  Clock::duration stall_timeout_;
  FrameParser parser_;
  bool fingerprint_logged_ = false;
  Throttle skip_warning_{std::chrono::seconds(10)};  // skipped non-JPEG payloads
};

}  // namespace bambu
