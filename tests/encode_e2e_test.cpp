// End-to-end: the jpeg source encoded to H.264 by the built binary, against
// `bambu-stream simulate` serving ../shared/frames/camera-720p (camera-like
// pictures) or its test pattern. Output checked with ffprobe, byte by byte
// (Annex-B), against the simulator's send times (--timing) and our own write
// times (--timing), and in the heartbeat.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "support/child_process.h"
#include "support/e2e.h"
#include "support/ffprobe.h"
#include "support/simulator_process.h"
#include "support/temp_dir.h"

using namespace std::chrono_literals;
using namespace bambu::test::e2e;
using bambu::test::ChildProcess;
using bambu::test::k_sim_code;
using bambu::test::SimulatorProcess;
using bambu::test::TempDir;
namespace fs = std::filesystem;
using Bytes = std::vector<std::uint8_t>;
using nlohmann::json;

namespace {

// --frames-dir for the camera frames; the test fails where they are missing
// (they are part of the project's shared test data, so that is a broken checkout).
std::vector<std::string> camera_frames() {
  REQUIRE(fs::is_directory(k_camera_frames));
  return {"--frames-dir", k_camera_frames.string()};
}

ChildProcess encoding_client(const SimulatorProcess& sim, std::vector<std::string> extra) {
  std::vector<std::string> args = {"--host",   "127.0.0.1", "--source", "jpeg", "--port", sim.port(),
                                   "--access-code", k_sim_code, "--format", "mpegts"};
  args.insert(args.end(), extra.begin(), extra.end());
  return client(args);
}

json read_json(const fs::path& p) {
  std::ifstream in(p);
  return json::parse(in);
}

// Lines of whitespace-separated integers.
std::vector<std::vector<long long>> read_table(const fs::path& p) {
  std::vector<std::vector<long long>> rows;
  std::ifstream in(p);
  for (std::string line; std::getline(in, line);) {
    std::istringstream fields(line);
    std::vector<long long> row;
    for (long long v; fields >> v;) row.push_back(v);
    if (!row.empty()) rows.push_back(row);
  }
  return rows;
}

struct Packet {
  double pts;  // seconds
  bool keyframe;
  int size;
};

// The video packets of `file`, in order, as ffprobe reads them.
std::vector<Packet> packets(const fs::path& file) {
  std::vector<Packet> out;
  const json probed = ffprobe(file, {"-show_entries", "packet=pts_time,flags,size"});
  for (const auto& p : probed["packets"]) {
    out.push_back({std::stod(p["pts_time"].get<std::string>()), p["flags"].get<std::string>()[0] == 'K',
                   std::stoi(p["size"].get<std::string>())});
  }
  return out;
}

// A line of our --timing file: when a unit was written (CLOCK_MONOTONIC ns),
// its bytes, and whether it is a keyframe and a repeat of the newest picture.
struct Written {
  long long ns;
  long long bytes;
  bool keyframe;
  bool repeat;
};

std::vector<Written> read_written(const fs::path& p) {
  std::vector<Written> out;
  for (const auto& row : read_table(p)) {
    REQUIRE(row.size() == 4);
    out.push_back({row[0], row[1], row[2] == 1, row[3] == 1});
  }
  return out;
}

// The packets of camera frames: `p` without the repeats, by our --timing
// file of the same run (one packet per unit written, in order).
std::vector<Packet> camera_packets(const std::vector<Packet>& p, const std::vector<Written>& units) {
  REQUIRE(p.size() == units.size());
  std::vector<Packet> out;
  for (std::size_t i = 0; i < p.size(); ++i) {
    if (!units[i].repeat) out.push_back(p[i]);
  }
  return out;
}

// Width and height of every decoded frame.
std::vector<std::pair<int, int>> frame_sizes(const fs::path& file) {
  std::vector<std::pair<int, int>> out;
  const json probed = ffprobe(file, {"-show_entries", "frame=width,height"});
  for (const auto& f : probed["frames"]) {
    out.emplace_back(f["width"].get<int>(), f["height"].get<int>());
  }
  return out;
}


// The process's mapped files contain `name` (e.g. "libavcodec").
bool maps_library(pid_t pid, const std::string& name) {
  std::ifstream maps("/proc/" + std::to_string(pid) + "/maps");
  std::string all((std::istreambuf_iterator<char>(maps)), {});
  return all.find(name) != std::string::npos;
}

// A field of /proc/PID/status in KiB, e.g. "VmHWM" (peak resident memory).
long status_kib(pid_t pid, const std::string& field) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind(field + ":", 0) == 0) return std::stol(line.substr(field.size() + 1));
  }
  return -1;
}

