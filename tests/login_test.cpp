// The 80-byte login packet, checked byte by byte against the table in
// ../shared/docs/port6000-protocol.md ("Login packet").
#include <catch2/catch.hpp>

#include "protocol/login.h"
#include "protocol/models.h"

using namespace bambu;

TEST_CASE("the login packet matches the documented layout byte for byte") {
  auto packet = make_login_packet("12345678");
  REQUIRE(packet);
  LoginPacket expected{};
  const std::uint8_t head[16] = {0x40, 0, 0, 0, 0x00, 0x30, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  std::copy(std::begin(head), std::end(head), expected.begin());
  const char user[] = "bblp";
  std::copy(user, user + 4, expected.begin() + 16);
  const char code[] = "12345678";
  std::copy(code, code + 8, expected.begin() + 48);
  CHECK(*packet == expected);
}

TEST_CASE("login packets round-trip through the simulator's reader") {
  auto packet = make_login_packet("abcdefghijklmnopqrstuvwxyz012345");  // 32: the field's full width
  REQUIRE(packet);
  Login login = parse_login_packet(*packet);
  CHECK(login.payload_size == 0x40);
  CHECK(login.type == 0x3000);
  CHECK(login.user == "bblp");
  CHECK(login.access_code == "abcdefghijklmnopqrstuvwxyz012345");
}

TEST_CASE("access codes that cannot fit the packet are refused") {
  CHECK_FALSE(make_login_packet(""));
  CHECK_FALSE(make_login_packet(std::string(33, 'a')));
  CHECK_FALSE(make_login_packet(std::string("abc\0def", 7)));
}

TEST_CASE("serial prefixes pick the camera protocol") {
  CHECK(model_for_serial("01P00A000000001")->protocol == CameraProtocol::jpeg);
  CHECK(model_for_serial("01P00A000000001")->name == "P1S");
  CHECK(model_for_serial("01S00C000000000")->name == "P1P");
  CHECK(model_for_serial("0390000000")->name == "A1");
  CHECK(model_for_serial("030xxxx")->name == "A1 mini");
  CHECK(model_for_serial("00M00A000000000")->protocol == CameraProtocol::rtsps);
  CHECK(model_for_serial("00m00a000000000")->protocol == CameraProtocol::rtsps);  // typed in lower case
  CHECK(model_for_serial("22E")->name == "P2S");
  CHECK(model_for_serial("31B123")->name == "H2C");
  CHECK_FALSE(model_for_serial("ZZZ123"));
  CHECK_FALSE(model_for_serial("01"));
  CHECK_FALSE(model_for_serial(""));
}
