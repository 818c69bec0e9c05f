#include "media/h264.h"

namespace bambu {

namespace {

// Start code found at `i` (00 00 01): its length is 3.
bool start_code_at(std::span<const std::uint8_t> d, std::size_t i) {
  return i + 2 < d.size() && d[i] == 0 && d[i + 1] == 0 && d[i + 2] == 1;
}

NalType type_of(std::uint8_t header) { return static_cast<NalType>(header & 0x1F); }

}  // namespace

std::vector<NalUnit> split_annexb(std::span<const std::uint8_t> data) {
  std::vector<NalUnit> units;
  std::size_t begin = 0;  // start of the current unit's header byte; 0 = none yet
  bool in_unit = false;
  auto close_unit = [&](std::size_t end) {
    // A 4-byte start code's leading zero (and trailing_zero_8bits) is not payload.
    while (end > begin && data[end - 1] == 0) --end;
    if (end > begin) units.push_back({begin, end - begin, static_cast<std::uint8_t>(data[begin] & 0x1F)});
  };
  for (std::size_t i = 0; i + 2 < data.size();) {
    if (start_code_at(data, i)) {
      if (in_unit) close_unit(i);
      begin = i + 3;
      in_unit = true;
      i += 3;
    } else {
      // Skip ahead fast: a start code needs two zero bytes before its 01.
      i += data[i + 2] > 1 ? 3 : 1;
    }
  }
  if (in_unit) close_unit(data.size());
  return units;
}

void append_nal(std::vector<std::uint8_t>& out, std::span<const std::uint8_t> nal) {
  static constexpr std::uint8_t k_start[] = {0, 0, 0, 1};
  out.insert(out.end(), std::begin(k_start), std::end(k_start));
  out.insert(out.end(), nal.begin(), nal.end());
}

void ParameterSets::learn(std::span<const std::uint8_t> extradata) {
  for (const NalUnit& u : split_annexb(extradata)) {
    auto nal = extradata.subspan(u.offset, u.size);
    if (type_of(u.type) == NalType::sps) sps_.assign(nal.begin(), nal.end());
    if (type_of(u.type) == NalType::pps) pps_.assign(nal.begin(), nal.end());
  }
}

AccessUnit ParameterSets::prepare(std::span<const std::uint8_t> au) {
  AccessUnit out;
  const std::vector<NalUnit> units = split_annexb(au);
  bool has_sps = false, has_pps = false, has_idr = false;
  for (const NalUnit& u : units) {
    auto nal = au.subspan(u.offset, u.size);
    switch (type_of(u.type)) {
      case NalType::sps: sps_.assign(nal.begin(), nal.end()); has_sps = true; break;
      case NalType::pps: pps_.assign(nal.begin(), nal.end()); has_pps = true; break;
      case NalType::idr: has_idr = true; break;
      default: break;
    }
  }
  if (!has_idr || !known()) {
    // Not a keyframe, or an IDR nobody can decode yet: not a place to start.
    out.bytes.assign(au.begin(), au.end());
    return out;
  }
  // A keyframe always reads: SPS, PPS (the unit's own, else the last
  // known), then its other units in order. The access unit delimiter is
  // left out (it is optional, and the MPEG-TS muxer writes its own), so
  // that the unit starts with the SPS, as go2rtc and late joiners expect.
  out.bytes.reserve(au.size() + sps_.size() + pps_.size() + 8);
  auto append_all = [&](NalType type) {
    for (const NalUnit& u : units) {
      if (type_of(u.type) == type) append_nal(out.bytes, au.subspan(u.offset, u.size));
    }
  };
  if (has_sps) append_all(NalType::sps); else append_nal(out.bytes, sps_);
  if (has_pps) append_all(NalType::pps); else append_nal(out.bytes, pps_);
  for (const NalUnit& u : units) {
    const NalType type = type_of(u.type);
    if (type != NalType::sps && type != NalType::pps && type != NalType::aud) {
      append_nal(out.bytes, au.subspan(u.offset, u.size));
    }
  }
  out.keyframe = true;
  return out;
}

}  // namespace bambu
