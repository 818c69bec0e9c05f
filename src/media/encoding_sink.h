// EncodingSink: the stage between the port-6000 camera client and the
// stdout writer that turns JPEGs into H.264 (MPEG-TS or Annex-B), on its own
// thread, so that decoding and encoding never hold up the TLS read.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/log.h"
#include "core/mailbox.h"
#include "core/stop_flag.h"
#include "core/throttle.h"
#include "media/encoder_settings.h"
#include "media/h264_encoder.h"
#include "media/output_format.h"
#include "media/repeat_schedule.h"
#include "pipeline/frame_sink.h"
#include "pipeline/stream_status.h"

namespace bambu {

class Remuxer;

/// The pure keyframe rule of the encoder (unit-tested on its own).
///
/// A keyframe on the first frame of every session (the first, and each
/// after a reconnect); on every frame of the start-up burst (`burst_s`
/// seconds from the session's first frame), so that a player connecting
/// meanwhile (go2rtc drops what arrives before its client plays) shows the
/// very next frame; and after that on the last frame before `interval_s` of
/// camera time would pass since the last keyframe, as predicted from the
/// camera's mean frame interval. While that interval is under a quarter of
/// `interval_s`, k_jitter_factor times its mean deviation (the camera's
/// jitter) is added to the prediction, so keyframes stay at most
/// `interval_s` apart (plus k_slack_s of timer noise). At slower rates,
/// where keying a frame early would double the keyframes, the next frame
/// may come up to k_late_fraction of a frame interval past `interval_s`
/// before the current one is made a keyframe. Times are the JPEGs' arrival
/// times.
class KeyframeClock {
 public:
  /// Timer noise (seconds) allowed when predicting the next frame, so that a
  /// steady camera at exactly 2/interval fps gets a keyframe every other
  /// frame, not every frame.
  static constexpr double k_slack_s = 0.005;
  /// At camera rates of 4/interval fps or less: how late, as a fraction of a
  /// frame interval, the next frame may be against the interval.
  static constexpr double k_late_fraction = 0.25;
  /// How many mean deviations of the frame interval the next frame may come
  /// late by. Uniform jitter of ±J has a mean deviation of J/2, so 2 would
  /// just cover it if the running estimates were exact; they follow the
  /// last ten or so frames, and at 2 about one gap in 200 overran the
  /// interval at 5 fps with ±40 ms (the bench's 2.011 s, run D of
  /// docs/performance.md). At 4 none did in 80,000 simulated frames, for 2%
  /// more keyframes.
  static constexpr double k_jitter_factor = 4;

  KeyframeClock(double interval_s, double burst_s) : interval_s_(interval_s), burst_s_(burst_s) {}

  /// The next frame starts a new session.
  void begin_session() { session_start_.reset(); }
  /// Whether the frame arriving at `arrival` must be a keyframe.
  bool need_keyframe(Clock::time_point arrival) const;
  /// Records the frame at `arrival` as encoded, a keyframe or not.
  void encoded(Clock::time_point arrival, bool keyframe);
  /// The camera's mean frame interval so far, seconds; 0 before two frames.
  double mean_step_s() const { return mean_step_s_; }

