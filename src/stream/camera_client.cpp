#include "stream/camera_client.h"

#include <fmt/format.h>

#include <algorithm>

#include "protocol/jpeg.h"
#include "protocol/login.h"

namespace bambu {

namespace {

// Skipped non-JPEG payloads are reported at most this often.
constexpr auto k_skip_warning_interval = std::chrono::seconds(10);
// Time given to close_notify when a session ends.
constexpr auto k_close_grace = std::chrono::milliseconds(200);
// How long frames must flow in a new session before the stream counts as
// regained (backoff and the --retry-for window start afresh). Shorter
// sessions (a printer that drops after every frame) stay within the
// current loss, so --retry-for still ends them and the backoff keeps
// growing instead of redialling every second.
constexpr auto k_stable_stream = std::chrono::seconds(10);

double seconds_between(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double>(to - from).count();
}

}  // namespace

std::string format_endpoint(const std::string& host, std::uint16_t port) {
  if (host.find(':') != std::string::npos) return fmt::format("[{}]:{}", host, port);
  return fmt::format("{}:{}", host, port);
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

  log_.debug("connecting to {}", endpoint_);
  ConnectResult conn = tcp_connect(config_.host, config_.port, first_frame_deadline, stop_);
  switch (conn.status) {
    case ConnectStatus::connected: break;
    case ConnectStatus::stopped: return fail(Kind::stopped, "stopped");
    case ConnectStatus::refused:
      return fail(Kind::unreachable,
                  fmt::format("connection to {} refused: is this the printer's address, is it on, and is "
                              "LAN liveview enabled?",
                              endpoint_));
    case ConnectStatus::timed_out:
      return fail(Kind::unreachable, fmt::format("no answer from {} within {:.0f} s: is the printer on and the "
                                                 "address right?",
                                                 endpoint_, budget_s));
    case ConnectStatus::unreachable:
      return fail(Kind::unreachable, fmt::format("{} is unreachable: {}", endpoint_, conn.detail));
    case ConnectStatus::resolve_failed:
      return fail(Kind::unreachable,
                  fmt::format("cannot resolve the printer address '{}': {}", config_.host, conn.detail));
    case ConnectStatus::failed:
      return fail(Kind::unreachable, fmt::format("cannot connect to {}: {}", endpoint_, conn.detail));
  }

  TlsStream tls(tls_, std::move(conn.fd), TlsStream::Role::client);
  TlsResult hs = tls.handshake(first_frame_deadline, stop_);
  switch (hs.status) {
    case TlsStatus::ok: break;
    case TlsStatus::stopped: return fail(Kind::stopped, "stopped");
    case TlsStatus::timed_out:
      return fail(Kind::handshake_failed,
                  fmt::format("the TLS handshake with {} got no answer within {:.0f} s: the camera serves at most "
                              "two clients; close other viewers (Bambu Studio, Bambu Handy, other streams)",
                              endpoint_, budget_s));
    case TlsStatus::closed:
      return fail(Kind::handshake_failed,
                  fmt::format("{} closed the connection during the TLS handshake: is this a Bambu printer's "
                              "port 6000?",
                              endpoint_));
    case TlsStatus::failed:
      return fail(Kind::handshake_failed, fmt::format("TLS handshake with {} failed: {}", endpoint_, hs.detail));
  }

  if (!fingerprint_logged_) {
    fingerprint_logged_ = true;
    if (auto fp = tls.peer_fingerprint()) {
      log_.debug("printer certificate: CN={} SHA-256 {} (pin it with --tls-fingerprint)", tls.peer_common_name(),
                 format_fingerprint(*fp));
    }
  }
  if (auto problem = tls.check_peer(config_.tls)) return fail(Kind::verify_failed, *problem);

  // The CLI validated the code, so the packet can always be built.
  auto login = make_login_packet(config_.access_code).value();
  TlsResult sent = tls.write_all(login, first_frame_deadline, stop_);
  if (sent.status == TlsStatus::stopped) return fail(Kind::stopped, "stopped");
  if (sent.status != TlsStatus::ok) {
    return fail(Kind::lost, fmt::format("{} dropped the connection before the login: {}", endpoint_, sent.detail));
  }
  log_.debug("logged in to {}; waiting for frames", endpoint_);

  parser_.reset();
  bool received_any = false;
  Clock::time_point first_frame{}, last_frame{};
  for (;;) {
    Deadline deadline = out.got_frame ? last_frame + seconds_to_duration(config_.stall_timeout_s)
                                      : first_frame_deadline;
    TlsResult r = tls.read_some(parser_.window(), deadline, stop_);
    switch (r.status) {
      case TlsStatus::ok: break;
      case TlsStatus::stopped:
        tls.close(Clock::now() + k_close_grace);
        return fail(Kind::stopped, "stopped");
      case TlsStatus::timed_out:
        tls.close(Clock::now() + k_close_grace);
        if (out.got_frame) {
          return fail(Kind::stalled, fmt::format("stall: no frame from {} for {:g} s", endpoint_,
                                                 config_.stall_timeout_s));
        }
        return fail(Kind::no_first_frame,
                    fmt::format("logged in to {}, but no frame arrived within {:.0f} s", endpoint_, budget_s));
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
    switch (parser_.commit(r.bytes)) {
      case FrameParser::Status::need_more: break;
      case FrameParser::Status::corrupt:
        tls.close(Clock::now() + k_close_grace);
        return fail(Kind::protocol_error,
                    fmt::format("protocol error: {} sent a frame size of {} bytes, over the {}-byte limit",
                                endpoint_, parser_.header().size, k_max_frame_size));
      case FrameParser::Status::frame: {
        // Only a whole JPEG is a frame: a printer sending nothing else must
        // still trip --start-timeout and the stall watchdog.
        if (!deliver(parser_.take_frame())) break;
        if (!out.got_frame) {
          out.got_frame = true;
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
  using Kind = SessionOutcome::Kind;
  const auto started = Clock::now();
  const auto retry_for = seconds_to_duration(config_.retry_for_s);
  const auto start_timeout = seconds_to_duration(config_.start_timeout_s);
  bool established = false;
  Clock::time_point lost_at{};
  double backoff_s = config_.backoff_initial_s;
  auto finish = [&](ExitCode code, std::string message) {
    error = std::move(message);
    status_.set_state(code == ExitCode::ok ? StreamState::stopped : StreamState::failed, error);
    return code;
  };

  status_.set_state(StreamState::connecting);
  for (;;) {
    Deadline first_frame_deadline =
        established ? std::min(Clock::now() + start_timeout, lost_at + retry_for) : started + start_timeout;
    SessionOutcome out = run_session(first_frame_deadline);
    if (out.kind == Kind::stopped || stop_.stop_requested()) return finish(ExitCode::ok, {});
    if (out.kind == Kind::verify_failed) return finish(ExitCode::tls_verification, out.message);
    if (out.got_frame && (!established || out.streamed_for >= k_stable_stream)) {
      established = true;
      lost_at = Clock::now();
      backoff_s = config_.backoff_initial_s;
    }
    if (!established) {
      return finish(out.kind == Kind::rejected ? ExitCode::access_code_rejected : ExitCode::unreachable,
                    out.message);
    }
    auto now = Clock::now();
    if (now - lost_at >= retry_for) {
      return finish(ExitCode::stream_lost,
                    fmt::format("stream lost and not regained within --retry-for {:g} s; last error: {}",
                                config_.retry_for_s, out.message));
    }
    auto wait = std::min(seconds_to_duration(backoff_s), lost_at + retry_for - now);
    log_.warning("{}; reconnecting in {:.1f} s", out.message, seconds_between(now, now + wait));
    status_.set_state(StreamState::reconnecting, out.message);
    if (stop_.wait_until(now + wait)) return finish(ExitCode::ok, {});
    backoff_s = std::min(backoff_s * 2, config_.backoff_max_s);
    status_.count_reconnect();
  }
}

}  // namespace bambu
