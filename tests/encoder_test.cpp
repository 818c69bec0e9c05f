// The JPEG-to-H.264 stage: the empty PES (byte for byte), the keyframe rule,
// H264Encoder on real JPEGs (decoded back with libavcodec), EncodingSink.
#include <catch2/catch.hpp>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavutil/frame.h>
}

#include <chrono>
#include <random>

#include "core/log.h"
#include "pipeline/stream_status.h"
#include "media/empty_pes.h"
#include "media/encoding_sink.h"
#include "media/h264.h"
#include "media/h264_encoder.h"
#include "media/libav.h"
#include "simulator/jpeg_maker.h"
#include "support/recording_sink.h"
#include "support/wait.h"

using namespace bambu;
using namespace std::chrono_literals;
using Bytes = std::vector<std::uint8_t>;
using bambu::test::RecordingSink;
using bambu::test::wait_until;

namespace {

unsigned pid_of(const std::uint8_t* p) { return ((p[1] & 0x1Fu) << 8) | p[2]; }
unsigned cc_of(const std::uint8_t* p) { return p[3] & 0x0Fu; }

// One 188-byte packet on `pid` with continuity counter `cc`; `payload`:
// adaptation_field_control 01 (payload only), else 10 (a PCR, no payload).
Bytes ts_packet(unsigned pid, unsigned cc, bool payload = true) {
  Bytes p(k_ts_packet_size, 0xAB);
  p[0] = 0x47;
  p[1] = static_cast<std::uint8_t>((pid >> 8) & 0x1F);
  p[2] = static_cast<std::uint8_t>(pid & 0xFF);
  p[3] = static_cast<std::uint8_t>((payload ? 0x10 : 0x20) | cc);
  if (!payload) p[4] = 183;  // adaptation field fills the packet
  return p;
}

Bytes join(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

// The types of the NAL units of an Annex-B buffer, in order.
std::vector<int> nal_types(const Bytes& annexb) {
  std::vector<int> types;
  for (const auto& nal : split_annexb(annexb)) types.push_back(nal.type);
  return types;
}

// libavcodec's H.264 decoder, fed access units one by one.
class H264Decoder {
 public:
  H264Decoder() {
    const AVCodec* codec = avcodec_find_decoder(AV_CODEC_ID_H264);
    REQUIRE(codec != nullptr);
    ctx_ = avcodec_alloc_context3(codec);
    REQUIRE(avcodec_open2(ctx_, codec, nullptr) == 0);
    frame_ = av_frame_alloc();
    packet_ = av_packet_alloc();
  }
  ~H264Decoder() {
    av_packet_free(&packet_);
    av_frame_free(&frame_);
    avcodec_free_context(&ctx_);
  }
  // Decodes `au`; true if it gave a picture (the decoder has no delay for
  // Constrained Baseline with one reference frame... but may hold one: the
  // caller checks counts after flush()).
  int decode(const Bytes& au) {
    Bytes padded = au;
    padded.resize(au.size() + AV_INPUT_BUFFER_PADDING_SIZE, 0);
    packet_->data = padded.data();
    packet_->size = static_cast<int>(au.size());
    REQUIRE(avcodec_send_packet(ctx_, packet_) == 0);
    packet_->data = nullptr;
    packet_->size = 0;
    return drain();
  }
  int flush() {
    avcodec_send_packet(ctx_, nullptr);
    return drain();
  }
  int width = 0, height = 0, format = -1;

  const AVCodecContext* context() const { return ctx_; }

 private:
  int drain() {
    int pictures = 0;
    while (avcodec_receive_frame(ctx_, frame_) == 0) {
      ++pictures;
      width = frame_->width;
      height = frame_->height;
      format = frame_->format;
    }
    return pictures;
  }
  AVCodecContext* ctx_ = nullptr;
  AVFrame* frame_ = nullptr;
  AVPacket* packet_ = nullptr;
};

// What the `undecodable` simulator fault sends: FF D8, no frame header, FF D9.
Bytes undecodable_jpeg() {
  Bytes jpeg(2000, 0x00);
  jpeg[0] = 0xFF;
  jpeg[1] = 0xD8;
  jpeg[jpeg.size() - 2] = 0xFF;
  jpeg[jpeg.size() - 1] = 0xD9;
  return jpeg;
}

}  // namespace

TEST_CASE("the empty PES packet, byte for byte") {
  const auto p = empty_pes_packet(0x100, 7);
  CHECK(p[0] == 0x47);
  CHECK(p[1] == 0x41);  // payload_unit_start_indicator, PID high bits 0x01
  CHECK(p[2] == 0x00);
  CHECK(p[3] == 0x37);  // adaptation field and payload, counter 7
  CHECK(p[4] == 174);   // 188 - 4 header - 1 length byte - 9 PES header
  CHECK(p[5] == 0x00);  // no adaptation flags
  for (std::size_t i = 6; i < 179; ++i) REQUIRE(p[i] == 0xFF);
  const Bytes pes(p.begin() + 179, p.end());
  CHECK(pes == Bytes{0x00, 0x00, 0x01, 0xE0, 0x00, 0x03, 0x80, 0x00, 0x00});
  CHECK(empty_pes_packet(0x1FFF, 31)[1] == 0x5F);  // PID masked to 13 bits
  CHECK(cc_of(empty_pes_packet(0x100, 31).data()) == 15);
}

TEST_CASE("EmptyPesWriter: an empty PES after each unit, the PID's counters renumbered in sequence") {
  EmptyPesWriter writer(0x100, true);
  // Unit 1 as the muxer writes it: PAT, PMT, video 0 1 2.
  Bytes unit = join({ts_packet(0, 0), ts_packet(0x1000, 0), ts_packet(0x100, 0), ts_packet(0x100, 1),
                     ts_packet(0x100, 2)});
  writer.apply(unit);
  REQUIRE(unit.size() == 6 * k_ts_packet_size);
  std::vector<unsigned> cc;
  for (std::size_t i = 0; i < unit.size(); i += k_ts_packet_size) cc.push_back(cc_of(&unit[i]));
  CHECK(cc == std::vector<unsigned>{0, 0, 0, 1, 2, 3});  // the empty PES took 3
  const auto release = empty_pes_packet(0x100, 3);
  CHECK(Bytes(unit.end() - 188, unit.end()) == Bytes(release.begin(), release.end()));

  // Unit 2: the muxer, unaware of ours, numbers on from 3; a PCR-only
  // packet (no payload) keeps the last counter.
  Bytes next = join({ts_packet(0x100, 3), ts_packet(0x100, 3, false), ts_packet(0x100, 4), ts_packet(0x11, 9)});
  writer.apply(next);
  cc.clear();
  for (std::size_t i = 0; i < next.size(); i += k_ts_packet_size) cc.push_back(cc_of(&next[i]));
  CHECK(cc == std::vector<unsigned>{4, 4, 5, 9, 6});
  CHECK(pid_of(&next[4 * k_ts_packet_size]) == 0x100);

  // Wrap-around from 15 to 0.
  EmptyPesWriter wrap(0x100, true);
  Bytes many;
  for (unsigned i = 0; i < 15; ++i) many = join({many, ts_packet(0x100, i)});
  wrap.apply(many);
  CHECK(cc_of(&many[many.size() - k_ts_packet_size]) == 15);
  Bytes more = ts_packet(0x100, 15);
  wrap.apply(more);
  CHECK(cc_of(&more[0]) == 0);
  CHECK(cc_of(&more[k_ts_packet_size]) == 1);
}

TEST_CASE("EmptyPesWriter disabled: nothing added, the muxer's own sequence unchanged") {
  EmptyPesWriter writer(0x100, false);
  Bytes unit = join({ts_packet(0, 0), ts_packet(0x100, 0), ts_packet(0x100, 1)});
  const Bytes before = unit;
  writer.apply(unit);
  CHECK(unit == before);
  Bytes next = join({ts_packet(0x100, 2), ts_packet(0x100, 2, false), ts_packet(0x100, 3)});
  const Bytes next_before = next;
  writer.apply(next);
  CHECK(next == next_before);
}

TEST_CASE("KeyframeClock: first frame, start-up burst, then at most the interval apart") {
  const auto t0 = Clock::now();
  auto at = [&](double s) { return t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s)); };
  auto run = [&](KeyframeClock& clock, const std::vector<double>& times) {
    std::vector<double> keys;
    for (double t : times) {
      const bool key = clock.need_keyframe(at(t));
      clock.encoded(at(t), key);
      if (key) keys.push_back(t);
    }
    return keys;
  };
  SECTION("1 fps, interval 2 s, burst 4 s: every frame for 4 s, then every other") {
    KeyframeClock clock(2, 4);
    std::vector<double> times;
    for (int i = 0; i < 12; ++i) times.push_back(i);
    CHECK(run(clock, times) == std::vector<double>{0, 1, 2, 3, 5, 7, 9, 11});
  }
  SECTION("1.3 fps: a keyframe before the interval would be overrun") {
    KeyframeClock clock(2, 0);
    std::vector<double> times;
    for (int i = 0; i < 30; ++i) times.push_back(i / 1.3);
    auto keys = run(clock, times);
    for (std::size_t i = 1; i < keys.size(); ++i) CHECK(keys[i] - keys[i - 1] <= 2.0);
    CHECK(keys.size() < times.size());  // not every frame
  }
  SECTION("5 fps with 40 ms of jitter: gaps never over the interval") {
    KeyframeClock clock(2, 1);
    std::vector<double> times;
    for (int i = 0; i < 200; ++i) times.push_back(i * 0.2 + ((i * 37) % 9 - 4) * 0.01);
    auto keys = run(clock, times);
    for (std::size_t i = 1; i < keys.size(); ++i) CHECK(keys[i] - keys[i - 1] <= 2.0);
    CHECK(keys.size() <= 200 / 8 + 6);  // still far from every frame
  }
  SECTION("5 fps, each frame interval moved by up to 40 ms (simulate --jitter 40), 10000 frames") {
    KeyframeClock clock(2, 0);
    std::mt19937 random(1);  // the same numbers on every platform
    std::vector<double> times;
    double t = 0;
    for (int i = 0; i < 10000; ++i) {
      times.push_back(t);
      t += 0.2 + (static_cast<double>(random()) / 4294967295.0 * 2 - 1) * 0.04;  // 200 ms ± 40 ms
    }
    auto keys = run(clock, times);
    double largest = 0;
    for (std::size_t i = 1; i < keys.size(); ++i) largest = std::max(largest, keys[i] - keys[i - 1]);
    CHECK(largest <= 2.0);
    CHECK(keys.size() < 10000 / 8);  // 1 in 10 would be the interval's own rate
  }
  SECTION("1 fps with 40 ms of jitter: still every other frame, gaps late by at most the jitter") {
    KeyframeClock clock(2, 0);
    std::vector<double> times;
    for (int i = 0; i < 40; ++i) times.push_back(i + ((i * 37) % 9 - 4) * 0.01);
    auto keys = run(clock, times);
    CHECK(keys.size() == 20);
    for (std::size_t i = 1; i < keys.size(); ++i) CHECK(keys[i] - keys[i - 1] <= 2.0 + 0.08 + 1e-9);
  }
  SECTION("1 fps with 1 ms of timer noise: still every other frame") {
    KeyframeClock clock(2, 0);
    std::vector<double> times;
    for (int i = 0; i < 20; ++i) times.push_back(i + (i % 3 == 1 ? 0.001 : 0.0));
    auto keys = run(clock, times);
    CHECK(keys.size() == 10);
    for (std::size_t i = 1; i < keys.size(); ++i) CHECK(keys[i] - keys[i - 1] <= 2.0 + 0.002);
  }
  SECTION("a new session: a keyframe at once, and the burst again") {
    KeyframeClock clock(2, 2);
    run(clock, {0, 1, 2, 3, 4});
    clock.begin_session();
    CHECK(run(clock, {10, 11, 12, 13}) == std::vector<double>{10, 11, 13});
  }
}