// An MJPEG stream's peak RSS: about 10 MiB in both builds, the dynamic one
// and the static one; with FFmpeg loaded (dynamic) or touched (static) it
// would be 20 MiB or more.
constexpr long k_mjpeg_max_rss_kib = 16 * 1024;

}  // namespace

// [not-under-qemu] on the tests below that need the encoder to keep pace:
// encoding a 1280x720 JPEG takes longer than a frame interval under
// emulation, so the encoder drops frames (by design), and checks that match
// each JPEG to its access unit, or that bound times, cannot hold.

// Not under qemu: frame-exact, it needs every JPEG encoded within 200 ms.
TEST_CASE("jpeg source as H.264 MPEG-TS: camera frames at 5 fps with jitter, one frame per JPEG, PTS on arrival",
          "[not-under-qemu]") {
  TempDir dir;
  const fs::path sent_times = dir.path / "sent.txt", written = dir.path / "written.txt", hb = dir.path / "hb.json";
  auto extra = camera_frames();
  extra.insert(extra.end(), {"--jitter", "60", "--timing", sent_times.string()});
  SimulatorProcess sim(extra, "5");
  auto c = encoding_client(sim, {"--frames", "20", "--timing", written.string(), "--heartbeat", hb.string(),
                                 "--keyframe-burst", "1"});
  REQUIRE(c.wait_for_exit(k_wait) == 0);
  const fs::path ts = save(dir.path, "out.ts", c.stdout_bytes());

  CHECK(ffprobe_warnings(ts).empty());
  json streams = ffprobe(ts, {"-count_frames", "-show_streams"})["streams"];
  REQUIRE(streams.size() == 1);
  CHECK(streams[0]["codec_name"] == "h264");
  CHECK(streams[0]["profile"] == "Constrained Baseline");
  CHECK(streams[0]["pix_fmt"] == "yuv420p");
  CHECK(streams[0]["width"] == 1280);
  CHECK(streams[0]["height"] == 720);
  // 20 camera frames; a frame interval over 0.25 s in the 1 s burst (the
  // jitter makes a few) may add a repeat of the newest picture.
  const auto units = read_written(written);
  CHECK(std::stoul(streams[0]["nb_read_frames"].get<std::string>()) == units.size());

  const auto p = camera_packets(packets(ts), units);
  REQUIRE(p.size() == 20);
  CHECK(p[0].keyframe);
  CHECK(p[0].pts == 0);
  // Keyframes at most --keyframe-interval (2 s) apart, plus at most a
  // frame's lateness against the camera's pace (the jitter, 60 ms).
  double last_key = 0;
  for (const auto& packet : p) {
    if (!packet.keyframe) continue;
    CHECK(packet.pts - last_key <= 2.0 + 0.060 + 0.005);
    last_key = packet.pts;
  }
  CHECK(std::count_if(p.begin(), p.end(), [](const Packet& x) { return !x.keyframe; }) >= 5);  // not all IDR
  // PTS steps follow the camera's real, irregular pace within 10 ms: the
  // simulator's send times of the same frames (session 1, frames 0..19).
  // On a shared 2-core machine a thread may be scheduled 10-20 ms late now
  // and then (the simulator's or ours), so: 9 steps in 10 within 10 ms, and
  // every one within 30 ms. bench/run gives the figure on an idle machine.
  const auto sent = read_table(sent_times);
  REQUIRE(sent.size() >= 20);
  int within_10ms = 0;
  for (std::size_t i = 1; i < 20; ++i) {
    REQUIRE(sent[i][0] == 1);
    const double sent_step = static_cast<double>(sent[i][2] - sent[i - 1][2]) / 1e9;
    const double error = std::abs((p[i].pts - p[i - 1].pts) - sent_step);
    CHECK(error <= 0.030);
    within_10ms += error <= 0.010 ? 1 : 0;
  }
  CHECK(within_10ms >= 17);
  // One write per access unit, each a whole number of TS packets ending in the empty PES.
  const Bytes out = c.stdout_bytes();
  std::size_t offset = 0;
  for (const auto& unit : units) {
    REQUIRE(unit.bytes % 188 == 0);
    offset += static_cast<std::size_t>(unit.bytes);
    const Bytes last(out.begin() + static_cast<std::ptrdiff_t>(offset) - 9, out.begin() + static_cast<std::ptrdiff_t>(offset));
    CHECK(last == Bytes{0x00, 0x00, 0x01, 0xE0, 0x00, 0x03, 0x80, 0x00, 0x00});
  }
  CHECK(offset == out.size());

  const json h = read_json(hb);
  CHECK(h["format"] == "mpegts");
  CHECK(h["codec"] == "h264");
  CHECK(h["encoder"] == "libx264");
  CHECK(h["width"] == 1280);
  CHECK(h["frames"] == 20);
  CHECK(h["frames_encoded"].get<int>() >= 20);
  CHECK(h["decode_failures"] == 0);
  CHECK(h["dropped"] == 0);
  CHECK(h["encode_ms_mean"].get<double>() > 0);
  CHECK(h["encode_ms_last"].get<double>() > 0);
  CHECK(h["bitrate_kbps"].get<double>() > 0);
}

