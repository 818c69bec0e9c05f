// The 80-byte login packet that starts a port-6000 camera session.
//
// Layout (../shared/docs/port6000-protocol.md, "Login packet"), little-endian:
//   0-3   u32 0x40: bytes after the 16-byte header
//   4-7   u32 0x3000: packet type "start video stream"
//   8-15  two u32 zeros (flags, reserved)
//   16-47 user name "bblp", NUL-padded to 32 bytes
//   48-79 access code, NUL-padded to 32 bytes
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace bambu {

/// Bytes in a login packet.
inline constexpr std::size_t k_login_packet_size = 80;
/// Its first field: bytes after the 16-byte header.
inline constexpr std::uint32_t k_login_payload_size = 0x40;
/// Its second field: packet type "start video stream".
inline constexpr std::uint32_t k_login_type_start_video = 0x3000;
/// The user name every printer expects on the LAN.
inline constexpr std::string_view k_login_user = "bblp";
/// Longest access code the packet can carry, in bytes (its field is 32 bytes).
inline constexpr std::size_t k_max_access_code_size = 32;

/// One login packet, exactly as sent.
using LoginPacket = std::array<std::uint8_t, k_login_packet_size>;

/// Builds the login packet for `access_code`. Returns nullopt if the code is
/// empty, longer than k_max_access_code_size bytes, or contains a NUL byte
/// (it could not be represented in the NUL-padded field).
std::optional<LoginPacket> make_login_packet(std::string_view access_code);

/// What a login packet says, as read by the simulator.
struct Login {
  std::uint32_t payload_size = 0;
  std::uint32_t type = 0;
  std::string user;         ///< NUL padding removed
  std::string access_code;  ///< NUL padding removed
};

/// Reads a login packet. Never fails: fields are returned as found, and the
/// caller decides whether the size, type, user and code are acceptable.
Login parse_login_packet(std::span<const std::uint8_t, k_login_packet_size> packet);

}  // namespace bambu
