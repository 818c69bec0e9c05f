#include "protocol/login.h"

#include <algorithm>

#include "protocol/frame_parser.h"

namespace bambu {

namespace {
constexpr std::size_t k_user_offset = 16;
constexpr std::size_t k_code_offset = 48;
constexpr std::size_t k_field_size = 32;

std::string read_padded(const std::uint8_t* field) {
  const std::uint8_t* end = std::find(field, field + k_field_size, std::uint8_t{0});
  return std::string(field, end);
}
}  // namespace

std::optional<LoginPacket> make_login_packet(std::string_view access_code) {
  if (access_code.empty() || access_code.size() > k_max_access_code_size ||
      access_code.find('\0') != std::string_view::npos) {
    return std::nullopt;
  }
  LoginPacket packet{};
  write_u32_le(packet.data(), k_login_payload_size);
  write_u32_le(packet.data() + 4, k_login_type_start_video);
  std::copy(k_login_user.begin(), k_login_user.end(), packet.begin() + k_user_offset);
  std::copy(access_code.begin(), access_code.end(), packet.begin() + k_code_offset);
  return packet;
}

Login parse_login_packet(std::span<const std::uint8_t, k_login_packet_size> packet) {
  Login login;
  login.payload_size = read_u32_le(packet.data());
  login.type = read_u32_le(packet.data() + 4);
  login.user = read_padded(packet.data() + k_user_offset);
  login.access_code = read_padded(packet.data() + k_code_offset);
  return login;
}

}  // namespace bambu