// Not under qemu: the keyframe pattern needs steady arrival times, which
// emulation's scheduling does not give.
TEST_CASE("jpeg source as H.264 at 1 fps: every JPEG one frame, the first a keyframe, a keyframe every 2 s after the burst",
          "[not-under-qemu]") {
  TempDir dir;
  const fs::path written = dir.path / "written.txt";
  SimulatorProcess sim(camera_frames(), "1");
  // A burst of 3.5 s, not the default 4, so that no frame sits on its edge.
  auto c = encoding_client(sim, {"--frames", "7", "--keyframe-burst", "3.5", "--timing", written.string()});
  REQUIRE(c.wait_for_exit(k_wait) == 0);
  const fs::path ts = save(dir.path, "out.ts", c.stdout_bytes());
  CHECK(ffprobe_warnings(ts).empty());
  const auto p = camera_packets(packets(ts), read_written(written));
  REQUIRE(p.size() == 7);
  // The burst makes the first 3.5 s keyframes; then every other frame at 1 fps.
  std::vector<bool> keys;
  for (const auto& x : p) keys.push_back(x.keyframe);
  CHECK(keys == std::vector<bool>{true, true, true, true, false, true, false});
  // Steps of the simulator's 1 s pace; the 10 ms figure is the 5 fps test's,
  // this one allows for the odd late thread (ASan, a busy machine) as it does.
  for (std::size_t i = 1; i < p.size(); ++i) CHECK(std::abs(p[i].pts - p[i - 1].pts - 1.0) < 0.030);
}

// The largest distance (seconds) between a frame's PTS and its send time
// by the simulator, both counted from the first frame, over a run of
// `frames` frames at 1 fps without the burst. A late first stamp shows in
// every frame's distance.
double worst_pts_error_from_first_frame(std::size_t frames) {
  TempDir dir;
  const fs::path sent_times = dir.path / "sent.txt";
  auto extra = camera_frames();
  extra.insert(extra.end(), {"--timing", sent_times.string()});
  SimulatorProcess sim(extra, "1");
  auto c = encoding_client(sim, {"--frames", std::to_string(frames), "--keyframe-burst", "0"});
  REQUIRE(c.wait_for_exit(k_wait) == 0);
  const auto p = packets(save(dir.path, "out.ts", c.stdout_bytes()));
  const auto sent = read_table(sent_times);
  REQUIRE(p.size() == frames);
  REQUIRE(sent.size() >= frames);
  CHECK(p[0].pts == 0);
  double worst = 0;
  for (std::size_t i = 1; i < frames; ++i) {
    const double sent_s = static_cast<double>(sent[i][2] - sent[0][2]) / 1e9;
    worst = std::max(worst, std::abs(p[i].pts - sent_s));
  }
  return worst;
}

// Not under qemu: it bounds times to 10 ms. A thread of ours or the
// simulator's can be scheduled late on a shared machine now and then, so a
// run may be tried three times; a PTS that is off by itself (a first frame
// stamped 41 ms late, as once measured) is off in every run.
TEST_CASE("jpeg source as H.264 at 1 fps: the first frame's PTS is its arrival too, steps within 10 ms of the camera's",
          "[not-under-qemu]") {
  double worst = 1;
  for (int attempt = 0; attempt < 3 && worst > 0.010; ++attempt) {
    worst = worst_pts_error_from_first_frame(4);
    std::fprintf(stderr, "first-frame PTS: worst distance from the send time %.1f ms (run %d)\n", worst * 1e3,
                 attempt + 1);
  }
  CHECK(worst <= 0.010);
}