 private:
  double interval_s_;
  double burst_s_;
  std::optional<Clock::time_point> session_start_;
  std::optional<Clock::time_point> last_keyframe_;
  std::optional<Clock::time_point> last_frame_;
  double mean_step_s_ = 0;  // the camera's mean frame interval, seconds (moving average)
  double step_deviation_s_ = 0;  // the mean distance of a frame interval from that mean, seconds
};

/// A FrameSink that takes whole JPEGs (post()) and passes their H.264 on to
/// `out`: each JPEG is decoded, converted and encoded (H264Encoder), then
/// muxed (Remuxer: MPEG-TS with the empty PES, or Annex-B), stamped with
/// its arrival time (the moment post() took it, on the monotonic clock).
///
/// - Never blocks the caller: at most one JPEG waits for the encoder
///   thread; a newer one replaces it and the older is counted as dropped
///   (StreamStatus::count_dropped). No queue grows.
/// - A JPEG that does not decode is skipped, counted (decode_failures) and
///   warned about at most every 10 s; last_good_unit() then stops advancing,
///   so the camera client's stall watchdog trips on a camera that sends
///   only such JPEGs.
/// - Keyframes follow KeyframeClock; a change of picture size reopens the
///   encoder, whose first unit is a keyframe; the MPEG-TS stream runs on.
/// - Between camera frames the newest picture is encoded again when
///   RepeatSchedule says (keyframes in the start-up burst, P-frames for
///   --output-fps), stamped with the time it is made and passed on with
///   FrameSink::post_repeat(). KeyframeClock sees camera frames only.
/// - Output PTS: a camera frame's is its JPEG's arrival, the first one's too
///   (0 for the first), so PTS steps are the camera's own.
/// - A mid-stream encoder failure is logged as an error and stops the
///   program with StopReason::encoder_failed (error() says why).
/// Heartbeat: format, codec, encoder name, frames encoded, encode time.
class EncodingSink final : public FrameSink {
 public:
  /// `format`: mpegts or h264. Creates the encoder and opens it for 1280x720
  /// pictures (throws EncoderUnavailable for a bad --encoder), then starts
  /// the thread (std::system_error). For mpegts, libav_format() loads
  /// meanwhile on a thread of its own, as the muxer needs it only at the
  /// first encoded frame (a libavformat that fails to load fails that frame
  /// as an encoder failure, with libav_format()'s reason).
  /// `out`, `status`, `log` and `stop` must outlive the sink. Needs libav().
  EncodingSink(const EncoderSettings& settings, OutputFormat format, bool empty_pes, FrameSink& out,
               StreamStatus& status, const Logger& log, StopFlag& stop);
  /// Calls finish().
  ~EncodingSink() override;
  EncodingSink(const EncodingSink&) = delete;
  EncodingSink& operator=(const EncodingSink&) = delete;

  using FrameSink::post;
  /// Takes one whole JPEG (`keyframe` is ignored: every JPEG is one).
  void post(std::vector<std::uint8_t> jpeg, bool keyframe) override;
  void begin_session() override;
  /// Nothing is repeated from now until the next session's first JPEG: the
  /// picture of a lost session is not shown as if it were live.
  void end_session() override;
  std::optional<Clock::time_point> last_good_unit() const override;

  /// Stops taking JPEGs, lets the one being encoded finish, and joins the
  /// thread; a JPEG still waiting is dropped. Idempotent.
  void finish();

  /// The reason of an encoder_failed stop, else empty.
  std::string error() const;

 private:
  struct Pending {
    std::vector<std::uint8_t> jpeg;
    Clock::time_point arrival;
    bool new_session = false;
    std::uint64_t sessions_ended = 0;  // end_session() calls before this JPEG was posted
  };
  void run();
  // Encodes and muxes one JPEG on the encoder thread; an undecodable one is
  // counted and skipped. Throws what the encoder or muxer throws.
  void encode(const Pending& frame, bool& remuxer_session_due);
  // Encodes the newest picture again now, as RepeatSchedule asked. Throws
  // what the encoder or muxer throws.
  void encode_repeat(bool keyframe);
  // The encoder's PTS (90 kHz ticks since the first JPEG) of a picture at
  // `at`: above the last one given, which a repeat may have taken.
  std::int64_t pts_at(Clock::time_point at);
  // Passes `units` to the Remuxer as made at `at`; true if one is a keyframe.
  bool mux_units(const std::vector<H264Encoder::Unit>& units, Clock::time_point at, bool repeat);

  const EncoderSettings settings_;
  const OutputFormat format_;
  FrameSink& out_;
  StreamStatus& status_;
  const Logger& log_;
  StopFlag& stop_;
  std::unique_ptr<H264Encoder> encoder_;
  std::unique_ptr<Remuxer> remuxer_;
  KeyframeClock keyframes_;
  RepeatSchedule repeats_;
  std::optional<Clock::time_point> first_arrival_;  // pts 0 for the encoder
  std::int64_t last_pts_ = -1;                      // the encoder's last PTS
  int width_ = 0, height_ = 0;                      // of the last picture, for the heartbeat
  Throttle decode_warning_{std::chrono::seconds(10)};  // JPEGs that did not decode

  Mailbox<Pending> pending_;  // the JPEG waiting for the encoder thread

  mutable std::mutex mutex_;
  bool session_starts_ = true;  // the next post() begins a session; guarded by mutex_
  std::uint64_t sessions_ended_ = 0;  // end_session() calls; guarded
  // On the encoder thread: sessions_ended of the newest JPEG taken. While
  // sessions_ended_ is past it, that JPEG's session is over: no repeats.
  std::uint64_t taken_sessions_ended_ = 0;
  std::optional<Clock::time_point> last_good_;  // guarded
  std::string error_;                            // guarded
  std::jthread format_loader_;  // loads libav_format(); joined at the latest on destruction
  std::thread thread_;  // last: started once everything else exists
};

}  // namespace bambu
