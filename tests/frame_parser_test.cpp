// Port-6000 frame parser on byte vectors. The layout is from
// ../shared/docs/port6000-protocol.md ("Frame"); no capture of a real printer
// exists, so the vectors are built from that table.
#include <catch2/catch.hpp>

#include "protocol/frame_parser.h"
#include "protocol/jpeg.h"
#include "support/frames.h"

using namespace bambu;
using bambu::test::fake_jpeg;
using bambu::test::wire_frame;
using Status = FrameParser::Status;

namespace {

// Feeds `bytes` in pieces of `chunk` bytes; returns every frame completed.
std::vector<std::vector<std::uint8_t>> feed_in_chunks(FrameParser& parser, std::span<const std::uint8_t> bytes,
                                                      std::size_t chunk) {
  std::vector<std::vector<std::uint8_t>> frames;
  std::size_t pos = 0;
  while (pos < bytes.size()) {
    auto piece = bytes.subspan(pos, std::min(chunk, bytes.size() - pos));
    std::size_t used = 0;
    while (used < piece.size()) {
      auto r = parser.feed(piece.subspan(used));
      used += r.consumed;
      if (r.status == Status::frame) frames.push_back(parser.take_frame());
      REQUIRE(r.status != Status::corrupt);
    }
    pos += piece.size();
  }
  return frames;
}

}  // namespace

TEST_CASE("a header decodes all four little-endian fields") {
  const std::uint8_t bytes[16] = {0x30, 0x75, 0x00, 0x00, 2, 0, 0, 0, 1, 0, 0, 0, 0xEF, 0xBE, 0xAD, 0xDE};
  FrameHeader h = decode_frame_header(bytes);
  CHECK(h.size == 30000);
  CHECK(h.itrack == 2);
  CHECK(h.flags == 1);
  CHECK(h.reserved == 0xDEADBEEF);

  std::uint8_t out[16] = {};
  encode_frame_header(h, out);
  CHECK(std::equal(std::begin(out), std::end(out), std::begin(bytes)));
}

TEST_CASE("the size field uses all four bytes, not three") {
  // 0x01000010 = 16 MiB + 16: a three-byte reader would see 16.
  const std::uint8_t bytes[16] = {0x10, 0x00, 0x00, 0x01, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0};
  CHECK(decode_frame_header(bytes).size == 0x01000010u);
  FrameParser parser;
  CHECK(parser.feed(bytes).status == Status::corrupt);
}

TEST_CASE("one frame is reassembled byte-exact at every split point") {
  const auto jpeg = fake_jpeg(300);
  const auto wire = wire_frame(jpeg);
  for (std::size_t split = 0; split <= wire.size(); ++split) {
    FrameParser parser;
    auto first = parser.feed(std::span(wire).first(split));
    CHECK(first.consumed == split);
    if (split < wire.size()) {
      REQUIRE(first.status == Status::need_more);
      CHECK(parser.buffered() == split);
      auto second = parser.feed(std::span(wire).subspan(split));
      CHECK(second.consumed == wire.size() - split);
      REQUIRE(second.status == Status::frame);
    } else {
      REQUIRE(first.status == Status::frame);
    }
    CHECK(parser.header().size == 300);
    CHECK(parser.take_frame() == jpeg);
    CHECK(parser.status() == Status::need_more);
    CHECK(parser.buffered() == 0);
  }
}

TEST_CASE("frames fed one byte at a time come out whole and in order") {
  const auto a = fake_jpeg(100, 1), b = fake_jpeg(257, 2), c = fake_jpeg(4, 3);
  std::vector<std::uint8_t> wire;
  for (const auto* f : {&a, &b, &c}) {
    auto w = wire_frame(*f);
    wire.insert(wire.end(), w.begin(), w.end());
  }
  FrameParser parser;
  auto frames = feed_in_chunks(parser, wire, 1);
  REQUIRE(frames.size() == 3);
  CHECK(frames[0] == a);
  CHECK(frames[1] == b);
  CHECK(frames[2] == c);
  for (std::size_t chunk : {2, 3, 15, 16, 17, 100, 4096}) {
    FrameParser p;
    CHECK(feed_in_chunks(p, wire, chunk) == std::vector{a, b, c});
  }
}

TEST_CASE("two frames in one buffer: feed stops at the end of the first") {
  const auto a = fake_jpeg(50, 1), b = fake_jpeg(60, 2);
  auto wire = wire_frame(a);
  auto wb = wire_frame(b);
  wire.insert(wire.end(), wb.begin(), wb.end());

  FrameParser parser;
  auto r1 = parser.feed(wire);
  REQUIRE(r1.status == Status::frame);
  CHECK(r1.consumed == 16 + 50);
  CHECK(parser.take_frame() == a);
  auto r2 = parser.feed(std::span(wire).subspan(r1.consumed));
  REQUIRE(r2.status == Status::frame);
  CHECK(r2.consumed == 16 + 60);
  CHECK(parser.take_frame() == b);
}