// Not under qemu: it bounds times, and a keyframe must encode within 250 ms.
TEST_CASE("jpeg source as H.264 at 1 fps: in the start-up burst the newest picture is repeated as a keyframe 4 times a "
          "second, stamped when written, not counted as frames",
          "[not-under-qemu]") {
  TempDir dir;
  const fs::path written = dir.path / "written.txt", hb = dir.path / "hb.json";
  SimulatorProcess sim(camera_frames(), "1");
  auto c = encoding_client(sim, {"--frames", "6", "--timing", written.string(), "--heartbeat", hb.string()});
  REQUIRE(c.wait_for_exit(k_wait) == 0);
  const fs::path ts = save(dir.path, "out.ts", c.stdout_bytes());
  CHECK(ffprobe_warnings(ts).empty());
  const auto units = read_written(written);
  const auto p = packets(ts);
  REQUIRE(p.size() == units.size());
  const auto camera = std::count_if(units.begin(), units.end(), [](const Written& u) { return !u.repeat; });
  CHECK(camera == 6);
  const auto repeats = static_cast<long long>(units.size()) - camera;
  // 3 between each of the first 5 camera frames: 12, less any the machine was
  // too slow for, or one more in the first second, before the camera's pace is known.
  CHECK(repeats >= 10);
  CHECK(repeats <= 13);
  const double burst_end_s = 4.0 + 0.1;
  // A repeat's PTS is when it was made, just before its encoding and write:
  // PTS and write times differ by about one offset (the first unit's own
  // encoding), each within an encoding's time of it.
  std::vector<double> offsets;
  for (std::size_t i = 0; i < units.size(); ++i) {
    offsets.push_back(p[i].pts - static_cast<double>(units[i].ns - units[0].ns) / 1e9);
  }
  std::vector<double> sorted_offsets = offsets;
  std::sort(sorted_offsets.begin(), sorted_offsets.end());
  const double offset = sorted_offsets[sorted_offsets.size() / 2];
  std::vector<double> key_gaps;
  double last_key = 0;
  for (std::size_t i = 0; i < units.size(); ++i) {
    const double t = p[i].pts;
    INFO("unit " << i << ": PTS " << t << " s, written " << t - offsets[i] << " s after the first, repeat "
                 << units[i].repeat);
    CHECK(std::abs(offsets[i] - offset) <= 0.150);
    if (i > 0) CHECK(p[i].pts > p[i - 1].pts);
    if (!units[i].repeat) continue;
    CHECK(units[i].keyframe);
    CHECK(p[i].keyframe);
    CHECK(t < burst_end_s);  // only in the burst
  }
  for (std::size_t i = 0; i < units.size(); ++i) {
    const double t = p[i].pts;  // when the unit was made (a camera frame: when its JPEG came)
    if (t > 3.9 || !units[i].keyframe) continue;
    if (i > 0) key_gaps.push_back(t - last_key);
    last_key = t;
  }
  // A player that connects in the burst waits about 0.3 s at most for a keyframe.
  REQUIRE(!key_gaps.empty());
  std::sort(key_gaps.begin(), key_gaps.end());
  CHECK(key_gaps[key_gaps.size() * 9 / 10] <= 0.300);
  CHECK(key_gaps.back() <= 0.500);
  const json h = read_json(hb);
  CHECK(h["frames"] == 6);
  CHECK(h["repeats"] == repeats);
}

TEST_CASE("option --keyframe-burst 0: no repeats, only camera frames") {
  TempDir dir;
  const fs::path written = dir.path / "written.txt";
  SimulatorProcess sim(camera_frames(), "2");
  auto c = encoding_client(sim, {"--frames", "3", "--keyframe-burst", "0", "--timing", written.string()});
  REQUIRE(c.wait_for_exit(k_wait) == 0);
  const auto units = read_written(written);
  REQUIRE(units.size() == 3);
  for (const auto& u : units) CHECK_FALSE(u.repeat);
}

