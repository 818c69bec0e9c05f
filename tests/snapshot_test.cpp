// --snapshot's writer (atomic replacement, interval, never a torn
// file for a reader polling it), the RTSPS keyframe-to-JPEG conversion, the
// /snapshot.jpg verdict, and the heartbeat folder of a print farm.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/stat.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <algorithm>
#include <thread>

#include "core/atomic_file.h"
#include "heartbeat/heartbeat.h"
#include "media/h264_encoder.h"
#include "media/keyframe_jpeg.h"
#include "media/libav.h"
#include "output/snapshot_writer.h"
#include "protocol/jpeg.h"
#include "simulator/jpeg_maker.h"
#include "status/printers.h"
#include "support/temp_dir.h"
#include "support/wait.h"

using namespace std::chrono_literals;
using bambu::test::TempDir;
using bambu::test::wait_until;
namespace fs = std::filesystem;
using Bytes = std::vector<std::uint8_t>;

namespace {

// In one read(): a byte-at-a-time stream iterator is slow enough (-O0, 3 MB
// files, under qemu) that the 5 fps test's reader got too few reads in.
Bytes read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary | std::ios::ate);
  const std::streamoff size = in.tellg();
  if (!in || size < 0) return {};
  Bytes bytes(static_cast<std::size_t>(size));
  in.seekg(0);
  in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  return in ? bytes : Bytes{};
}

// A fake JPEG of `size` bytes whose body is `fill`: FF D8 ... FF D9.
Bytes fake_jpeg(std::size_t size, std::uint8_t fill) {
  Bytes b(size, fill);
  b[0] = 0xFF, b[1] = 0xD8, b[size - 2] = 0xFF, b[size - 1] = 0xD9;
  return b;
}

}  // namespace

TEST_CASE("SnapshotWriter: a reader polling the file while it is replaced at 5 fps never sees a partial JPEG") {
  TempDir dir("snapshot");
  const fs::path path = dir.path / "printer.jpg";
  bambu::Logger log(bambu::LogLevel::warning);
  bambu::StreamStatus status("jpeg", "127.0.0.1", 6000);
  // Sizes from 100 KB to 3 MB, so a torn file would show as a wrong size.
  std::vector<Bytes> offered;
  for (std::uint8_t i = 0; i < 10; ++i) offered.push_back(fake_jpeg(100'000 + std::size_t(i) * 300'000, i));
  // Compared with ==, not kept in a std::set: GCC 12 at -O3 (the cross
  // presets) wrongly warns on std::set<std::vector>'s memcmp (-Wstringop-overread).
  const auto known = [&](const Bytes& got) { return std::find(offered.begin(), offered.end(), got) != offered.end(); };

  std::atomic<bool> done{false};
  std::atomic<int> reads{0}, bad{0};
  std::thread reader([&] {
    while (!done) {
      Bytes got = read_all(path);
      if (got.empty()) continue;  // not there yet
      ++reads;
      if (!known(got)) ++bad;
    }
  });
  {
    bambu::SnapshotWriter writer(path.string(), 0.15, status, log);
    for (const auto& frame : offered) {
      REQUIRE(wait_until([&] { return writer.due(); }, 5s));
      CHECK(writer.offer(frame));
      std::this_thread::sleep_for(200ms);  // the camera's pace: 5 fps
    }
    REQUIRE(wait_until([&] { return read_all(path) == offered.back(); }, 5s));
  }
  done = true;
  reader.join();
  CHECK(bad == 0);
  CHECK(reads > 10);
  // No temporary file left beside it.
  int files = 0;
  for (const auto& e : fs::directory_iterator(dir.path)) files += e.is_regular_file() ? 1 : 0;
  CHECK(files == 1);
  const auto s = status.report();
  CHECK(s.snapshot_path == path.string());
  CHECK(s.snapshot_at.has_value());
  const auto j = bambu::heartbeat_json(s);
  CHECK(j["snapshot"] == path.string());
  CHECK(j["snapshot_age"].is_number());
  CHECK(j["snapshot_age"].get<double>() >= 0);
}

TEST_CASE("SnapshotWriter: at most one snapshot per interval, and none without an offer") {
  TempDir dir("snapshot");
  const fs::path path = dir.path / "s.jpg";
  bambu::Logger log(bambu::LogLevel::warning);
  bambu::StreamStatus status("rtsps", "127.0.0.1", 322);
  std::mutex m;
  std::vector<std::chrono::steady_clock::time_point> converted;
  bambu::SnapshotWriter writer(path.string(), 0.3, status, log, [&](std::span<const std::uint8_t> b) {
    std::lock_guard lock(m);
    converted.push_back(std::chrono::steady_clock::now());
    return std::optional<Bytes>(Bytes(b.begin(), b.end()));
  });
  CHECK_FALSE(fs::exists(path));
  CHECK(bambu::heartbeat_json(status.report())["snapshot_age"].is_null());
  const Bytes frame = fake_jpeg(1000, 1);
  int taken = 0;
  const auto start = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() - start < 1400ms) {  // 30 fps for 1.4 s
    taken += writer.offer(frame) ? 1 : 0;
    std::this_thread::sleep_for(33ms);
  }
  writer.finish();
  CHECK(taken >= 4);
  CHECK(taken <= 5);
  std::lock_guard lock(m);
  REQUIRE(converted.size() == static_cast<std::size_t>(taken));
  for (std::size_t i = 1; i < converted.size(); ++i) CHECK(converted[i] - converted[i - 1] >= 290ms);
  CHECK(read_all(path) == frame);
}

