// H.264 Annex-B handling for the RTSPS remux: NAL splitting, and keyframes
// that always start with their SPS and PPS.
#include <catch2/catch.hpp>

#include "media/h264.h"

using namespace bambu;
using Bytes = std::vector<std::uint8_t>;

namespace {

// Fake NAL units: header byte (nal_ref_idc 3, type) and a payload.
const Bytes k_sps{0x67, 0x42, 0xC0, 0x1E, 0xAB};
const Bytes k_pps{0x68, 0xCE, 0x3C, 0x80};
const Bytes k_sps2{0x67, 0x42, 0xC0, 0x1F, 0xCD};
const Bytes k_aud{0x09, 0x10};
const Bytes k_sei{0x06, 0x05, 0x01, 0x02, 0x80};
const Bytes k_idr{0x65, 0x88, 0x84, 0x00, 0x33, 0x21};
const Bytes k_slice{0x41, 0x9A, 0x02, 0x05};

Bytes annexb(std::initializer_list<Bytes> units) {
  Bytes out;
  for (const Bytes& u : units) append_nal(out, u);
  return out;
}

}  // namespace

TEST_CASE("split_annexb finds each unit after 3- and 4-byte start codes, without trailing zeros") {
  Bytes data{0xFF, 0x00,                    // garbage before the first start code
             0x00, 0x00, 0x01, 0x67, 0x42,  // 3-byte start code
             0x00, 0x00, 0x00, 0x01, 0x68, 0xCE, 0x00,  // 4-byte, then a trailing zero
             0x00, 0x00, 0x01, 0x65, 0x88, 0x84};
  auto units = split_annexb(data);
  REQUIRE(units.size() == 3);
  CHECK(units[0].offset == 5);
  CHECK(units[0].size == 2);
  CHECK(units[0].type == 7);
  CHECK(units[1].offset == 11);
  CHECK(units[1].size == 2);
  CHECK(units[1].type == 8);
  CHECK(units[2].offset == 17);
  CHECK(units[2].size == 3);
  CHECK(units[2].type == 5);
  CHECK(split_annexb(Bytes{}).empty());
  CHECK(split_annexb(Bytes{0x00, 0x00, 0x01}).empty());  // a start code and nothing else
  CHECK(split_annexb(Bytes{0x01, 0x02, 0x03, 0x04}).empty());
}

TEST_CASE("an IDR without parameter sets gets the SDP's SPS and PPS in front, byte-exact") {
  ParameterSets ps;
  CHECK_FALSE(ps.known());
  ps.learn(annexb({k_sps, k_pps}));  // what the RTSP demuxer makes of sprop-parameter-sets
  CHECK(ps.known());
  AccessUnit au = ps.prepare(annexb({k_aud, k_sei, k_idr}));
  CHECK(au.keyframe);
  CHECK(au.bytes == annexb({k_sps, k_pps, k_sei, k_idr}));  // SPS first; the AUD is left out
}

TEST_CASE("an IDR that carries its own SPS and PPS keeps them, in front, and they become the known ones") {
  ParameterSets ps;
  ps.learn(annexb({k_sps, k_pps}));
  AccessUnit au = ps.prepare(annexb({k_aud, k_sps2, k_pps, k_idr}));
  CHECK(au.keyframe);
  CHECK(au.bytes == annexb({k_sps2, k_pps, k_idr}));
  // A later bare IDR gets the newer SPS (a resolution change after reconnect).
  CHECK(ps.prepare(annexb({k_idr})).bytes == annexb({k_sps2, k_pps, k_idr}));
}

TEST_CASE("non-IDR units pass unchanged, and an IDR is no keyframe while no SPS and PPS are known") {
  ParameterSets ps;
  const Bytes p_frame = annexb({k_aud, k_slice});
  AccessUnit p = ps.prepare(p_frame);
  CHECK_FALSE(p.keyframe);
  CHECK(p.bytes == p_frame);
  const Bytes bare_idr = annexb({k_idr});
  AccessUnit i = ps.prepare(bare_idr);
  CHECK_FALSE(i.keyframe);
  CHECK(i.bytes == bare_idr);
  // Only an SPS known: still not decodable.
  ps.learn(annexb({k_sps}));
  CHECK_FALSE(ps.prepare(bare_idr).keyframe);
  // An IDR with both in-band is a keyframe even with nothing learned before.
  ParameterSets fresh;
  CHECK(fresh.prepare(annexb({k_sps, k_pps, k_idr})).keyframe);
}