// Not under qemu: it bounds times.
TEST_CASE("option --output-fps 5: a 1 fps camera written as a frame every 0.2 s, repeats as P-frames stamped when "
          "written",
          "[not-under-qemu]") {
  TempDir dir;
  const fs::path written = dir.path / "written.txt", hb = dir.path / "hb.json";
  SimulatorProcess sim(camera_frames(), "1");
  auto c = encoding_client(sim, {"--frames", "4", "--output-fps", "5", "--keyframe-burst", "0", "--timing",
                                 written.string(), "--heartbeat", hb.string()});
  REQUIRE(c.wait_for_exit(k_wait) == 0);
  const fs::path ts = save(dir.path, "out.ts", c.stdout_bytes());
  CHECK(ffprobe_warnings(ts).empty());
  const auto units = read_written(written);
  const auto p = packets(ts);
  REQUIRE(p.size() == units.size());
  json streams = ffprobe(ts, {"-count_frames", "-show_streams"})["streams"];
  REQUIRE(streams.size() == 1);
  CHECK(std::stoul(streams[0]["nb_read_frames"].get<std::string>()) == units.size());  // every repeat decodes
  std::size_t repeats = 0;
  std::vector<double> steps;
  for (std::size_t i = 1; i < units.size(); ++i) {
    // PTS: a camera frame's arrival, a repeat's making, each about when written.
    const double step = p[i].pts - p[i - 1].pts;
    INFO("unit " << i << ": PTS " << p[i].pts << " s, " << step << " s after the one before");
    CHECK(step > 0);
    steps.push_back(step);
    if (!units[i].repeat) continue;
    ++repeats;
    CHECK_FALSE(units[i].keyframe);  // past the burst (there is none): P-frames
  }
  // Steady: a unit every 0.2 s at most, but for the odd thread a busy machine
  // schedules late.
  std::sort(steps.begin(), steps.end());
  CHECK(steps[steps.size() * 9 / 10] <= 0.2 + 0.030);
  CHECK(steps.back() <= 0.2 + 0.300);
  // 4 between each of 4 frames 1 s apart: 12, less one a busy machine may
  // lose, or one more in the first second, before the camera's pace is known.
  CHECK(repeats >= 11);
  CHECK(repeats <= 13);
  const json h = read_json(hb);
  CHECK(h["frames"] == 4);
  CHECK(h["repeats"] == repeats);
}

