#include "media/encoding_sink.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <utility>

#include "media/libav.h"
#include "media/remuxer.h"
#include "media/timeline.h"

namespace bambu {

namespace {

// Frame intervals longer than this (a stalled camera) do not count towards
// the camera's mean pace.
constexpr double k_max_step_s = 10;
// The P1/A1 camera's picture size, pixels (../shared/docs/port6000-protocol.md).
constexpr int k_camera_width = 1280;
constexpr int k_camera_height = 720;
// Weight of the newest frame interval in the moving mean.
constexpr double k_step_weight = 0.2;

}  // namespace

bool KeyframeClock::need_keyframe(Clock::time_point arrival) const {
  if (!session_start_ || !last_keyframe_) return true;
  if (seconds_between(*session_start_, arrival) < burst_s_) return true;
  const double since = seconds_between(*last_keyframe_, arrival);
  if (since >= interval_s_) return true;
  if (mean_step_s_ <= 0) return false;
  // Would the next frame, at the camera's pace, come too late? While frames
  // are short against the interval, keying one early costs little (at 5 fps
  // and 2 s, one keyframe in 9 frames instead of 10): count the camera's
  // jitter too. At slower rates it would make every frame a keyframe (at 1
  // fps and 2 s any jitter puts the next frame past the interval), so there
  // a frame may be late by a quarter of a frame interval.
  if (mean_step_s_ < interval_s_ / 4) {
    return since + mean_step_s_ + k_jitter_factor * step_deviation_s_ > interval_s_ + k_slack_s;
  }
  return since + mean_step_s_ > interval_s_ + std::max(k_slack_s, k_late_fraction * mean_step_s_);
}

void KeyframeClock::encoded(Clock::time_point arrival, bool keyframe) {
  if (!session_start_) {
    session_start_ = arrival;
  } else if (last_frame_) {
    const double step = seconds_between(*last_frame_, arrival);
    if (step > 0 && step < k_max_step_s) {
      if (mean_step_s_ == 0) {
        mean_step_s_ = step;
      } else {
        step_deviation_s_ = (1 - k_step_weight) * step_deviation_s_ + k_step_weight * std::abs(step - mean_step_s_);
        mean_step_s_ = (1 - k_step_weight) * mean_step_s_ + k_step_weight * step;
      }
    }
  }
  last_frame_ = arrival;
  if (keyframe) last_keyframe_ = arrival;
}

EncodingSink::EncodingSink(const EncoderSettings& settings, OutputFormat format, bool empty_pes, FrameSink& out,
                           StreamStatus& status, const Logger& log, StopFlag& stop)
    : settings_(settings),
      format_(format),
      out_(out),
      status_(status),
      log_(log),
      stop_(stop),
      encoder_(std::make_unique<H264Encoder>(settings)),
      // Wall-clock mode: every unit is stamped with its JPEG's arrival.
      remuxer_(std::make_unique<Remuxer>(format, true, empty_pes, out, log)),
      keyframes_(settings.keyframe_interval_s, settings.burst_s),
      repeats_(settings.burst_s, settings.output_fps) {
  if (format == OutputFormat::mpegts) {
    // About 15 ms with Debian's libavformat (libav.h), spent while the
    // encoder opens and the camera connects rather than before. A failure
    // shows again, with its reason, where the muxer needs the library.
    format_loader_ = std::jthread([] {
      try {
        libav_format();
      } catch (const std::exception&) {
      }
    });
  }
  // At the P1/A1 camera's size: the first JPEG then finds it open, and a
  // bad --encoder fails here (another size reopens it at the first JPEG).
  encoder_->prepare(k_camera_width, k_camera_height);
  status_.set_output(std::string(to_string(format)), settings_.encoder);
  thread_ = std::thread([this] { run(); });
}

EncodingSink::~EncodingSink() { finish(); }

void EncodingSink::post(std::vector<std::uint8_t> jpeg, bool /*keyframe*/) {
  const Clock::time_point arrival = Clock::now();
  bool new_session = false;
  std::uint64_t sessions_ended = 0;
  {
    std::lock_guard lock(mutex_);
    new_session = std::exchange(session_starts_, false);
    sessions_ended = sessions_ended_;
  }
  // The encoder is still busy with an older JPEG: keep the newest, and the
  // session start that the dropped one may have carried.
  const auto put = pending_.put(Pending{std::move(jpeg), arrival, new_session, sessions_ended},
                                [](Pending& newer, Pending& older) {
                                  newer.new_session = newer.new_session || older.new_session;
                                });
  if (put == Mailbox<Pending>::Put::replaced) status_.count_dropped();
}

void EncodingSink::begin_session() {
  std::lock_guard lock(mutex_);
  session_starts_ = true;
}

void EncodingSink::end_session() {
  std::lock_guard lock(mutex_);
  ++sessions_ended_;
}

std::optional<Clock::time_point> EncodingSink::last_good_unit() const {
  std::lock_guard lock(mutex_);
  return last_good_.value_or(Clock::time_point{});
}

std::string EncodingSink::error() const {
  std::lock_guard lock(mutex_);
  return error_;
}

void EncodingSink::finish() {
  if (pending_.close()) status_.count_dropped();
  if (thread_.joinable()) thread_.join();
}

void EncodingSink::run() {
  bool remuxer_session_due = true;  // the Remuxer learns of a session at its first encoded frame
  for (;;) {
    std::optional<Pending> frame;
    const std::optional<RepeatSchedule::Repeat> repeat = repeats_.next();
    using Taken = Mailbox<Pending>::Taken;
    Taken taken = Taken::item;
    if (repeat) {
      taken = pending_.take_until(repeat->due, frame);
    } else {
      frame = pending_.take();
      if (!frame) taken = Taken::closed;
    }
    if (taken == Taken::closed) return;
    try {
      if (taken == Taken::timeout) {
        encode_repeat(repeat->keyframe);
        continue;
      }
      taken_sessions_ended_ = frame->sessions_ended;
      if (frame->new_session) {
        keyframes_.begin_session();
        repeats_.begin_session();
        remuxer_session_due = true;
      }
      encode(*frame, remuxer_session_due);
    } catch (const std::exception& e) {
      {
        std::lock_guard lock(mutex_);
        error_ = std::string("H.264 encoder failed: ") + e.what();
      }
      stop_.request_stop(StopReason::encoder_failed);
      return;
    }
  }
}

std::int64_t EncodingSink::pts_at(Clock::time_point at) {
  if (!first_arrival_) first_arrival_ = at;
  last_pts_ = std::max(Timeline::ticks_between(*first_arrival_, at), last_pts_ + 1);
  return last_pts_;
}

bool EncodingSink::mux_units(const std::vector<H264Encoder::Unit>& units, Clock::time_point at, bool repeat) {
  bool any_keyframe = false;
  for (const auto& unit : units) {
    remuxer_->add(unit.annexb, std::nullopt, at, repeat);
    any_keyframe = any_keyframe || unit.keyframe;
  }
  return any_keyframe;
}

void EncodingSink::encode_repeat(bool keyframe) {
  {
    std::lock_guard lock(mutex_);
    if (sessions_ended_ != taken_sessions_ended_) {
      repeats_.begin_session();  // nothing more until the next session's first JPEG
      return;
    }
  }
  const Clock::time_point now = Clock::now();
  std::vector<H264Encoder::Unit> units;
  // No picture to repeat (the encoder was reopened since): wait for the next.
  if (!encoder_->encode_again(pts_at(now), keyframe, units)) {
    repeats_.repeated(now, keyframe);
    return;
  }
  mux_units(units, now, true);
  // As asked, not as flagged: an encoder that delays its output or ignores
  // a forced keyframe must not make the next repeat due at once.
  repeats_.repeated(now, keyframe);
}

void EncodingSink::encode(const Pending& frame, bool& remuxer_session_due) {
  const bool keyframe = keyframes_.need_keyframe(frame.arrival);
  std::vector<H264Encoder::Unit> units;
  const Clock::time_point started = Clock::now();
  if (encoder_->encode(frame.jpeg, pts_at(frame.arrival), keyframe, units) == H264Encoder::Result::undecodable) {
    status_.count_decode_failure();
    if (const std::uint64_t skipped = decode_warning_.pass(started)) {
      log_.warning("skipped {} JPEG(s) that did not decode (the last: {} bytes: {})", skipped, frame.jpeg.size(),
                   encoder_->last_decode_error());
    }
    return;
  }
  status_.count_encoded(seconds_between(started, Clock::now()) * 1000);
  if (encoder_->width() != width_ || encoder_->height() != height_) {
    if (width_ != 0) log_.info("the camera's pictures are now {}x{}", encoder_->width(), encoder_->height());
    width_ = encoder_->width();
    height_ = encoder_->height();
    status_.set_video("h264", width_, height_);
  }
  if (remuxer_session_due) {
    remuxer_->begin_session(*encoder_->parameters(), AVRational{1, static_cast<int>(Timeline::k_ticks_per_second)});
    remuxer_session_due = false;
  }
  const bool any_keyframe = mux_units(units, frame.arrival, false);
  keyframes_.encoded(frame.arrival, any_keyframe);
  repeats_.camera_frame(frame.arrival, any_keyframe);
  if (keyframes_.mean_step_s() > 0) encoder_->set_pace(1 / keyframes_.mean_step_s());
  std::lock_guard lock(mutex_);
  last_good_ = frame.arrival;
}

}  // namespace bambu
