#include "stream/rtsps_client.h"

#include <fmt/format.h>

#include <cctype>
#include <stdexcept>

#include "media/libav.h"
#include "media/remuxer.h"
#include "transport/tls_relay.h"

namespace bambu {

namespace {

// Time TEARDOWN gets to reach the printer when a session ends.
constexpr auto k_teardown_grace = std::chrono::milliseconds(200);
// Probing: ../shared/docs/rtsps.md says very small probe sizes fail on
// models with slow keyframe pacing and that about 1 MB / 0.5 s works.
// fpsprobesize 0: do not wait for extra frames to guess the frame rate.
constexpr const char* k_probesize = "1048576";       // bytes
constexpr const char* k_analyzeduration = "500000";  // microseconds

}  // namespace

// Bounds every blocking libavformat call: libavformat polls it about every
// 100 ms (and before each socket wait) and gives up with AVERROR_EXIT on 1.
struct RtspsClient::Interrupt {
  const StopFlag* stop = nullptr;
  Deadline deadline{};
  bool timed_out = false;  // the last interruption was the deadline
  bool closing = false;    // ending the session: only the deadline counts, so TEARDOWN can go out

  static int callback(void* opaque) {
    auto* self = static_cast<Interrupt*>(opaque);
    if (!self->closing && self->stop->stop_requested()) return 1;
    if (Clock::now() >= self->deadline) {
      self->timed_out = true;
      return 1;
    }
    return 0;
  }
};

// One session's resources, closed in order: libavformat first (it sends
// TEARDOWN through the relay, within k_teardown_grace), then the relay
// (close_notify to the printer).
struct RtspsClient::Session {
  Session(std::unique_ptr<TlsStream> tls, std::string endpoint, const Logger& log, const StopFlag& stop)
      : relay(std::move(tls), std::move(endpoint), log) {
    interrupt.stop = &stop;
  }
  ~Session() {
    interrupt.closing = true;
    interrupt.deadline = Clock::now() + k_teardown_grace;
    libav().av_packet_free(&packet);
    if (input != nullptr) libav_format().avformat_close_input(&input);
    relay.finish(k_teardown_grace);
  }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  Interrupt interrupt;
  TlsRelay relay;
  AVFormatContext* input = nullptr;
  AVPacket* packet = nullptr;
};

std::string url_encode(std::string_view text) {
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

RtspsClient::RtspsClient(const StreamConfig& config, const TlsContext& tls, FrameSink& sink, StreamStatus& status,
                         const Logger& log, const StopFlag& stop)
    : config_(config),
      tls_(tls),
      status_(status),
      log_(log),
      stop_(stop),
      endpoint_(format_endpoint(config.host, config.port)),
      remuxer_(std::make_unique<Remuxer>(config.format, config.wallclock_timestamps, config.empty_pes, sink, log)) {
  route_libav_log(&log_);
  libav_format().avformat_network_init();
}

RtspsClient::~RtspsClient() { route_libav_log(nullptr); }

void RtspsClient::set_keyframe_tap(std::function<void(std::span<const std::uint8_t>)> tap) {
  remuxer_->set_keyframe_tap(std::move(tap));
}

ExitCode RtspsClient::run(std::string& error) {
  return run_with_reconnects(
      config_, status_, log_, stop_, [this](Deadline deadline) { return run_session(deadline); }, error);
}

SessionOutcome RtspsClient::run_session(Deadline first_frame_deadline) {
  const auto started = Clock::now();
  Dialled dialled = dial_printer(config_, tls_, first_frame_deadline, stop_, log_, k_rtsps_dial_advice,
                                 fingerprint_logged_);
  if (!dialled.tls) return dialled.failure;
  Session session(std::move(dialled.tls), endpoint_, log_, stop_);
  session.interrupt.deadline = first_frame_deadline;
  const double budget_s = seconds_between(started, first_frame_deadline);
  if (int err = open_input(session); err < 0) return open_failed(session, err, "opening the RTSP session", budget_s);
  if (int err = libav_format().avformat_find_stream_info(session.input, nullptr); err < 0) {
    return open_failed(session, err, "waiting for the first keyframe", budget_s);
  }
  const AVStream* video = nullptr;
  if (auto failure = find_video(session, video)) return std::move(*failure);
  remuxer_->begin_session(*video->codecpar, video->time_base);
  SessionFrames frames(status_, log_, endpoint_, started);
  return read_packets(session, *video, first_frame_deadline, frames, budget_s);
}

int RtspsClient::open_input(Session& session) {
  const Libav& av = libav();
  session.input = libav_format().avformat_alloc_context();
  session.packet = av.av_packet_alloc();
  if (session.input == nullptr || session.packet == nullptr) throw std::bad_alloc();
  session.input->interrupt_callback = {&Interrupt::callback, &session.interrupt};
  AVDictionary* options = nullptr;
  av.av_dict_set(&options, "rtsp_transport", "tcp", 0);  // RTP interleaved in the RTSP connection
  av.av_dict_set(&options, "allowed_media_types", "video", 0);
  av.av_dict_set(&options, "probesize", k_probesize, 0);
  av.av_dict_set(&options, "analyzeduration", k_analyzeduration, 0);
  av.av_dict_set(&options, "fpsprobesize", "0", 0);
  av.av_dict_set(&options, "user_agent", "bambu-stream/" BAMBU_VERSION, 0);
  const std::string url = fmt::format("rtsp://{}:{}@127.0.0.1:{}{}", k_rtsps_user, url_encode(config_.access_code),
                                      session.relay.port(), k_rtsps_path);
  log_.debug("RTSP: opening {} through the TLS relay", endpoint_);
  // avformat_open_input() frees session.input on failure.
  const int err = libav_format().avformat_open_input(&session.input, url.c_str(), nullptr, &options);
  av.av_dict_free(&options);
  return err;
}

SessionOutcome RtspsClient::open_failed(const Session& session, int err, std::string_view doing,
                                        double budget_s) const {
  using Kind = SessionOutcome::Kind;
  if (stop_.stop_requested()) return session_failed(Kind::stopped, "stopped");
  if (auto why = session.relay.printer_error()) {
    return session_failed(Kind::lost, fmt::format("{} while {}", *why, doing));
  }
  if (session.interrupt.timed_out) {
    return session_failed(Kind::no_first_frame,
                          fmt::format("connected to {}, but {} took over {:.0f} s", endpoint_, doing, budget_s));
  }
  if (err == AVERROR_HTTP_UNAUTHORIZED) {
    return session_failed(Kind::rejected,
                          fmt::format("access code rejected: {} answered 401 Unauthorized (check the code on the "
                                      "printer's screen)",
                                      endpoint_));
  }
  if (err == AVERROR_HTTP_NOT_FOUND) {
    return session_failed(Kind::protocol_error,
                          fmt::format("{} has no camera stream at {} (404)", endpoint_, k_rtsps_path));
  }
  if (err == AVERROR_INVALIDDATA) {
    return session_failed(Kind::protocol_error,
                          fmt::format("{} did not answer as an RTSP camera ({}): is this port 322 of an X1, H2 "
                                      "or P2S printer?",
                                      endpoint_, av_error_text(err)));
  }
  return session_failed(Kind::lost,
                        fmt::format("RTSP with {} failed while {}: {}", endpoint_, doing, av_error_text(err)));
}

std::optional<SessionOutcome> RtspsClient::find_video(const Session& session, const AVStream*& video) const {
  for (unsigned i = 0; i < session.input->nb_streams && video == nullptr; ++i) {
    if (session.input->streams[i]->codecpar->codec_type == AVMEDIA_TYPE_VIDEO) video = session.input->streams[i];
  }
  if (video == nullptr) {
    return session_failed(SessionOutcome::Kind::protocol_error, fmt::format("{} offers no video", endpoint_));
  }
  if (video->codecpar->codec_id != AV_CODEC_ID_H264) {
    return session_failed(SessionOutcome::Kind::protocol_error,
                          fmt::format("{} sends {} video; only H.264 can be remuxed", endpoint_,
                                      libav().avcodec_get_name(video->codecpar->codec_id)));
  }
  return std::nullopt;
}

SessionOutcome RtspsClient::read_packets(Session& session, const AVStream& video, Deadline first_frame_deadline,
                                         SessionFrames& frames, double budget_s) {
  const Libav& av = libav();
  const AVCodecParameters& parameters = *video.codecpar;
  for (;;) {
    session.interrupt.deadline =
        frames.any() ? frames.last() + seconds_to_duration(config_.stall_timeout_s) : first_frame_deadline;
    session.interrupt.timed_out = false;
    const int err = libav_format().av_read_frame(session.input, session.packet);
    if (err < 0) {
      if (!frames.any()) return open_failed(session, err, "waiting for the first keyframe", budget_s);
      return read_failed(session, err, frames);
    }
    bool posted = false;
    if (session.packet->stream_index == video.index) posted = remuxer_->add(*session.packet, Clock::now());
    av.av_packet_unref(session.packet);
    if (!posted) continue;
    if (!frames.any()) status_.set_video("h264", parameters.width, parameters.height);
    frames.delivered(Clock::now(),
                     fmt::format("H.264 {}x{}, first keyframe out", parameters.width, parameters.height));
  }
}

SessionOutcome RtspsClient::read_failed(const Session& session, int err, const SessionFrames& frames) const {
  using Kind = SessionOutcome::Kind;
  if (stop_.stop_requested()) return session_failed(Kind::stopped, "stopped");
  if (auto why = session.relay.printer_error()) return frames.end(Kind::lost, *why);
  if (session.interrupt.timed_out) {
    return frames.end(Kind::stalled,
                      fmt::format("stall: no video from {} for {:g} s", endpoint_, config_.stall_timeout_s));
  }
  if (err == AVERROR_EOF) return frames.end(Kind::lost, fmt::format("{} ended the RTSP session", endpoint_));
  return frames.end(Kind::lost, fmt::format("RTSP with {} failed: {}", endpoint_, av_error_text(err)));
}

}  // namespace bambu
