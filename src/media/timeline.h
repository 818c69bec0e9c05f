// Timeline: the output timestamps of the RTSPS remux, rebased so that they
// start near 0 and stay monotonic and continuous across reconnects.
#pragma once

#include <cstdint>
#include <optional>

#include "core/stop_flag.h"

namespace bambu {

/// Turns each packet's source timestamp (or its arrival time) into an
/// output timestamp in 90 kHz ticks (MPEG-TS's clock).
///
/// - The first packet ever is 0.
/// - Within a session, output = session base + (source - session's first
///   source). Packets without a source timestamp (libavformat's RTSP demuxer
///   gives none for the very first) are stamped by arrival time; the first
///   one with a source timestamp then continues one frame interval later.
/// - A new session (begin_session()) continues one frame interval after the
///   last output timestamp, however long the reconnect took: the timeline
///   has no gaps and no steps back.
/// - A source timestamp that steps back or jumps ahead by more than 10 s
///   starts a new base, like a new session.
/// - Output never goes back: a timestamp not above the last becomes last + 1.
/// - In wallclock mode, or once the source timestamps stopped advancing
///   (3 packets in a row with the same one: firmware such as P2S 01.02.00.00,
///   ../shared/docs/rtsps.md), the arrival time is used instead.
class Timeline {
 public:
  /// 90 kHz: MPEG-TS's presentation clock.
  static constexpr std::int64_t k_ticks_per_second = 90000;

  /// 90 kHz ticks from `from` to `to` (whole microseconds, truncated).
  static std::int64_t ticks_between(Clock::time_point from, Clock::time_point to) {
    return std::chrono::duration_cast<std::chrono::microseconds>(to - from).count() * k_ticks_per_second / 1'000'000;
  }

  /// `wallclock`: stamp every packet on arrival (--wallclock-timestamps).
  explicit Timeline(bool wallclock) : wallclock_(wallclock) {}

  /// The next packet starts a new session (after a reconnect).
  void begin_session();

  /// The output timestamp (90 kHz ticks) of a packet with source timestamp
  /// `source_ticks` (90 kHz; nullopt if it had none) that arrived at `arrival`.
  std::int64_t stamp(std::optional<std::int64_t> source_ticks, Clock::time_point arrival);

  /// True once the source timestamps were found not to advance in this session.
  bool frozen() const { return frozen_; }

 private:
  void rebase(std::optional<std::int64_t> source_ticks, Clock::time_point arrival);

  const bool wallclock_;
  bool any_ = false;            // a packet was stamped
  bool session_started_ = false;
  bool frozen_ = false;
  int repeats_ = 0;             // source timestamps equal to the previous one, in a row
  std::int64_t last_ = 0;       // last output timestamp
  std::int64_t step_ = k_ticks_per_second / 30;  // last frame interval seen
  std::int64_t base_ = 0;       // output timestamp of the base packet
  std::optional<std::int64_t> base_source_;  // its source timestamp
  Clock::time_point base_arrival_{};        // its arrival
  std::optional<std::int64_t> last_source_;
};

}  // namespace bambu