TEST_CASE("KeyframeJpeg: an H.264 keyframe becomes a JPEG of the stream's size, a non-keyframe gives nothing") {
  bambu::libav();
  bambu::JpegMaker maker(640, 360);
  bambu::H264Encoder encoder(bambu::EncoderSettings{});
  std::vector<bambu::H264Encoder::Unit> units;
  REQUIRE(encoder.encode(maker.make(0, std::chrono::system_clock::now()), 0, true, units) ==
          bambu::H264Encoder::Result::encoded);
  REQUIRE(encoder.encode(maker.make(1, std::chrono::system_clock::now()), 9000, false, units) ==
          bambu::H264Encoder::Result::encoded);
  REQUIRE(units.size() == 2);
  REQUIRE(units[0].keyframe);
  auto jpeg = bambu::KeyframeJpeg().convert(units[0].annexb);
  REQUIRE(jpeg);
  CHECK(bambu::is_whole_jpeg(*jpeg));
  auto size = bambu::jpeg_size(*jpeg);
  REQUIRE(size);
  CHECK(size->width == 640);
  CHECK(size->height == 360);
  CHECK_FALSE(bambu::KeyframeJpeg().convert(units[1].annexb));  // a P-frame alone decodes to no picture
  const Bytes junk(100, 0x42);
  CHECK_FALSE(bambu::KeyframeJpeg().convert(junk));
}

TEST_CASE("read_snapshot: 404 without a snapshot, 503 when stale or not a JPEG, else the bytes") {
  TempDir dir("snapshot");
  const fs::path path = dir.path / "p.jpg";
  const auto now = std::chrono::system_clock::now();
  CHECK(bambu::read_snapshot(nlohmann::json::object(), 5, now).status == 404);
  CHECK(bambu::read_snapshot({{"snapshot", nullptr}}, 5, now).status == 404);
  const nlohmann::json hb{{"snapshot", path.string()}};
  CHECK(bambu::read_snapshot(hb, 5, now).status == 404);  // not written yet

  const Bytes jpeg = fake_jpeg(5000, 7);
  bambu::write_file_atomically(path.string(), {reinterpret_cast<const char*>(jpeg.data()), jpeg.size()});
  auto a = bambu::read_snapshot(hb, 5, std::chrono::system_clock::now());
  CHECK(a.status == 200);
  CHECK(Bytes(a.body.begin(), a.body.end()) == jpeg);

  // Ten seconds old against --max-age 5.
  timespec times[2] = {{0, UTIME_OMIT}, {std::chrono::system_clock::to_time_t(now) - 10, 0}};
  REQUIRE(::utimensat(AT_FDCWD, path.c_str(), times, 0) == 0);
  a = bambu::read_snapshot(hb, 5, std::chrono::system_clock::now());
  CHECK(a.status == 503);
  CHECK_THAT(a.body, Catch::Contains("is stale"));

  bambu::write_file_atomically(path.string(), "not a jpeg");
  CHECK(bambu::read_snapshot(hb, 5, std::chrono::system_clock::now()).status == 503);
}

TEST_CASE("printers: NAME.json files of a folder, temporary files and bad names left out, and labelled metrics") {
  TempDir dir("printers");
  bambu::StatusReport s;
  s.state = bambu::StreamState::streaming;
  s.updated_at = std::chrono::system_clock::now();
  s.frames = 5;
  const std::string streaming = bambu::heartbeat_json(s).dump();
  s.state = bambu::StreamState::stopped;
  const std::string stopped = bambu::heartbeat_json(s).dump();
  bambu::write_file_atomically((dir.path / "p1s.json").string(), streaming);
  bambu::write_file_atomically((dir.path / "x1c.json").string(), streaming);
  bambu::write_file_atomically((dir.path / "x1c.json.tmp.77").string(), "{");
  bambu::write_file_atomically((dir.path / ".hidden.json").string(), streaming);
  bambu::write_file_atomically((dir.path / "a1.jpg").string(), "x");
  CHECK(bambu::printer_names(dir.path.string()) == std::vector<std::string>{"p1s", "x1c"});
  CHECK(bambu::printer_names((dir.path / "missing").string()).empty());
  CHECK(bambu::valid_printer_name("farm-01_a.b"));
  CHECK_FALSE(bambu::valid_printer_name("../etc"));
  CHECK_FALSE(bambu::valid_printer_name(""));

  auto all = bambu::read_printer_healths(dir.path.string(), 5, std::chrono::system_clock::now());
  CHECK(all.all_started());
  auto metrics = bambu::metrics_text(all.healths, all.names);
  CHECK_THAT(metrics, Catch::Contains("bambu_stream_up{printer=\"p1s\"} 1\nbambu_stream_up{printer=\"x1c\"} 1\n"));
  CHECK_THAT(metrics, Catch::Contains("bambu_stream_frames_total{printer=\"x1c\"} 5\n"));
  CHECK(metrics.find("# TYPE bambu_stream_up gauge") == metrics.rfind("# TYPE bambu_stream_up gauge"));

  bambu::write_file_atomically((dir.path / "x1c.json").string(), stopped);
  all = bambu::read_printer_healths(dir.path.string(), 5, std::chrono::system_clock::now());
  CHECK_FALSE(all.all_started());
  CHECK_THAT(all.reason, Catch::StartsWith("printer x1c: not streaming"));
  CHECK_THAT(bambu::metrics_text(all.healths, all.names), Catch::Contains("bambu_stream_up{printer=\"x1c\"} 0\n"));
  auto j = bambu::printers_json(all);
  CHECK(j["started"] == false);
  CHECK(j["printers"]["p1s"]["started"] == true);

  TempDir empty("printers");
  auto none = bambu::read_printer_healths(empty.path.string(), 5, std::chrono::system_clock::now());
  CHECK_FALSE(none.all_started());
  CHECK_THAT(none.reason, Catch::StartsWith("no printer heartbeat"));
}
