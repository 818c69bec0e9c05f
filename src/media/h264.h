// H.264 Annex-B helpers for the RTSPS remux: finding NAL units, keyframes
// and parameter sets, so that output starts at a keyframe and every IDR
// carries its SPS and PPS (go2rtc and late joiners need them in-band).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace bambu {

/// NAL unit types we act on (ITU-T H.264, table 7-1).
enum class NalType : std::uint8_t {
  slice = 1,  ///< a coded slice of a non-IDR picture
  idr = 5,    ///< a coded slice of an IDR picture: decoding can start here
  sei = 6,
  sps = 7,  ///< sequence parameter set
  pps = 8,  ///< picture parameter set
  aud = 9,  ///< access unit delimiter
};

/// One NAL unit inside an Annex-B buffer: `offset` and `size` (bytes) span
/// the NAL header byte and payload, without the start code; `type` is the
/// low 5 bits of the header byte.
struct NalUnit {
  std::size_t offset = 0;
  std::size_t size = 0;
  std::uint8_t type = 0;
};

/// Splits an Annex-B byte stream (NAL units each preceded by 00 00 01 or
/// 00 00 00 01) into its NAL units. Bytes before the first start code are
/// ignored; empty units are skipped. Trailing zero bytes of a unit (the
/// 4-byte form of the next start code) are not part of it.
std::vector<NalUnit> split_annexb(std::span<const std::uint8_t> data);

/// Appends 00 00 00 01 and `nal` to `out`.
void append_nal(std::vector<std::uint8_t>& out, std::span<const std::uint8_t> nal);

/// One access unit ready for output.
struct AccessUnit {
  std::vector<std::uint8_t> bytes;  ///< Annex-B
  bool keyframe = false;            ///< has an IDR slice and, in `bytes`, an SPS and a PPS before it
};

/// Tracks the stream's latest SPS and PPS (from the SDP's
/// sprop-parameter-sets via the demuxer's extradata, and from in-band
/// units) and puts them in front of every IDR that lacks them.
class ParameterSets {
 public:
  /// Learns SPS/PPS from Annex-B `extradata` (what libavformat's RTSP
  /// demuxer makes of sprop-parameter-sets). Other bytes are ignored.
  void learn(std::span<const std::uint8_t> extradata);
  /// True once an SPS and a PPS are known.
  bool known() const { return !sps_.empty() && !pps_.empty(); }

  /// Learns any SPS/PPS inside Annex-B access unit `au` and returns it for
  /// output. An access unit with an IDR slice becomes a keyframe that starts
  /// with its SPS and PPS (its own, else the last known ones), followed by
  /// its other units except the access unit delimiter, each with a 4-byte
  /// start code. If no SPS and PPS are known yet, or the unit has no IDR
  /// slice, it is returned unchanged with keyframe = false.
  AccessUnit prepare(std::span<const std::uint8_t> au);

 private:
  std::vector<std::uint8_t> sps_;  // NAL header + payload, no start code
  std::vector<std::uint8_t> pps_;
};

}  // namespace bambu
