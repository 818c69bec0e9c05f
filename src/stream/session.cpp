#include "stream/session.h"

#include <fmt/format.h>

#include <algorithm>

namespace bambu {

namespace {

// How long frames must flow in a new session before the stream counts as
// regained (backoff and the --retry-for window start afresh). Shorter
// sessions (a printer that drops after every frame) stay within the
// current loss, so --retry-for still ends them and the backoff keeps
// growing instead of redialling every second.
constexpr auto k_stable_stream = std::chrono::seconds(10);

}  // namespace

// The models that ship with LAN liveview off, for the advice below.
#define BAMBU_LIVEVIEW_OFF_MODELS "P2S, H2C, X2D, and H2S/H2D from firmware 01.02.00.00"

const DialAdvice k_jpeg_dial_advice{
    "is this the printer's address, is it on, and is LAN liveview enabled?",
    "is this the camera port of a Bambu printer (6000 for P1/A1, 322 for X1/H2/P2S)?",
};

const DialAdvice k_rtsps_dial_advice{
    "the printer's RTSPS camera is off or this is not the printer: switch on \"LAN Only Liveview\" on the "
    "printer (off by default on " BAMBU_LIVEVIEW_OFF_MODELS "), and check the address",
    "the printer's RTSPS camera is switched off: switch on \"LAN Only Liveview\" on the printer (off by default "
    "on " BAMBU_LIVEVIEW_OFF_MODELS ")",
};
#undef BAMBU_LIVEVIEW_OFF_MODELS

SessionOutcome describe_connect_failure(const ConnectResult& result, const std::string& host, std::uint16_t port,
                                        double budget_s, const DialAdvice& advice) {
  using Kind = SessionOutcome::Kind;
  const std::string endpoint = format_endpoint(host, port);
  switch (result.status) {
    case ConnectStatus::stopped: return session_failed(Kind::stopped, "stopped");
    case ConnectStatus::refused:
      return session_failed(Kind::unreachable, fmt::format("connection to {} refused: {}", endpoint, advice.refused));
    case ConnectStatus::timed_out:
      return session_failed(Kind::unreachable,
                            fmt::format("no answer from {} within {:.0f} s (not even a refusal): is the printer on, "
                                        "on this network, and the address right?",
                                        endpoint, budget_s));
    case ConnectStatus::unreachable:
      return session_failed(Kind::unreachable, fmt::format("{} is unreachable: {}: check the address and that this "
                                                           "machine is on the printer's network",
                                                           endpoint, result.detail));
    case ConnectStatus::resolve_failed:
      return session_failed(Kind::unreachable,
                            fmt::format("cannot resolve the printer address '{}': {}: check the name, or use the "
                                        "printer's IP address (shown on its screen in the network settings)",
                                        host, result.detail));
    case ConnectStatus::connected:
    case ConnectStatus::failed: break;
  }
  return session_failed(Kind::unreachable, fmt::format("cannot connect to {}: {}", endpoint, result.detail));
}

Dialled dial_printer(const StreamConfig& config, const TlsContext& context, Deadline deadline, const StopFlag& stop,
                     const Logger& log, const DialAdvice& advice, bool& fingerprint_logged) {
  using Kind = SessionOutcome::Kind;
  const std::string endpoint = format_endpoint(config.host, config.port);
  const double budget_s = seconds_between(Clock::now(), deadline);
  Dialled out;
  auto fail = [&out](Kind kind, std::string message) {
    out.failure = session_failed(kind, std::move(message));
    return std::move(out);
  };

  log.debug("connecting to {}", endpoint);
  ConnectResult conn = tcp_connect(config.host, config.port, deadline, stop);
  if (conn.status != ConnectStatus::connected) {
    out.failure = describe_connect_failure(conn, config.host, config.port, budget_s, advice);
    return out;
  }

  auto tls = std::make_unique<TlsStream>(context, std::move(conn.fd), TlsStream::Role::client);
  TlsResult hs = tls->handshake(deadline, stop);
  switch (hs.status) {
    case TlsStatus::ok: break;
    case TlsStatus::stopped: return fail(Kind::stopped, "stopped");
    case TlsStatus::timed_out:
      return fail(Kind::handshake_failed,
                  fmt::format("the TLS handshake with {} got no answer within {:.0f} s: the camera serves at most "
                              "two clients; close other viewers (Bambu Studio, Bambu Handy, other streams)",
                              endpoint, budget_s));
    case TlsStatus::closed:
      return fail(Kind::handshake_failed,
                  fmt::format("{} closed the connection before the TLS handshake completed: {}", endpoint,
                              advice.closed));
    case TlsStatus::failed:
      return fail(Kind::handshake_failed,
                  fmt::format("TLS handshake with {} failed ({}): is this the camera port of a Bambu printer "
                              "(6000 for P1/A1, 322 for X1/H2/P2S)?",
                              endpoint, hs.detail));
  }

  if (!fingerprint_logged) {
    fingerprint_logged = true;
    if (auto fp = tls->peer_fingerprint()) {
      log.debug("printer certificate: CN={} SHA-256 {} (pin it with --tls-fingerprint)", tls->peer_common_name(),
                format_fingerprint(*fp));
    }
  }
  if (auto problem = tls->check_peer(config.tls)) return fail(Kind::verify_failed, *problem);
  out.tls = std::move(tls);
  return out;
}

ExitCode run_with_reconnects(const StreamConfig& config, StreamStatus& status, const Logger& log,
                             const StopFlag& stop, const std::function<SessionOutcome(Deadline)>& run_session,
                             std::string& error) {
  using Kind = SessionOutcome::Kind;
  const auto started = Clock::now();
  const auto retry_for = seconds_to_duration(config.retry_for_s);
  const auto start_timeout = seconds_to_duration(config.start_timeout_s);
  bool established = false;
  Clock::time_point lost_at{};
  double backoff_s = config.backoff_initial_s;
  auto finish = [&](ExitCode code, std::string message) {
    error = std::move(message);
    status.set_state(code == ExitCode::ok ? StreamState::stopped : StreamState::failed, error);
    return code;
  };

  status.set_state(StreamState::connecting);
  for (;;) {
    Deadline first_frame_deadline =
        established ? std::min(Clock::now() + start_timeout, lost_at + retry_for) : started + start_timeout;
    SessionOutcome out = run_session(first_frame_deadline);
    if (out.kind == Kind::stopped || stop.stop_requested()) return finish(ExitCode::ok, {});
    if (out.kind == Kind::verify_failed) return finish(ExitCode::tls_verification, out.message);
    if (out.kind == Kind::not_camera) return finish(ExitCode::unreachable, out.message);
    if (out.got_frame && (!established || out.streamed_for >= k_stable_stream)) {
      established = true;
      lost_at = Clock::now();
      backoff_s = config.backoff_initial_s;
    }
    if (!established) {
      return finish(out.kind == Kind::rejected ? ExitCode::access_code_rejected : ExitCode::unreachable,
                    out.message);
    }
    auto now = Clock::now();
    if (now - lost_at >= retry_for) {
      return finish(ExitCode::stream_lost,
                    fmt::format("stream lost and not regained within --retry-for {:g} s; last error: {}",
                                config.retry_for_s, out.message));
    }
    auto wait = std::min(seconds_to_duration(backoff_s), lost_at + retry_for - now);
    log.warning("{}; reconnecting in {:.1f} s", out.message, seconds_between(now, now + wait));
    status.set_state(StreamState::reconnecting, out.message);
    if (stop.wait_until(now + wait)) return finish(ExitCode::ok, {});
    backoff_s = std::min(backoff_s * 2, config.backoff_max_s);
    status.count_reconnect();
  }
}

}  // namespace bambu
