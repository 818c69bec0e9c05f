// Recognising Bambu's file-transfer tunnel, which answers on port 6000 of
// the printers whose camera is RTSPS (X1, P2S, H2, X2D). Pure: no I/O.
//
// Source: ../shared/docs/port6000-protocol.md ("Port 6000 on the RTSPS models
// is not a camera"), from ClusterM/open-bambu-networking NETWORK_PLUGIN.md
// sections 6.14 and 7.5 and ha-bambulab media_sources.py. The tunnel frames
// carry a 16-byte little-endian header {u32 payload length, u32 magic, u32
// sequence, u32 0}; its magics all end in 0x013F: 0x0101013F (client login),
// 0x0001013F (its answer), 0x0102013F / 0x0002013F (JSON control). The
// camera's header has 0 in that word (itrack), so the two cannot be confused.
#pragma once

#include <cstdint>

#include "protocol/frame_parser.h"

namespace bambu {

/// The low 16 bits every file-tunnel magic shares.
inline constexpr std::uint32_t k_file_tunnel_magic_low = 0x013F;
/// The tunnel's answer to a login (sent by the simulator's `tunnel` fault).
inline constexpr std::uint32_t k_file_tunnel_login_reply = 0x0001013F;

/// True if `header` (the first 16 bytes the printer sent, decoded as a
/// camera frame header) is a file-tunnel frame: its second word, the
/// camera's itrack, ends in 0x013F.
constexpr bool is_file_tunnel_header(const FrameHeader& header) {
  return (header.itrack & 0xFFFFu) == k_file_tunnel_magic_low;
}

}  // namespace bambu
