// The empty PES: one MPEG-TS packet written after each H.264 access unit so
// that go2rtc passes that unit on at once instead of one frame late.
//
// go2rtc's MPEG-TS reader (pkg/mpegts/demuxer.go, 1.9.x) completes a PES
// whose length field is 0 (FFmpeg's choice for video, and the only one for
// a PES over 65,535 bytes, as a 1280x720 keyframe is) only when the next PES
// on that PID begins. A packet that begins a PES with no payload is that
// beginning; go2rtc never emits the empty PES itself, and ffprobe reads such
// a stream without a warning (../shared/docs/go2rtc-contract.md).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace bambu {

/// MPEG-TS packet size, bytes (ISO/IEC 13818-1, 2.4.3.2).
inline constexpr std::size_t k_ts_packet_size = 188;

/// The packet that releases the PES before it on `pid` (13 bits): PUSI set,
/// continuity counter `cc` (0..15), an adaptation field of stuffing, then a
/// 9-byte PES header (stream id E0, PES_packet_length 3, flags 80 00,
/// header length 0) and no payload.
std::array<std::uint8_t, k_ts_packet_size> empty_pes_packet(unsigned pid, unsigned cc);

/// Keeps the continuity counters of one PID in sequence while empty PES
/// packets are added on it. The muxer numbers its own packets and knows
/// nothing of ours, so every packet on the PID is renumbered: a packet with
/// a payload takes the next counter, one with only an adaptation field
/// (a PCR) repeats the last, as 13818-1 2.4.3.3 requires. The first packet
/// with a payload gets 0, as libavformat's muxer does.
class EmptyPesWriter {
 public:
  /// `pid`: the video PID; `enabled`: false only renumbers (a no-op on the
  /// muxer's own sequence), for the benchmark without the empty PES.
  EmptyPesWriter(unsigned pid, bool enabled) : pid_(pid), enabled_(enabled) {}

  /// `ts`: whole 188-byte packets holding one access unit (a trailing
  /// partial packet is left as it is). Renumbers the PID's counters and, if
  /// enabled, appends the empty PES packet.
  void apply(std::vector<std::uint8_t>& ts);

 private:
  unsigned pid_;
  bool enabled_;
  unsigned cc_ = 15;  // the last counter used; 15 so that the first is 0
};

}  // namespace bambu