// libx264 reports every encoder it closes at info level; the program routes
// libav's log (route_libav_log), the tests only keep it quiet.
const bool g_quiet_libav = [] {
  av_log_set_level(AV_LOG_ERROR);
  return true;
}();

TEST_CASE("H264Encoder: one JPEG in, one access unit out, keyframes exactly when asked") {
  H264Encoder encoder(EncoderSettings{});
  CHECK(encoder.name() == "libx264");
  CHECK(encoder.parameters() == nullptr);
  JpegMaker maker(1280, 720);
  H264Decoder decoder;
  int pictures = 0;
  const std::vector<bool> asked = {true, false, false, true, false, false};
  for (std::size_t i = 0; i < asked.size(); ++i) {
    std::vector<H264Encoder::Unit> units;
    REQUIRE(encoder.encode(maker.make(i, std::chrono::system_clock::now()), std::int64_t(i) * 90000, asked[i],
                           units) == H264Encoder::Result::encoded);
    REQUIRE(units.size() == 1);  // no frame delay
    const Bytes& au = units[0].annexb;
    REQUIRE(au.size() > 4);
    CHECK(Bytes(au.begin(), au.begin() + 4) == Bytes{0, 0, 0, 1});
    CHECK(units[0].keyframe == asked[i]);
    auto types = nal_types(au);
    const bool has_idr = std::find(types.begin(), types.end(), 5) != types.end();
    CHECK(has_idr == asked[i]);
    if (asked[i]) {  // SPS and PPS in-band, before the IDR slice
      auto sps = std::find(types.begin(), types.end(), 7), pps = std::find(types.begin(), types.end(), 8);
      auto idr = std::find(types.begin(), types.end(), 5);
      CHECK(sps < idr);
      CHECK(pps < idr);
    }
    pictures += decoder.decode(au);
  }
  pictures += decoder.flush();
  CHECK(pictures == 6);
  CHECK(decoder.width == 1280);
  CHECK(decoder.height == 720);
  CHECK(decoder.format == AV_PIX_FMT_YUV420P);
  CHECK(decoder.context()->profile == FF_PROFILE_H264_CONSTRAINED_BASELINE);
  CHECK(decoder.context()->color_range == AVCOL_RANGE_MPEG);
  REQUIRE(encoder.parameters() != nullptr);
  CHECK(encoder.parameters()->codec_id == AV_CODEC_ID_H264);
}