// Not under qemu: it bounds times, and encoding there is slower than the repeats' interval.
TEST_CASE("option --output-fps: a session that stalls stops the repeats, and the next session's first frame resumes "
          "them",
          "[not-under-qemu]") {
  TempDir dir;
  const fs::path written = dir.path / "written.txt";
  SimulatorProcess sim({"--fault", "stall", "--fault-after", "2"}, "2");
  auto c = encoding_client(sim, {"--frames", "4", "--output-fps", "4", "--keyframe-burst", "0", "--stall-timeout",
                                 "2", "--timing", written.string()});
  REQUIRE(c.wait_for_exit(k_wait) == 0);
  const auto units = read_written(written);
  // Camera frames 2 and 3 are the second session's; before it, the stall:
  // repeats go on until the watchdog drops the session (2 s after frame 1),
  // then nothing until the new session's first frame.
  std::vector<std::size_t> camera;
  for (std::size_t i = 0; i < units.size(); ++i) {
    if (!units[i].repeat) camera.push_back(i);
  }
  REQUIRE(camera.size() == 4);
  const long long stalled_at = units[camera[1]].ns;
  const long long resumed_at = units[camera[2]].ns;
  REQUIRE(resumed_at - stalled_at > 2'500'000'000);  // the watchdog's 2 s and a reconnect
  for (std::size_t i = camera[1] + 1; i < camera[2]; ++i) {
    INFO("repeat " << i << " written " << static_cast<double>(units[i].ns - stalled_at) / 1e6 << " ms after the last frame of session 1");
    CHECK(units[i].ns - stalled_at <= 2'300'000'000);  // none once the session was dropped
  }
  CHECK(camera[2] - camera[1] - 1 >= 4);  // but until then, about 4 a second (7 in the 2 s, less any lost)
  CHECK(camera[3] - camera[2] - 1 >= 1);  // and again after the new session's first frame
}

TEST_CASE("jpeg source as Annex-B H.264: starts 00 00 00 01 SPS, SPS and PPS before every IDR, decodes") {
  TempDir dir;
  const fs::path written = dir.path / "written.txt";
  SimulatorProcess sim({}, "10");
  auto c = client({"--host", "127.0.0.1", "--source", "jpeg", "--port", sim.port(), "--access-code", k_sim_code,
                   "--format", "h264", "--frames", "30", "--keyframe-interval", "1", "--keyframe-burst", "0.5",
                   "--timing", written.string()});
  REQUIRE(c.wait_for_exit(k_wait) == 0);
  const Bytes out = c.stdout_bytes();
  REQUIRE(out.size() > 5);
  CHECK(Bytes(out.begin(), out.begin() + 4) == Bytes{0, 0, 0, 1});
  CHECK((out[4] & 0x1F) == 7);
  // Cut the stream into its units by the sizes we wrote.
  const auto units = read_table(written);
  REQUIRE(units.size() == 30);
  std::size_t offset = 0, keyframes = 0;
  for (const auto& unit : units) {
    const Bytes au(out.begin() + static_cast<std::ptrdiff_t>(offset),
                   out.begin() + static_cast<std::ptrdiff_t>(offset + static_cast<std::size_t>(unit[1])));
    offset += au.size();
    const auto types = nal_types(au);
    const bool idr = std::find(types.begin(), types.end(), 5) != types.end();
    CHECK(idr == (unit[2] == 1));
    if (idr) {
      ++keyframes;
      const auto first_idr = std::find(types.begin(), types.end(), 5);
      CHECK(std::find(types.begin(), first_idr, 7) != first_idr);
      CHECK(std::find(types.begin(), first_idr, 8) != first_idr);
    }
  }
  CHECK(offset == out.size());
  CHECK(keyframes >= 3);
  CHECK(keyframes < 30);
  json streams = ffprobe(save(dir.path, "out.h264", out), {"-count_frames", "-show_streams"})["streams"];
  REQUIRE(streams.size() == 1);
  CHECK(streams[0]["codec_name"] == "h264");
  CHECK(streams[0]["nb_read_frames"] == "30");
}

// Not under qemu: frame-exact, it needs every JPEG encoded within 200 ms.
TEST_CASE("jpeg source as H.264, reconnect mid-stream: PTS monotonic and continuous, a keyframe right after",
          "[not-under-qemu]") {
  TempDir dir;
  const fs::path written = dir.path / "written.txt", hb = dir.path / "hb.json";
  SimulatorProcess sim({"--fault", "drop-mid-frame", "--fault-after", "6"}, "5");
  auto c = encoding_client(sim, {"--frames", "16", "--timing", written.string(), "--heartbeat", hb.string(),
                                 "--keyframe-interval", "2"});
  REQUIRE(c.wait_for_exit(k_wait) == 0);
  const fs::path ts = save(dir.path, "out.ts", c.stdout_bytes());
  CHECK(ffprobe_warnings(ts).empty());
  CHECK(read_json(hb)["reconnects"] == 1);
  const auto p = packets(ts);
  const auto units = read_table(written);
  REQUIRE(p.size() == 16);
  REQUIRE(units.size() == 16);
  // Where the reconnect is: the one long gap between our writes.
  std::size_t after = 0;
  for (std::size_t i = 1; i < units.size(); ++i) {
    if (static_cast<double>(units[i][0] - units[i - 1][0]) / 1e9 > 0.6) after = i;
  }
  REQUIRE(after == 6);
  CHECK(p[after].keyframe);
  for (std::size_t i = 1; i < p.size(); ++i) {
    CHECK(p[i].pts > p[i - 1].pts);       // monotonic
    CHECK(p[i].pts - p[i - 1].pts < 0.5);  // continuous: the reconnect's wait is not in the timeline
  }
}

// Not under qemu: it needs the bad JPEG not to be replaced while the encoder is busy.
TEST_CASE("an undecodable JPEG is skipped with a warning and counted, the stream goes on", "[not-under-qemu]") {
  TempDir dir;
  const fs::path hb = dir.path / "hb.json";
  SimulatorProcess sim({"--fault", "undecodable", "--fault-after", "2"}, "4");
  auto c = encoding_client(sim, {"--frames", "6", "--heartbeat", hb.string()});
  REQUIRE(c.wait_for_exit(k_wait) == 0);
  const json h = read_json(hb);
  // At 4 fps the encoder is idle when each JPEG comes; only on a machine too
  // busy to encode in 250 ms could the bad JPEG be replaced before its turn.
  REQUIRE(h["dropped"] == 0);
  CHECK_THAT(c.stderr_text(), Catch::Contains("warning: skipped 1 JPEG(s) that did not decode (the last: 2000 bytes"));
  CHECK(h["decode_failures"] == 1);
  CHECK(h["reconnects"] == 0);
  CHECK(h["frames"] == 6);
  CHECK(ffprobe_warnings(save(dir.path, "out.ts", c.stdout_bytes())).empty());
}

TEST_CASE("a camera that sends only undecodable JPEGs trips the stall watchdog, then the stream resumes") {
  TempDir dir;
  const fs::path hb = dir.path / "hb.json";
  SimulatorProcess sim({"--fault", "undecodable-all", "--fault-after", "2"}, "10");
  auto c = encoding_client(sim, {"--frames", "8", "--stall-timeout", "1.5", "--heartbeat", hb.string()});
  REQUIRE(c.wait_for_exit(k_wait) == 0);
  CHECK_THAT(c.stderr_text(), Catch::Contains("stall: no JPEG from 127.0.0.1:" + sim.port() + " decoded for 1.5 s"));
  CHECK_THAT(c.stderr_text(), Catch::Contains("did not decode"));
  const json h = read_json(hb);
  CHECK(h["reconnects"] == 1);
  CHECK(h["decode_failures"].get<int>() >= 10);
  CHECK(h["frames"] == 8);
  CHECK_THAT(sim.log(), Catch::Contains("session 2 opened"));
}

// Not under qemu: frame-exact, it needs every JPEG encoded within 100 ms.
TEST_CASE("a resolution change reopens the encoder: a keyframe at the new size, the TS runs on", "[not-under-qemu]") {
  TempDir dir;
  SimulatorProcess sim({"--fault", "resize", "--fault-after", "3"}, "10");
  // No burst, so no repeats between frames should a busy machine hold one up.
  auto c = encoding_client(sim, {"--frames", "8", "--keyframe-burst", "0"});
  REQUIRE(c.wait_for_exit(k_wait) == 0);
  CHECK_THAT(c.stderr_text(), Catch::Contains("the camera's pictures are now 640x360"));
  const fs::path ts = save(dir.path, "out.ts", c.stdout_bytes());
  CHECK(ffprobe_warnings(ts).empty());
  const auto sizes = frame_sizes(ts);
  REQUIRE(sizes.size() == 8);
  for (std::size_t i = 0; i < 8; ++i) CHECK(sizes[i] == (i < 3 ? std::pair{1280, 720} : std::pair{640, 360}));
  const auto p = packets(ts);
  REQUIRE(p.size() == 8);
  CHECK(p[3].keyframe);
  for (std::size_t i = 1; i < p.size(); ++i) CHECK(p[i].pts > p[i - 1].pts);
}

TEST_CASE("option --encoder nosuch: exit 2 before connecting, the first line lists the H.264 encoders") {
  SimulatorProcess sim;
  auto c = encoding_client(sim, {"--encoder", "nosuch"});
  CHECK(c.wait_for_exit(k_wait) == 2);
  CHECK_THAT(first_line(c.stderr_text()),
             Catch::StartsWith("error: --encoder nosuch: no such encoder in this FFmpeg; the H.264 encoders of "
                               "this FFmpeg are: ") &&
                 Catch::Contains("libx264"));
  CHECK(c.stdout_size() == 0);
  CHECK(sim.log().find("session 1") == std::string::npos);  // never connected
  for (std::vector<std::string> bad : {std::vector<std::string>{"--bitrate", "10"}, {"--quality", "60"},
                                       {"--keyframe-interval", "5"}}) {
    auto u = encoding_client(sim, bad);
    CHECK(u.wait_for_exit(k_wait) == 2);
    CHECK_THAT(first_line(u.stderr_text()), Catch::StartsWith("error: ") && Catch::Contains(bad[0]));
  }
}

TEST_CASE("FFmpeg only where needed: an MJPEG stream never loads libavcodec, an encoding one does") {
  SimulatorProcess sim({}, "10");
  auto mjpeg = client({"--host", "127.0.0.1", "--source", "jpeg", "--port", sim.port(), "--access-code", k_sim_code});
  REQUIRE(mjpeg.wait_for_stdout(3 * 1000, k_wait));  // streaming
  CHECK(status_kib(mjpeg.pid(), "VmHWM") > 0);
#if BAMBU_TEST_MEASURES_RSS  // not under ASan (shadow memory) or qemu (its own RSS is the process's)
  CHECK(status_kib(mjpeg.pid(), "VmHWM") <= k_mjpeg_max_rss_kib);
#endif
  CHECK_FALSE(maps_library(mjpeg.pid(), "libavcodec"));
  CHECK_FALSE(maps_library(mjpeg.pid(), "libswscale"));
  sigterm_exits_0_within_1s(mjpeg);
  auto h264 = encoding_client(sim, {});
  REQUIRE(h264.wait_for_stdout(3 * 188, k_wait));
#if BAMBU_TEST_STATIC
  // The static binary has FFmpeg inside: it maps no library at all.
  CHECK_FALSE(maps_library(h264.pid(), ".so"));
#else
  CHECK(maps_library(h264.pid(), "libavcodec"));
  CHECK(maps_library(h264.pid(), "libswscale"));
#endif
  sigterm_exits_0_within_1s(h264);
}

TEST_CASE("option --bitrate caps the encoded stream once the camera's pace is known", "[long]") {
  TempDir dir;
  const fs::path written = dir.path / "written.txt";
  SimulatorProcess sim(camera_frames(), "5");
  auto c = encoding_client(sim, {"--frames", "40", "--bitrate", "400", "--keyframe-burst", "1", "--timing",
                                 written.string()});
  REQUIRE(c.wait_for_exit(k_wait) == 0);
  const auto units = read_table(written);
  REQUIRE(units.size() == 40);
  // Past the first 3 s (the pace learnt, the burst over): bits over time.
  long long bytes = 0;
  for (std::size_t i = 15; i < units.size(); ++i) bytes += units[i][1];
  const double seconds = static_cast<double>(units.back()[0] - units[14][0]) / 1e9;
  const double kbps = static_cast<double>(bytes) * 8 / 1000 / seconds;
  CHECK(kbps < 400 * 1.25);  // VBV over one second, TS overhead included
  CHECK(kbps > 100);         // and still a picture
  CHECK(ffprobe_warnings(save(dir.path, "out.ts", c.stdout_bytes())).empty());
}

TEST_CASE("simulate --frames-dir: the JPEGs of a folder in name order, looping, a --record capture cut into frames") {
  TempDir dir;
  const fs::path frames = dir.path / "frames";
  fs::create_directory(frames);
  const Bytes f1 = read_file(k_camera_frames / "frame_001.jpg"), f3 = read_file(k_camera_frames / "frame_003.jpg"),
              f5 = read_file(k_camera_frames / "frame_005.jpg"), f6 = read_file(k_camera_frames / "frame_006.jpg");
  REQUIRE_FALSE(f1.empty());
  save(frames, "b.jpg", f3);
  save(frames, "a.JPG", f1);
  Bytes capture = f5;
  capture.insert(capture.end(), f6.begin(), f6.end());
  save(frames, "c.mjpeg", capture);  // as `simulate --record` or `--format mjpeg > FILE` writes
  save(frames, "notes.txt", {'x'});   // not a picture: left out
  SimulatorProcess sim({"--frames-dir", frames.string()}, "20");
  auto c = client({"--host", "127.0.0.1", "--source", "jpeg", "--port", sim.port(), "--access-code", k_sim_code,
                   "--frames", "8"});
  REQUIRE(c.wait_for_exit(k_wait) == 0);
  auto got = bambu::test::split_jpegs(c.stdout_bytes());
  REQUIRE(got);
  CHECK(*got == std::vector<Bytes>{f1, f3, f5, f6, f1, f3, f5, f6});

  save(frames, "d.jpg", {0xFF, 0xD8, 0x00});  // not a whole JPEG: refused at start
  auto bad = client({"simulate", "--listen", "127.0.0.1:0", "--access-code", k_sim_code, "--frames-dir",
                     frames.string()});
  CHECK(bad.wait_for_exit(k_wait) == 2);
  CHECK_THAT(first_line(bad.stderr_text()), Catch::Contains("d.jpg is not whole JPEGs"));
}
