#include "stream/camera_client.h"

#include <fmt/format.h>

#include <algorithm>

#include "protocol/file_tunnel.h"
#include "protocol/jpeg.h"
#include "protocol/login.h"

namespace bambu {

namespace {

// Skipped non-JPEG payloads are reported at most this often.
constexpr auto k_skip_warning_interval = std::chrono::seconds(10);
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
      endpoint_(format_endpoint(config.host, config.port)) {}

bool CameraClient::deliver(std::vector<std::uint8_t> payload) {
  if (is_whole_jpeg(payload)) {
    sink_.post(std::move(payload));
    return true;
  }
  status_.count_skipped();
  ++skipped_since_warning_;
  auto now = Clock::now();
  if (last_skip_warning_ == Clock::time_point{} || now - last_skip_warning_ >= k_skip_warning_interval) {
    log_.warning("skipped {} frame(s) that were not whole JPEGs (the last: {} bytes, not FF D8 ... FF D9)",
                 skipped_since_warning_, payload.size());
    last_skip_warning_ = now;
    skipped_since_warning_ = 0;
  }
  return false;
}

SessionOutcome CameraClient::run_session(Deadline first_frame_deadline) {
  using Kind = SessionOutcome::Kind;
  SessionOutcome out;
  const auto started = Clock::now();
  const double budget_s = seconds_between(started, first_frame_deadline);
  auto fail = [&out](Kind kind, std::string message) {
    out.kind = kind;
    out.message = std::move(message);
    return out;
  };

  Dialled dialled =
      dial_printer(config_, tls_, first_frame_deadline, stop_, log_, k_jpeg_dial_advice, fingerprint_logged_);
  if (!dialled.tls) return dialled.failure;
  TlsStream& tls = *dialled.tls;

  // The CLI validated the code, so the packet can always be built.
  auto login = make_login_packet(config_.access_code).value();
  TlsResult sent = tls.write_all(login, first_frame_deadline, stop_);
  if (sent.status == TlsStatus::stopped) return fail(Kind::stopped, "stopped");
  if (sent.status != TlsStatus::ok) {
    return fail(Kind::lost, fmt::format("{} dropped the connection before the login: {}", endpoint_, sent.detail));
  }
  log_.debug("logged in to {}; waiting for frames", endpoint_);
  sink_.begin_session();

  parser_.reset();
  bool received_any = false;
  Clock::time_point first_frame{}, last_frame{};
  const auto stall_timeout = seconds_to_duration(config_.stall_timeout_s);
  for (;;) {
    // The watchdog runs from the last frame, or from the last one the sink
    // found good (a JPEG that decoded) if that is older, but never from
    // before this session's first frame.
    Clock::time_point alive = last_frame;
    bool judged_bad = false;
    if (out.got_frame) {
      if (auto good = sink_.last_good_unit(); good && *good < last_frame) {
        alive = std::max(*good, first_frame);
        judged_bad = true;
      }
    }
    Deadline deadline = out.got_frame ? alive + stall_timeout : first_frame_deadline;
    auto stall = [&] {
      tls.close(Clock::now() + k_close_grace);
      return fail(Kind::stalled, judged_bad ? fmt::format("stall: no JPEG from {} decoded for {:g} s", endpoint_,
                                                          config_.stall_timeout_s)
                                            : fmt::format("stall: no frame from {} for {:g} s", endpoint_,
                                                          config_.stall_timeout_s));
    };
    // Frames that keep coming but never decode would keep the read below
    // from ever timing out.
    if (out.got_frame && judged_bad && Clock::now() >= deadline) return stall();
    TlsResult r = tls.read_some(parser_.window(), deadline, stop_);
    switch (r.status) {
      case TlsStatus::ok: break;
      case TlsStatus::stopped:
        tls.close(Clock::now() + k_close_grace);
        return fail(Kind::stopped, "stopped");
      case TlsStatus::timed_out:
        if (out.got_frame) return stall();
        tls.close(Clock::now() + k_close_grace);
        // A camera whose slots are all taken accepts the login and then
        // sends nothing until one frees (maziggy/bambuddy issue 2757, in
        // packet captures; ../shared/docs/port6000-protocol.md).
        return fail(Kind::no_first_frame,
                    fmt::format("logged in to {}, but no frame arrived within {:.0f} s: the printer's camera slots "
                                "are probably taken (it serves about two viewers); close Bambu Studio, Bambu Handy "
                                "or another stream of this printer, then start again",
                                endpoint_, budget_s));
      case TlsStatus::failed:
        if (!received_any) {
          // Not a rejection: the printer closes cleanly for a wrong code.
          return fail(Kind::lost, fmt::format("TLS error from {} after the login: {}", endpoint_, r.detail));
        }
        [[fallthrough]];
      case TlsStatus::closed:
        if (!received_any) {
          return fail(Kind::rejected,
                      fmt::format("access code rejected: {} closed the session right after the login without "
                                  "sending a frame (check the code on the printer's screen)",
                                  endpoint_));
        }
        if (parser_.buffered() > 0) {
          return fail(Kind::lost, fmt::format("connection to {} lost mid-frame ({} of {} bytes): {}", endpoint_,
                                              parser_.buffered(), k_frame_header_size + parser_.header().size,
                                              r.detail));
        }
        return fail(Kind::lost, fmt::format("connection to {} lost: {}", endpoint_, r.detail));
    }
    received_any = true;
    const FrameParser::Status parsed = parser_.commit(r.bytes);
    if (!out.got_frame && parser_.buffered() >= k_frame_header_size && is_file_tunnel_header(parser_.header())) {
      // The printer's file-transfer tunnel, not a camera: redialling cannot help.
      tls.close(Clock::now() + k_close_grace);
      return fail(Kind::not_camera, not_a_camera_message(config_.host, config_.port));
    }
    switch (parsed) {
      case FrameParser::Status::need_more: break;
      case FrameParser::Status::corrupt:
        tls.close(Clock::now() + k_close_grace);
        return fail(Kind::protocol_error,
                    fmt::format("protocol error: {} sent a frame size of {} bytes, over the {}-byte limit",
                                endpoint_, parser_.header().size, k_max_frame_size));
      case FrameParser::Status::frame: {
        // Only a whole JPEG is a frame: a printer sending nothing else must
        // still trip --start-timeout and the stall watchdog.
        std::vector<std::uint8_t> frame = parser_.take_frame();
        const auto size = out.got_frame ? std::nullopt : jpeg_size(frame);
        if (!deliver(std::move(frame))) break;
        if (!out.got_frame) {
          out.got_frame = true;
          if (size && config_.format == OutputFormat::mjpeg) status_.set_video("mjpeg", size->width, size->height);
          first_frame = Clock::now();
          if (status_.state() == StreamState::reconnecting) log_.info("stream regained from {}", endpoint_);
          status_.set_state(StreamState::streaming);
          log_.debug("streaming from {} (first frame after {:.0f} ms)", endpoint_,
                     seconds_between(started, Clock::now()) * 1000);
        }
        last_frame = Clock::now();
        out.streamed_for = last_frame - first_frame;
        break;
      }
    }
  }
}

ExitCode CameraClient::run(std::string& error) {
  return run_with_reconnects(
      config_, status_, log_, stop_, [this](Deadline deadline) { return run_session(deadline); }, error);
}

}  // namespace bambu
