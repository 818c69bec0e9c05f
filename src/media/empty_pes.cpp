#include "media/empty_pes.h"

#include <algorithm>

namespace bambu {

namespace {

// The PES header: start code prefix, stream id E0 (video), PES_packet_length
// 3 (the three bytes that follow), '10' marker bits with no flags, no
// optional fields (ISO/IEC 13818-1, 2.4.3.6).
constexpr std::array<std::uint8_t, 9> k_empty_pes_header = {0x00, 0x00, 0x01, 0xE0, 0x00, 0x03, 0x80, 0x00, 0x00};
constexpr std::uint8_t k_sync_byte = 0x47;
constexpr std::uint8_t k_has_payload = 0x10;     // adaptation_field_control bit: a payload follows
constexpr std::uint8_t k_has_adaptation = 0x20;  // adaptation_field_control bit: an adaptation field

}  // namespace

std::array<std::uint8_t, k_ts_packet_size> empty_pes_packet(unsigned pid, unsigned cc) {
  std::array<std::uint8_t, k_ts_packet_size> p{};
  p[0] = k_sync_byte;
  p[1] = static_cast<std::uint8_t>(0x40 | ((pid >> 8) & 0x1F));  // payload_unit_start_indicator
  p[2] = static_cast<std::uint8_t>(pid & 0xFF);
  p[3] = static_cast<std::uint8_t>(k_has_adaptation | k_has_payload | (cc & 0x0F));
  // Adaptation field: its length, a flags byte of 0, then 0xFF stuffing up
  // to the PES header at the end of the packet.
  const std::size_t af_length = k_ts_packet_size - 4 - 1 - k_empty_pes_header.size();
  p[4] = static_cast<std::uint8_t>(af_length);
  p[5] = 0x00;
  std::fill(p.begin() + 6, p.end() - static_cast<std::ptrdiff_t>(k_empty_pes_header.size()), 0xFF);
  std::copy(k_empty_pes_header.begin(), k_empty_pes_header.end(),
            p.end() - static_cast<std::ptrdiff_t>(k_empty_pes_header.size()));
  return p;
}

void EmptyPesWriter::apply(std::vector<std::uint8_t>& ts) {
  for (std::size_t i = 0; i + k_ts_packet_size <= ts.size(); i += k_ts_packet_size) {
    std::uint8_t* p = ts.data() + i;
    if (p[0] != k_sync_byte || ((((p[1] & 0x1Fu) << 8) | p[2]) != pid_)) continue;
    if ((p[3] & k_has_payload) != 0) cc_ = (cc_ + 1) & 0x0F;
    p[3] = static_cast<std::uint8_t>((p[3] & 0xF0) | cc_);
  }
  if (!enabled_) return;
  cc_ = (cc_ + 1) & 0x0F;
  const auto packet = empty_pes_packet(pid_, cc_);
  ts.insert(ts.end(), packet.begin(), packet.end());
}

}  // namespace bambu
