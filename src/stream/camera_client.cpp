#include "stream/camera_client.h"

#include <fmt/format.h>

#include <algorithm>

#include "protocol/file_tunnel.h"
#include "protocol/jpeg.h"
#include "protocol/login.h"

namespace bambu {

namespace {

// Time given to close_notify when a session ends.
constexpr auto k_close_grace = std::chrono::milliseconds(200);

}  // namespace

std::string not_a_camera_message(const std::string& host, std::uint16_t port) {
  return fmt::format("port {} of {} is this printer's file-transfer service, not a camera: this model streams RTSPS "
                     "on port 322; switch on \"LAN Only Liveview\" on the printer and use --source rtsps",
                     port, host);
}

CameraClient::CameraClient(const StreamConfig& config, const TlsContext& tls, FrameSink& sink,
                           StreamStatus& status, const Logger& log, const StopFlag& stop)
    : config_(config),
      tls_(tls),
      sink_(sink),
      status_(status),
      log_(log),
      stop_(stop),
      endpoint_(format_endpoint(config.host, config.port)),
      stall_timeout_(seconds_to_duration(config.stall_timeout_s)) {}

bool CameraClient::deliver(std::vector<std::uint8_t> payload) {
  if (is_whole_jpeg(payload)) {
    sink_.post(std::move(payload));
    return true;
  }
  status_.count_skipped();
  if (const std::uint64_t skipped = skip_warning_.pass(Clock::now())) {
    log_.warning("skipped {} frame(s) that were not whole JPEGs (the last: {} bytes, not FF D8 ... FF D9)", skipped,
                 payload.size());
  }
  return false;
}

SessionOutcome CameraClient::run_session(Deadline first_frame_deadline) {
  const auto started = Clock::now();
  Dialled dialled =
      dial_printer(config_, tls_, first_frame_deadline, stop_, log_, k_jpeg_dial_advice, fingerprint_logged_);
  if (!dialled.tls) return dialled.failure;
  TlsStream& tls = *dialled.tls;

  // The CLI validated the code, so the packet can always be built.
  auto login = make_login_packet(config_.access_code).value();
  TlsResult sent = tls.write_all(login, first_frame_deadline, stop_);
  if (sent.status == TlsStatus::stopped) return session_failed(SessionOutcome::Kind::stopped, "stopped");
  if (sent.status != TlsStatus::ok) {
    return session_failed(SessionOutcome::Kind::lost,
                          fmt::format("{} dropped the connection before the login: {}", endpoint_, sent.detail));
  }
  log_.debug("logged in to {}; waiting for frames", endpoint_);
  sink_.begin_session();
  parser_.reset();
  SessionFrames frames(status_, log_, endpoint_, started);
  SessionOutcome outcome = read_frames(tls, first_frame_deadline, frames);
  sink_.end_session();
  return outcome;
}

CameraClient::Watchdog CameraClient::watchdog(const SessionFrames& frames, Deadline first_frame_deadline) const {
  if (!frames.any()) return {first_frame_deadline, false};
  // From the last frame, or from the last one the sink found good (a JPEG
  // that decoded) if that is older, but never from before this session's
  // first frame.
  Watchdog w{frames.last() + stall_timeout_, false};
  if (auto good = sink_.last_good_unit(); good && *good < frames.last()) {
    w.deadline = std::max(*good, frames.first()) + stall_timeout_;
    w.judged_bad = true;
  }
  return w;
}

SessionOutcome CameraClient::read_frames(TlsStream& tls, Deadline first_frame_deadline, SessionFrames& frames) {
  const double budget_s = seconds_between(Clock::now(), first_frame_deadline);
  bool received_any = false;
  for (;;) {
    const Watchdog w = watchdog(frames, first_frame_deadline);
    // Frames that keep coming but never decode would keep the read below
    // from ever timing out.
    if (w.judged_bad && Clock::now() >= w.deadline) return stalled(tls, frames, true);
    TlsResult r = tls.read_some(parser_.window(), w.deadline, stop_);
    if (r.status == TlsStatus::ok) {
      received_any = true;
      if (auto ended = take_frames(tls, r.bytes, frames)) return std::move(*ended);
      continue;
    }
    if (r.status == TlsStatus::timed_out && frames.any()) return stalled(tls, frames, w.judged_bad);
    return read_failed(tls, r, frames, received_any, budget_s);
  }
}

SessionOutcome CameraClient::stalled(TlsStream& tls, const SessionFrames& frames, bool judged_bad) {
  tls.close(Clock::now() + k_close_grace);
  return frames.end(SessionOutcome::Kind::stalled,
                    judged_bad ? fmt::format("stall: no JPEG from {} decoded for {:g} s", endpoint_,
                                             config_.stall_timeout_s)
                               : fmt::format("stall: no frame from {} for {:g} s", endpoint_, config_.stall_timeout_s));
}

SessionOutcome CameraClient::read_failed(TlsStream& tls, const TlsResult& r, const SessionFrames& frames,
                                         bool received_any, double budget_s) {
  using Kind = SessionOutcome::Kind;
  if (r.status == TlsStatus::stopped || r.status == TlsStatus::timed_out) {
    tls.close(Clock::now() + k_close_grace);
    if (r.status == TlsStatus::stopped) return frames.end(Kind::stopped, "stopped");
    // A camera whose slots are all taken accepts the login and then sends
    // nothing until one frees (maziggy/bambuddy#2757, in packet captures;
    // ../shared/docs/port6000-protocol.md).
    return frames.end(Kind::no_first_frame,
                      fmt::format("logged in to {}, but no frame arrived within {:.0f} s: the printer's camera "
                                  "slots are probably taken (it serves about two viewers); close Bambu Studio, "
                                  "Bambu Handy or another stream of this printer, then start again",
                                  endpoint_, budget_s));
  }
  if (!received_any && r.status == TlsStatus::failed) {
    // Not a rejection: the printer closes cleanly for a wrong code.
    return frames.end(Kind::lost, fmt::format("TLS error from {} after the login: {}", endpoint_, r.detail));
  }
  if (!received_any) {
    return frames.end(Kind::rejected,
                      fmt::format("access code rejected: {} closed the session right after the login without "
                                  "sending a frame (check the code on the printer's screen)",
                                  endpoint_));
  }
  if (parser_.buffered() > 0) {
    return frames.end(Kind::lost, fmt::format("connection to {} lost mid-frame ({} of {} bytes): {}", endpoint_,
                                              parser_.buffered(), k_frame_header_size + parser_.header().size,
                                              r.detail));
  }
  return frames.end(Kind::lost, fmt::format("connection to {} lost: {}", endpoint_, r.detail));
}

std::optional<SessionOutcome> CameraClient::take_frames(TlsStream& tls, std::size_t bytes, SessionFrames& frames) {
  const FrameParser::Status parsed = parser_.commit(bytes);
  if (!frames.any() && parser_.buffered() >= k_frame_header_size && is_file_tunnel_header(parser_.header())) {
    // The printer's file-transfer tunnel, not a camera: redialling cannot help.
    tls.close(Clock::now() + k_close_grace);
    return frames.end(SessionOutcome::Kind::not_camera, not_a_camera_message(config_.host, config_.port));
  }
  switch (parsed) {
    case FrameParser::Status::need_more: break;
    case FrameParser::Status::corrupt:
      tls.close(Clock::now() + k_close_grace);
      return frames.end(SessionOutcome::Kind::protocol_error,
                        fmt::format("protocol error: {} sent a frame size of {} bytes, over the {}-byte limit",
                                    endpoint_, parser_.header().size, k_max_frame_size));
    case FrameParser::Status::frame: {
      // Only a whole JPEG is a frame: a printer sending nothing else must
      // still trip --start-timeout and the stall watchdog.
      std::vector<std::uint8_t> frame = parser_.take_frame();
      const auto size = frames.any() ? std::nullopt : jpeg_size(frame);
      if (!deliver(std::move(frame))) break;
      if (size && config_.format == OutputFormat::mjpeg && !frames.any()) {
        status_.set_video("mjpeg", size->width, size->height);
      }
      frames.delivered(Clock::now(), "first frame");
      break;
    }
  }
  return std::nullopt;
}

ExitCode CameraClient::run(std::string& error) {
  return run_with_reconnects(
      config_, status_, log_, stop_, [this](Deadline deadline) { return run_session(deadline); }, error);
}

}  // namespace bambu
