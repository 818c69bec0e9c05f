// RtspsClient: one X1/H2/P2S camera (RTSP over TLS, port 322), remuxed to
// MPEG-TS or Annex-B H.264 on stdout, with stall watchdog and reconnects.
#pragma once

#include <functional>
#include <span>

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "config/stream_config.h"
#include "core/errors.h"
#include "core/log.h"
#include "core/stop_flag.h"
#include "pipeline/frame_sink.h"
#include "pipeline/stream_status.h"
#include "stream/session.h"
#include "stream/session_frames.h"
#include "transport/tls.h"

struct AVStream;

namespace bambu {

class Remuxer;

/// The camera's RTSP path (../shared/docs/rtsps.md).
inline constexpr const char* k_rtsps_path = "/streaming/live/1";
/// The RTSP user name; the password is the access code.
inline constexpr const char* k_rtsps_user = "bblp";

/// Streams one printer's RTSPS camera into a FrameSink until stopped.
///
/// Each session: dial and verify the printer with our own TLS code
/// (dial_printer), relay it to 127.0.0.1 (TlsRelay), and let libavformat
/// speak RTSP to the relay over TCP (interleaved RTP) with Digest auth.
/// libavformat sends the keepalives (GET_PARAMETER or OPTIONS every half
/// of the session timeout the server announces: 5 s on printers) while we
/// read. Every blocking libavformat call is bounded by an interrupt
/// callback: the first-frame deadline, then --stall-timeout after each
/// packet, and the stop flag. Reconnects follow run_with_reconnects(), and
/// only on a lost or stalled session: the X1's camera is known to wedge
/// under reconnect churn. The Remuxer lives across sessions, so stdout
/// carries one continuous stream.
class RtspsClient {
 public:
  /// All references must outlive the client. config.port and config.format
  /// (mpegts or h264) must be set. Loads libav (throws std::runtime_error
  /// naming the missing library if it cannot).
  RtspsClient(const StreamConfig& config, const TlsContext& tls, FrameSink& sink, StreamStatus& status,
              const Logger& log, const StopFlag& stop);
  ~RtspsClient();
  RtspsClient(const RtspsClient&) = delete;
  RtspsClient& operator=(const RtspsClient&) = delete;

  /// Runs until stop is requested (ExitCode::ok) or a fatal condition, with
  /// the exit codes of run_with_reconnects(): access code rejected (RTSP 401)
  /// 3, unreachable or no keyframe within --start-timeout 4, lost for
  /// --retry-for 5, certificate rejected 6. `error` gets the one-line reason.
  ExitCode run(std::string& error);

  /// Runs one session; everything up to the first output must happen
  /// before `first_frame_deadline`.
  SessionOutcome run_session(Deadline first_frame_deadline);

  /// Hands every keyframe written to stdout (Annex-B, SPS and PPS first) to
  /// `tap` on the session thread, before it is muxed; for --snapshot. The
  /// tap must return at once (SnapshotWriter::offer()). Call before run().
  void set_keyframe_tap(std::function<void(std::span<const std::uint8_t>)> tap);

 private:
  struct Interrupt;  // bounds each blocking libavformat call
  struct Session;    // one session's relay and libavformat context, closed in order

  // Sets up session.input and session.packet and opens the RTSP session
  // through the relay; returns avformat_open_input()'s result.
  int open_input(Session& session);
  // Why opening the session, or reading up to its first keyframe, failed
  // with libav error `err` while `doing` ("opening the RTSP session").
  SessionOutcome open_failed(const Session& session, int err, std::string_view doing, double budget_s) const;
  // Finds the H.264 video stream into `video`; an outcome if there is none.
  std::optional<SessionOutcome> find_video(const Session& session, const AVStream*& video) const;
  // Reads, remuxes and posts packets until something ends the session.
  SessionOutcome read_packets(Session& session, const AVStream& video, Deadline first_frame_deadline,
                              SessionFrames& frames, double budget_s);
  // Why reading failed with libav error `err` after the first keyframe.
  SessionOutcome read_failed(const Session& session, int err, const SessionFrames& frames) const;

  const StreamConfig& config_;
  const TlsContext& tls_;
  StreamStatus& status_;
  const Logger& log_;
  const StopFlag& stop_;
  std::string endpoint_;  // "host:port", for messages
  std::unique_ptr<Remuxer> remuxer_;
  bool fingerprint_logged_ = false;
};

/// Percent-encodes `text` for the userinfo part of a URL (RFC 3986: all but
/// unreserved characters).
std::string url_encode(std::string_view text);

}  // namespace bambu
