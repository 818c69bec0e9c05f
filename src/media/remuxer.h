// Remuxer: H.264 access units (the RTSPS camera's, or our encoder's) to
// MPEG-TS or Annex-B on stdout, continuous across reconnects.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "core/log.h"
#include "media/empty_pes.h"
#include "media/h264.h"
#include "media/output_format.h"
#include "media/timeline.h"
#include "pipeline/frame_sink.h"

extern "C" {
#include <libavutil/rational.h>
}

struct AVCodecParameters;
struct AVPacket;

namespace bambu {

/// Turns the demuxed H.264 access units of successive RTSP sessions into
/// one continuous output stream, one FrameSink unit per access unit.
///
/// - Output begins at the first keyframe (an IDR with SPS and PPS); the
///   packets before it are dropped, as are those of a new session until its
///   first keyframe. Every IDR carries SPS and PPS (ParameterSets).
/// - mpegts: one MPEG-TS stream (libavformat's mpegts muxer; PAT and PMT
///   first, then again every 0.1 s; no SDT; video on PID 0x100) kept open
///   across sessions, so the continuity counters and the timeline (Timeline)
///   run on. Each unit is a whole number of 188-byte packets, ending with
///   the empty PES that makes go2rtc pass it on at once (media/empty_pes.h).
/// - h264: the Annex-B access units, byte for byte apart from inserted SPS/PPS.
/// Not thread-safe: the session thread drives it.
class Remuxer {
 public:
  /// The MPEG-TS PID of the video.
  static constexpr unsigned k_video_pid = 0x100;

  /// `format` must be mpegts or h264 (else std::invalid_argument).
  /// `wallclock_timestamps`: stamp units on arrival, not by their source
  /// timestamps. `empty_pes`: write the empty PES after each unit (mpegts).
  /// Needs libav() loaded.
  Remuxer(OutputFormat format, bool wallclock_timestamps, bool empty_pes, FrameSink& sink, const Logger& log);
  ~Remuxer();
  Remuxer(const Remuxer&) = delete;
  Remuxer& operator=(const Remuxer&) = delete;

  /// A new session's video stream: learns its SPS/PPS (`parameters`'
  /// extradata) and waits for its first keyframe. `time_base` is the
  /// stream's (seconds per tick of packet timestamps). `parameters` must
  /// stay valid until the next begin_session() or the Remuxer's end (it is
  /// the input stream's own; the muxer copies it at the first keyframe).
  void begin_session(const AVCodecParameters& parameters, AVRational time_base);

  /// Remuxes one packet of the video stream, arrived at `arrival`. Returns
  /// true if it was posted to the sink (false while waiting for a keyframe).
  /// Throws std::runtime_error if the muxer fails (a bug or no memory).
  bool add(const AVPacket& packet, Clock::time_point arrival);

  /// The same for one Annex-B access unit `au` whose source timestamp is
  /// `source_ticks` (90 kHz; nullopt: none, stamp it on arrival). `repeat`:
  /// it shows the newest picture again, so it goes to the sink's
  /// post_repeat() (FrameSink), not post().
  bool add(std::span<const std::uint8_t> au, std::optional<std::int64_t> source_ticks, Clock::time_point arrival,
           bool repeat = false);

  /// Called on the session thread, before it is muxed, with every keyframe
  /// that is posted: Annex-B, SPS and PPS first (--snapshot of the RTSPS
  /// source). The bytes are valid during the call only. nullptr: none.
  void set_keyframe_tap(std::function<void(std::span<const std::uint8_t>)> tap) { keyframe_tap_ = std::move(tap); }

 private:
  void open_mpegts();
  std::vector<std::uint8_t> mux(const AccessUnit& au, std::int64_t pts);
  // To the sink's post(), or post_repeat() for a repeat.
  void post(std::vector<std::uint8_t> unit, bool keyframe, bool repeat);

  const OutputFormat format_;
  FrameSink& sink_;
  const Logger& log_;
  ParameterSets parameter_sets_;
  Timeline timeline_;
  bool waiting_for_keyframe_ = true;
  std::int64_t time_base_num_ = 1, time_base_den_ = 90000;
  const AVCodecParameters* parameters_ = nullptr;  // the session's input stream's; valid during it
  bool frozen_warned_ = false;
  EmptyPesWriter empty_pes_;
  struct Muxer;
  std::unique_ptr<Muxer> muxer_;  // mpegts, opened at the first keyframe
  std::function<void(std::span<const std::uint8_t>)> keyframe_tap_;
};

}  // namespace bambu