TEST_CASE("H264Encoder: an undecodable JPEG gives nothing, a new size reopens with a keyframe") {
  H264Encoder encoder(EncoderSettings{});
  JpegMaker big(1280, 720), small(640, 360);
  std::vector<H264Encoder::Unit> units;
  CHECK(encoder.encode(undecodable_jpeg(), 0, true, units) == H264Encoder::Result::undecodable);
  CHECK(units.empty());
  CHECK_FALSE(encoder.last_decode_error().empty());
  REQUIRE(encoder.encode(big.make(1, std::chrono::system_clock::now()), 1, true, units) ==
          H264Encoder::Result::encoded);
  REQUIRE(encoder.encode(big.make(2, std::chrono::system_clock::now()), 2, false, units) ==
          H264Encoder::Result::encoded);
  CHECK(encoder.encode(undecodable_jpeg(), 3, false, units) == H264Encoder::Result::undecodable);
  REQUIRE(encoder.encode(small.make(3, std::chrono::system_clock::now()), 4, false, units) ==
          H264Encoder::Result::encoded);
  REQUIRE(units.size() == 3);
  CHECK(units[2].keyframe);  // reopened: not asked, but a keyframe
  CHECK(encoder.width() == 640);
  CHECK(encoder.height() == 360);
  H264Decoder decoder;
  decoder.decode(units[2].annexb);
  decoder.flush();
  CHECK(decoder.width == 640);
  CHECK(decoder.height == 360);
}

