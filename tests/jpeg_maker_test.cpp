#include "simulator/jpeg_maker.h"
#include "protocol/jpeg.h"
#include "support/jpeg_info.h"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavutil/frame.h>
}

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <stdexcept>
#include <vector>

namespace {

using bambu::JpegMaker;
using bambu::test::read_jpeg_info;
using bambu::test::split_jpegs;
using Bytes = std::vector<std::uint8_t>;

// A fixed instant (2024-05-06 07:08:09 UTC) keeps frames reproducible.
const std::chrono::system_clock::time_point kWhen{std::chrono::seconds{1714979289}};

Bytes concat(const std::vector<Bytes>& parts) {
  Bytes out;
  for (const Bytes& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

struct DecoderContextDeleter {
  void operator()(AVCodecContext* p) const { avcodec_free_context(&p); }
};
struct FrameDeleter {
  void operator()(AVFrame* p) const { av_frame_free(&p); }
};
struct PacketDeleter {
  void operator()(AVPacket* p) const { av_packet_free(&p); }
};
using FramePtr = std::unique_ptr<AVFrame, FrameDeleter>;

// Decodes one JPEG with libavcodec's MJPEG decoder; fails the test on error.
FramePtr decode(const Bytes& jpeg) {
  const AVCodec* codec = avcodec_find_decoder(AV_CODEC_ID_MJPEG);
  REQUIRE(codec != nullptr);
  std::unique_ptr<AVCodecContext, DecoderContextDeleter> ctx(avcodec_alloc_context3(codec));
  REQUIRE(ctx);
  REQUIRE(avcodec_open2(ctx.get(), codec, nullptr) == 0);
  std::unique_ptr<AVPacket, PacketDeleter> packet(av_packet_alloc());
  REQUIRE(packet);
  REQUIRE(av_new_packet(packet.get(), static_cast<int>(jpeg.size())) == 0);
  std::memcpy(packet->data, jpeg.data(), jpeg.size());
  REQUIRE(avcodec_send_packet(ctx.get(), packet.get()) == 0);
  FramePtr frame(av_frame_alloc());
  REQUIRE(frame);
  REQUIRE(avcodec_receive_frame(ctx.get(), frame.get()) == 0);
  return frame;
}

}  // namespace

TEST_CASE("JpegMaker makes a whole baseline JFIF JPEG of the requested size", "[jpeg_maker]") {
  JpegMaker maker;
  CHECK(maker.width() == 1280);
  CHECK(maker.height() == 720);
  const Bytes jpeg = maker.make(1, kWhen);

  REQUIRE(jpeg.size() >= 20);
  CHECK(jpeg[0] == 0xFF);
  CHECK(jpeg[1] == 0xD8);
  CHECK(jpeg[2] == 0xFF);
  CHECK(jpeg[3] == 0xE0);
  CHECK(std::memcmp(jpeg.data() + 6, "JFIF", 5) == 0);
  CHECK(jpeg[jpeg.size() - 2] == 0xFF);
  CHECK(jpeg[jpeg.size() - 1] == 0xD9);

  const auto info = read_jpeg_info(jpeg);
  REQUIRE(info);
  CHECK(info->width == 1280);
  CHECK(info->height == 720);
  CHECK(info->baseline);
  CHECK(info->jfif);

  const auto parts = split_jpegs(jpeg);
  REQUIRE(parts);
  CHECK(parts->size() == 1);
}

TEST_CASE("JpegMaker frame size is reasonable for a camera frame", "[jpeg_maker]") {
  JpegMaker maker;
  for (std::uint64_t n : {0u, 1u, 17u, 1000u}) {
    const Bytes jpeg = maker.make(n, kWhen);
    CHECK(jpeg.size() > 10 * 1024);
    CHECK(jpeg.size() < 500 * 1024);
  }
}

TEST_CASE("JpegMaker frames change with the frame number and the time", "[jpeg_maker]") {
  JpegMaker maker;
  const Bytes a = maker.make(1, kWhen);
  const Bytes b = maker.make(2, kWhen);
  const Bytes c = maker.make(1, kWhen + std::chrono::seconds{1});
  CHECK(a != b);
  CHECK(a != c);
}

TEST_CASE("JpegMaker qscale trades size for quality", "[jpeg_maker]") {
  JpegMaker fine(1280, 720, 2);
  JpegMaker coarse(1280, 720, 31);
  CHECK(fine.make(5, kWhen).size() > coarse.make(5, kWhen).size());
}

TEST_CASE("JpegMaker handles small pictures and huge frame numbers", "[jpeg_maker]") {
  for (auto [w, h] : {std::pair{320, 240}, std::pair{16, 16}, std::pair{2, 2}}) {
    JpegMaker maker(w, h);
    const auto info = read_jpeg_info(maker.make(std::numeric_limits<std::uint64_t>::max(), kWhen));
    REQUIRE(info);
    CHECK(info->width == w);
    CHECK(info->height == h);
    CHECK(info->jfif);
  }
}

TEST_CASE("JpegMaker rejects impossible settings", "[jpeg_maker]") {
  CHECK_THROWS_AS(JpegMaker(1281, 720), std::invalid_argument);
  CHECK_THROWS_AS(JpegMaker(1280, 0), std::invalid_argument);
  CHECK_THROWS_AS(JpegMaker(-2, 720), std::invalid_argument);
  CHECK_THROWS_AS(JpegMaker(70000, 720), std::invalid_argument);
  CHECK_THROWS_AS(JpegMaker(1280, 720, 1), std::invalid_argument);
  CHECK_THROWS_AS(JpegMaker(1280, 720, 32), std::invalid_argument);
}

TEST_CASE("A made frame decodes with libavcodec's MJPEG decoder", "[jpeg_maker]") {
  JpegMaker maker;
  const FramePtr frame = decode(maker.make(42, kWhen));
  CHECK(frame->width == 1280);
  CHECK(frame->height == 720);
  CHECK(frame->format == AV_PIX_FMT_YUVJ420P);

  // The caption box sits 16 px from the top-left corner: its edge is dark and
  // somewhere inside it the digits are white.
  const auto luma = [&](int x, int y) {
    return frame->data[0][static_cast<std::ptrdiff_t>(y) * frame->linesize[0] + x];
  };
  CHECK(luma(20, 20) < 64);
  int white = 0;
  for (int y = 16; y < 180; ++y) {
    for (int x = 16; x < 600; ++x) white += luma(x, y) > 200 ? 1 : 0;
  }
  CHECK(white > 1000);
}

TEST_CASE("split_jpegs returns concatenated frames byte for byte", "[jpeg_info]") {
  JpegMaker maker;
  const std::vector<Bytes> frames = {maker.make(1, kWhen), maker.make(2, kWhen),
                                     maker.make(3, kWhen)};
  const auto parts = split_jpegs(concat(frames));
  REQUIRE(parts);
  CHECK(*parts == frames);

  const auto none = split_jpegs({});
  REQUIRE(none);
  CHECK(none->empty());
}

TEST_CASE("split_jpegs rejects anything but whole back-to-back JPEGs", "[jpeg_info]") {
  JpegMaker maker;
  const Bytes a = maker.make(1, kWhen);
  const Bytes b = maker.make(2, kWhen);

  SECTION("truncated last frame") {
    Bytes all = concat({a, b});
    for (std::size_t cut : {std::size_t{1}, std::size_t{2}, std::size_t{100}, b.size() - 2}) {
      const Bytes cut_all(all.begin(), all.end() - static_cast<std::ptrdiff_t>(cut));
      CHECK_FALSE(split_jpegs(cut_all));
    }
  }
  SECTION("a byte between frames") {
    CHECK_FALSE(split_jpegs(concat({a, Bytes{0x00}, b})));
    CHECK_FALSE(split_jpegs(concat({a, Bytes{0xFF}, b})));
  }
  SECTION("a byte after the last frame") { CHECK_FALSE(split_jpegs(concat({a, b, Bytes{0x0A}}))); }
  SECTION("not a JPEG at all") {
    const Bytes text = {'h', 'e', 'l', 'l', 'o'};
    CHECK_FALSE(split_jpegs(text));
  }
  SECTION("every 97th prefix of one frame") {
    for (std::size_t n = 1; n < a.size(); n += 97) {
      const Bytes prefix(a.begin(), a.begin() + static_cast<std::ptrdiff_t>(n));
      CHECK_FALSE(split_jpegs(prefix));
    }
  }
}

TEST_CASE("read_jpeg_info rejects non-JPEGs and JPEGs without a frame header", "[jpeg_info]") {
  CHECK_FALSE(read_jpeg_info({}));
  CHECK_FALSE(read_jpeg_info(Bytes{'h', 'e', 'l', 'l', 'o'}));
  CHECK_FALSE(read_jpeg_info(Bytes{0xFF, 0xD8, 0xFF, 0xD9}));
  // A zero segment length would loop forever if it were trusted.
  CHECK_FALSE(read_jpeg_info(Bytes{0xFF, 0xD8, 0xFF, 0xE1, 0x00, 0x00}));

  // A hand-made progressive (SOF2) header without JFIF.
  const Bytes sof2 = {0xFF, 0xD8, 0xFF, 0xC2, 0x00, 0x0B, 0x08, 0x00, 0x10,
                      0x00, 0x20, 0x01, 0x01, 0x11, 0x00};
  const auto info = read_jpeg_info(sof2);
  REQUIRE(info);
  CHECK(info->width == 32);
  CHECK(info->height == 16);
  CHECK_FALSE(info->baseline);
  CHECK_FALSE(info->jfif);
}

TEST_CASE("read_jpeg_info is safe on every prefix of a frame", "[jpeg_info]") {
  // 320x240 has the same headers as 1280x720 at a fraction of the bytes,
  // which keeps the quadratic cost of copying every prefix small.
  JpegMaker maker(320, 240);
  const Bytes jpeg = maker.make(7, kWhen);
  const auto full = read_jpeg_info(jpeg);
  REQUIRE(full);
  std::size_t accepted = 0;
  for (std::size_t n = 0; n <= jpeg.size(); ++n) {
    // An exactly-sized copy lets AddressSanitizer catch any read past the end.
    const Bytes prefix(jpeg.begin(), jpeg.begin() + static_cast<std::ptrdiff_t>(n));
    const auto info = read_jpeg_info(prefix);
    if (info) {
      ++accepted;
      CHECK(info->width == full->width);
      CHECK(info->height == full->height);
    }
  }
  // Every prefix that holds the whole SOF0 segment is enough, shorter ones not.
  CHECK(accepted > 0);
  CHECK(accepted < jpeg.size());
}

TEST_CASE("jpeg_size reads the frame header's size, and refuses cut or foreign data", "[jpeg_maker]") {
  JpegMaker maker(640, 360);
  const Bytes jpeg = maker.make(1, kWhen);
  const auto size = bambu::jpeg_size(jpeg);
  REQUIRE(size);
  CHECK(size->width == 640);
  CHECK(size->height == 360);
  // Cut inside the headers, before the SOF0 segment ends: no size.
  const std::uint8_t sof0[] = {0xFF, 0xC0};
  const auto info_end = std::search(jpeg.begin(), jpeg.end(), std::begin(sof0), std::end(sof0));
  REQUIRE(info_end != jpeg.end());
  const Bytes cut(jpeg.begin(), info_end + 6);
  CHECK_FALSE(bambu::jpeg_size(cut));
  CHECK_FALSE(bambu::jpeg_size(Bytes{0x89, 'P', 'N', 'G'}));
  CHECK_FALSE(bambu::jpeg_size(Bytes{0xFF, 0xD8, 0xFF, 0xDA, 0x00, 0x02}));  // SOS before any SOFn
}