TEST_CASE("window() asks for exactly the rest of the current part") {
  const auto jpeg = fake_jpeg(40);
  const auto wire = wire_frame(jpeg);
  FrameParser parser;
  CHECK(parser.window().size() == 16);
  std::copy_n(wire.begin(), 10, parser.window().begin());
  CHECK(parser.commit(10) == Status::need_more);
  CHECK(parser.window().size() == 6);
  std::copy_n(wire.begin() + 10, 6, parser.window().begin());
  CHECK(parser.commit(6) == Status::need_more);
  REQUIRE(parser.window().size() == 40);
  std::copy_n(wire.begin() + 16, 40, parser.window().begin());
  CHECK(parser.commit(40) == Status::frame);
  CHECK(parser.window().empty());
  CHECK(parser.take_frame() == jpeg);
}

TEST_CASE("a size over the cap is corrupt, is not allocated, and sticks until reset") {
  const auto too_big = k_max_frame_size + 1;
  const auto wire = wire_frame(fake_jpeg(8), too_big);
  FrameParser parser;
  auto r = parser.feed(wire);
  CHECK(r.status == Status::corrupt);
  CHECK(r.consumed == 16);  // stops right after the header: nothing of the payload is taken
  CHECK(parser.header().size == too_big);
  CHECK(parser.window().empty());  // no buffer was sized from the hostile field
  CHECK(parser.buffered() == 16);
  CHECK(parser.feed(wire).status == Status::corrupt);
  CHECK(parser.feed(wire).consumed == 0);
  CHECK(parser.take_frame().empty());

  parser.reset();
  const auto good = fake_jpeg(20);
  auto ok = parser.feed(wire_frame(good));
  REQUIRE(ok.status == Status::frame);
  CHECK(parser.take_frame() == good);
}

TEST_CASE("a size of exactly the cap is accepted") {
  FrameParser parser;
  std::uint8_t header[16] = {};
  encode_frame_header(FrameHeader{k_max_frame_size, 0, 1, 0}, header);
  CHECK(parser.feed(header).status == Status::need_more);
  CHECK(parser.window().size() == k_max_frame_size);
}

TEST_CASE("0xFFFFFFFF size is corrupt") {
  FrameParser parser;
  std::uint8_t header[16] = {0xFF, 0xFF, 0xFF, 0xFF};
  CHECK(parser.feed(header).status == Status::corrupt);
}

TEST_CASE("a zero-size frame completes at once with an empty payload") {
  FrameParser parser;
  auto r = parser.feed(wire_frame(std::vector<std::uint8_t>{}));
  CHECK(r.status == Status::frame);
  CHECK(parser.take_frame().empty());
  CHECK_FALSE(is_whole_jpeg({}));
}

TEST_CASE("reset drops a partial frame") {
  const auto jpeg = fake_jpeg(100);
  const auto wire = wire_frame(jpeg);
  FrameParser parser;
  parser.feed(std::span(wire).first(70));
  CHECK(parser.buffered() == 70);
  parser.reset();
  CHECK(parser.buffered() == 0);
  auto r = parser.feed(wire);
  REQUIRE(r.status == Status::frame);
  CHECK(parser.take_frame() == jpeg);
}

TEST_CASE("non-JPEG payloads parse as frames but fail the JPEG check") {
  std::vector<std::uint8_t> text = {'h', 'e', 'l', 'l', 'o', '!'};
  FrameParser parser;
  REQUIRE(parser.feed(wire_frame(text)).status == Status::frame);
  auto payload = parser.take_frame();
  CHECK(payload == text);
  CHECK_FALSE(is_whole_jpeg(payload));

  auto jpeg = fake_jpeg(10);
  CHECK(is_whole_jpeg(jpeg));
  auto truncated = std::vector(jpeg.begin(), jpeg.end() - 1);
  CHECK_FALSE(is_whole_jpeg(truncated));
  auto no_soi = jpeg;
  no_soi[1] = 0xD9;
  CHECK_FALSE(is_whole_jpeg(no_soi));
  CHECK_FALSE(is_whole_jpeg(std::vector<std::uint8_t>{0xFF, 0xD8, 0xD9}));
  CHECK(is_whole_jpeg(std::vector<std::uint8_t>{0xFF, 0xD8, 0xFF, 0xD9}));
}