TEST_CASE("H264Encoder: an unknown or non-H.264 --encoder names the H.264 encoders there are") {
  EncoderSettings bad;
  bad.encoder = "nosuch";
  try {
    H264Encoder encoder(bad);
    FAIL("no exception");
  } catch (const EncoderUnavailable& e) {
    const std::string what = e.what();
    CHECK_THAT(what, Catch::StartsWith("--encoder nosuch: no such encoder"));
    CHECK_THAT(what, Catch::Contains("libx264"));
    CHECK(what.find('\n') == std::string::npos);
  }
  bad.encoder = "mjpeg";
  CHECK_THROWS_WITH(H264Encoder(bad), Catch::Contains("not an H.264 encoder"));
  CHECK_THAT(h264_encoder_names(), Catch::Contains("libx264"));
  H264Encoder good(EncoderSettings{});
  CHECK_NOTHROW(good.prepare(1280, 720));
  CHECK(good.parameters() != nullptr);
}

TEST_CASE("EncodingSink: frames in, H.264 out in order, a busy encoder drops the older JPEG, never queues") {
  Logger log(LogLevel::error);
  StreamStatus status("jpeg", "127.0.0.1", 6000);
  StopFlag stop;
  RecordingSink out;
  JpegMaker maker(1280, 720);
  std::vector<Bytes> jpegs;
  for (int i = 0; i < 20; ++i) jpegs.push_back(maker.make(i, std::chrono::system_clock::now()));
  // No start-up burst, so no repeats: every unit out is a JPEG encoded,
  // however long the encoder (under qemu) takes between them.
  EncoderSettings settings;
  settings.burst_s = 0;
  {
    EncodingSink sink(settings, OutputFormat::h264, true, out, status, log, stop);
    CHECK(sink.last_good_unit() == Clock::time_point{});  // judges units, none good yet
    sink.begin_session();
    const auto before = Clock::now();
    sink.post(undecodable_jpeg());
    // 20 JPEGs at once: far faster than one encode.
    for (const auto& jpeg : jpegs) sink.post(jpeg);
    REQUIRE(wait_until([&] { return status.report().frames_encoded > 0; }, 20s));
    sink.finish();
    auto good = sink.last_good_unit();
    REQUIRE(good);
    CHECK(*good > before);
    CHECK(sink.error().empty());
  }
  const auto s = status.report();
  CHECK(s.frames_encoded >= 1);
  CHECK(s.dropped >= 1);
  // Every JPEG posted was encoded, failed to decode, or was dropped.
  CHECK(s.frames_encoded + s.decode_failures + s.dropped == 21);
  CHECK(s.encoder == "libx264");
  CHECK(s.format == "h264");
  CHECK(s.codec == "h264");
  CHECK(s.width == 1280);
  const auto units = out.units();
  REQUIRE(units.size() == s.frames_encoded);
  CHECK(units[0].keyframe);  // the first unit is a keyframe with SPS and PPS
  CHECK(nal_types(units[0].bytes).front() == 7);
}
