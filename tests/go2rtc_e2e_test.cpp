// End-to-end under the real go2rtc: the built bambu-stream run as
// an `exec:` source of go2rtc 1.9.14 (through go2rtc-loopback, 127.0.0.1
// only), as users run it, watched by an RTSP client of go2rtc
// (tests/support/rtsp_client.py) that notes when each H.264 frame arrives.
// The camera is `bambu-stream simulate --frames-dir` serving camera-720p
// (1280x720 camera-like JPEGs, IDRs over 64 KB), or the RTSPS test server
// serving the same pictures as H.264. Skips (ctest: "Skipped", exit 77) with
// the reason where go2rtc or the frames are missing.
#include <signal.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "support/child_process.h"
#include "support/e2e.h"
#include "support/ffprobe.h"
#include "support/go2rtc.h"
#include "support/rtsps_server.h"
#include "support/simulator_process.h"
#include "support/temp_dir.h"
#include "support/wait.h"

using namespace std::chrono_literals;
using namespace bambu::test::go2rtc;
using bambu::test::e2e::k_camera_frames;
using bambu::test::ChildOptions;
using bambu::test::ChildProcess;
using bambu::test::e2e::ffprobe;
using bambu::test::e2e::ffprobe_warnings;
using bambu::test::RtspsServer;
using bambu::test::SimulatorProcess;
using bambu::test::TempDir;
using bambu::test::wait_until;
using bambu::test::e2e::k_binary;
using bambu::test::e2e::read_file;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr const char* k_code = bambu::test::k_sim_code;
constexpr double k_keyframe_interval_s = 2.0;  // bambu-stream's default --keyframe-interval

double ms(std::int64_t ns) { return static_cast<double>(ns) / 1e6; }

// Skips the test unless go2rtc and the camera-720p frames are here.
void skip_unless_ready() {
  skip_without_go2rtc();
  if (!fs::exists(k_camera_frames / "frame_001.jpg")) {
    std::fprintf(stderr, "SKIPPED: the camera-720p frames are missing: %s\n", k_camera_frames.c_str());
    std::fflush(stderr);
    std::_Exit(k_skip);
  }
}

// `bambu-stream simulate` serving camera-720p at `fps`, with `extra` options.
class Camera : public SimulatorProcess {
 public:
  explicit Camera(const std::string& fps, std::vector<std::string> extra = {})
      : SimulatorProcess(with_frames(std::move(extra)), fps) {}

 private:
  static std::vector<std::string> with_frames(std::vector<std::string> extra) {
    extra.insert(extra.begin(), {"--frames-dir", k_camera_frames.string()});
    return extra;
  }
};

// The `streams:` section for one exec: stream of bambu-stream, the access
// code `code` in a file (as users keep it). Paths hold no spaces or '#'
// (go2rtc splits on spaces; everything after '#' is its own).
std::string exec_stream(const std::string& name, const fs::path& dir, const std::vector<std::string>& args,
                        const std::string& code = k_code) {
  {
    std::ofstream file(dir / "code");
    file << code << "\n";
  }
  std::string line = "exec:" + std::string(k_binary) + " --host 127.0.0.1 --access-code-file " +
                     (dir / "code").string() + " --heartbeat " + (dir / "hb.json").string() + " --timing " +
                     (dir / "timing").string();
  for (const auto& a : args) line += " " + a;
  return "streams:\n  " + name + ": " + line + "#killsignal=15#killtimeout=5\n";
}

// camera-720p from `simulate` at `fps`, and go2rtc running bambu-stream
// (--source jpeg --format mpegts) on it as the stream p1s, with its
// --heartbeat and --timing files in `dir`.
struct JpegUnderGo2rtc {
  Camera camera;
  TempDir dir;
  Go2rtc go2rtc;
  JpegUnderGo2rtc(const std::string& fps, std::vector<std::string> camera_options = {},
                  std::vector<std::string> stream_options = {})
      : camera(fps, std::move(camera_options)), dir("go2rtc-jpeg"), go2rtc(streams(stream_options)) {}
  std::string streams(std::vector<std::string> options) {
    std::vector<std::string> args = {"--port", camera.port(), "--source", "jpeg", "--format", "mpegts"};
    args.insert(args.end(), options.begin(), options.end());
    return exec_stream("p1s", dir.path, args);
  }
  std::string url() const { return go2rtc.rtsp_url("p1s"); }
};

json heartbeat(const fs::path& path) { return json::parse(read_file(path), nullptr, false); }

// Waits until bambu-stream has written at least `n` units (its --timing),
// and returns those written by then (fewer after `timeout`).
std::vector<WrittenUnit> wait_for_units(const fs::path& timing, std::size_t n, std::chrono::seconds timeout) {
  std::vector<WrittenUnit> units;
  wait_until(
      [&] {
        units = read_timing(timing);
        return units.size() >= n;
      },
      timeout, 20ms);
  return units;
}

// Checks that every frame the client got after PLAY reached it within 50 ms
// of bambu-stream writing it, and that some of them were IDRs over 64 KB.
void check_frame_to_client(const std::vector<WrittenUnit>& units, const RtspResult& r) {
  // Frames go2rtc had read before the client's PLAY are passed on at PLAY;
  // the figure is about frames written while the client watches.
  auto fit = align(units, r.frames);
  REQUIRE(fit);
  INFO("aligned at unit " << fit->first << " of " << units.size() << ", mean size mismatch " << fit->second
                          << " bytes");
  CHECK(fit->second < 500);
  double worst = 0;
  std::size_t large_idrs = 0, counted = 0;
  for (std::size_t i = 0; i < r.frames.size(); ++i) {
    const auto& u = units[fit->first + i];
    if (u.written_ns <= r.play_ns) continue;
    ++counted;
    const double delay = ms(r.frames[i].recv_ns - u.written_ns);
    worst = std::max(worst, delay);
    if (r.frames[i].keyframe && r.frames[i].bytes > 65535) ++large_idrs;
    CHECK(r.frames[i].keyframe == u.keyframe);
  }
  std::fprintf(stderr, "frame to client: %zu frames, worst %.1f ms, %zu IDRs over 64 KB\n", counted, worst,
               large_idrs);
  CHECK(counted >= 10);
  CHECK(large_idrs >= 3);
  CHECK(worst < 50);
}

}  // namespace

TEST_CASE("go2rtc: the encoded H.264 over go2rtc's RTSP decodes as 1280x720 Constrained Baseline yuv420p") {
  skip_unless_ready();
  JpegUnderGo2rtc s("5");
  RtspClient client(s.url(), {"--frames", "15", "--timeout", "20", "--annexb",
                                             (s.dir.path / "got.h264").string()});
  const RtspResult r = client.result();
  INFO("go2rtc log:\n" << s.go2rtc.log());
  REQUIRE(r.end == "frames");
  CHECK(r.frames.front().keyframe);  // the first frame a client gets can be decoded
  const json streams = ffprobe(s.dir.path / "got.h264", {"-count_frames", "-show_streams"})["streams"];
  REQUIRE(streams.size() == 1);
  CHECK(streams[0]["codec_name"] == "h264");
  CHECK(streams[0]["profile"] == "Constrained Baseline");
  CHECK(streams[0]["width"] == 1280);
  CHECK(streams[0]["height"] == 720);
  CHECK(streams[0]["pix_fmt"] == "yuv420p");
  CHECK(streams[0]["nb_read_frames"] == "15");
  CHECK(ffprobe_warnings(s.dir.path / "got.h264") == "");
}

TEST_CASE("go2rtc: bambu-stream's own MPEG-TS, empty PES included, is read by ffprobe with no warning") {
  skip_unless_ready();
  Camera camera("10");
  TempDir dir("go2rtc-ts");
  auto c = bambu::test::e2e::client({"--host", "127.0.0.1", "--port", camera.port(), "--access-code", k_code,
                                     "--source", "jpeg", "--format", "mpegts", "--frames", "30"});
  REQUIRE(c.wait_for_exit(bambu::test::e2e::k_wait) == 0);
  const auto out = c.stdout_bytes();
  {
    std::ofstream f(dir.path / "out.ts", std::ios::binary);
    f.write(reinterpret_cast<const char*>(out.data()), static_cast<std::streamsize>(out.size()));
  }
  CHECK(ffprobe_warnings(dir.path / "out.ts") == "");
  const json streams = ffprobe(dir.path / "out.ts", {"-count_frames", "-show_streams"})["streams"];
  REQUIRE(streams.size() == 1);
  CHECK(streams[0]["nb_read_frames"] == "30");
}

TEST_CASE("go2rtc: stops bambu-stream with SIGTERM when the last client leaves, and it exits 0") {
  skip_unless_ready();
  JpegUnderGo2rtc s("5");
  RtspClient client(s.url(), {"--seconds", "2", "--timeout", "20"});
  const RtspResult r = client.result();
  const auto left = std::chrono::steady_clock::now();
  INFO("go2rtc log:\n" << s.go2rtc.log());
  REQUIRE(r.end == "seconds");
  REQUIRE(!r.frames.empty());
  const json running = heartbeat(s.dir.path / "hb.json");
  REQUIRE(running.is_object());
  const int pid = running["pid"].get<int>();
  // Stopped: the final heartbeat (written after the signal, on the way to
  // exit 0), then the pid gone (go2rtc reaped it).
  json hb;
  wait_until(
      [&] {
        hb = heartbeat(s.dir.path / "hb.json");
        return hb.is_object() && hb["state"] == "stopped" && ::kill(pid, 0) != 0 && errno == ESRCH;
      },
      10s, 20ms);
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - left).count();
  REQUIRE(hb.is_object());
  CHECK(hb["state"] == "stopped");
  CHECK(hb["last_error"].is_null());
  CHECK(::kill(pid, 0) != 0);
  CHECK(took < 5);  // before go2rtc's killtimeout=5 would have sent SIGKILL
  const std::string log = s.go2rtc.log();
  CHECK(log.find("kill with signal=15") != std::string::npos);
  CHECK(log.find(" ERR ") == std::string::npos);
  CHECK(log.find(" WRN ") == std::string::npos);
}

// Not under qemu: a timing bound on the encoder.
TEST_CASE("go2rtc: a client joining a running stream 10 s late gets a keyframe within the interval + 0.5 s",
          "[long][not-under-qemu]") {
  skip_unless_ready();
  JpegUnderGo2rtc s("5", {"--jitter", "30"});
  RtspClient first(s.url(), {"--seconds", "15", "--timeout", "40"});
  const auto units = wait_for_units(s.dir.path / "timing", 1, 20s);
  REQUIRE(!units.empty());
  // 10 s after bambu-stream's first frame, well past its start-up burst.
  std::this_thread::sleep_until(std::chrono::steady_clock::time_point(std::chrono::nanoseconds(units[0].written_ns)) +
                                10s);
  RtspClient late(s.url(), {"--keyframes", "1", "--timeout", "10"});
  const RtspResult l = late.result();
  const RtspResult f = first.result();
  INFO("go2rtc log:\n" << s.go2rtc.log());
  REQUIRE(l.end == "keyframes");
  const double wait_s = static_cast<double>(l.first_keyframe()->recv_ns - l.play_ns) / 1e9;
  std::fprintf(stderr, "late join: keyframe %.3f s after PLAY, after %zu other frames\n", wait_s, l.frames.size() - 1);
  CHECK(wait_s <= k_keyframe_interval_s + 0.5);
  // The first client kept streaming; keyframes in camera time at most the
  // interval (plus a frame) apart.
  REQUIRE(f.end == "seconds");
  CHECK(f.frames.size() >= 60);
  double gap = 0;
  std::optional<std::uint32_t> last;
  for (const auto& fr : f.frames) {
    if (!fr.keyframe) continue;
    if (last) gap = std::max(gap, static_cast<double>(fr.rtp_timestamp - *last) / 90000.0);
    last = fr.rtp_timestamp;
  }
  CHECK(gap <= k_keyframe_interval_s + 0.25);
}

// Not under qemu: a timing bound on the encoder's start.
TEST_CASE("go2rtc: on an on-demand start at 1 fps the first decodable frame reaches the client within 2 s",
          "[not-under-qemu]") {
  skip_unless_ready();
  JpegUnderGo2rtc s("1");
  RtspClient client(s.url(), {"--keyframes", "1", "--timeout", "10"});
  const RtspResult r = client.result();
  INFO("go2rtc log:\n" << s.go2rtc.log());
  REQUIRE(r.end == "keyframes");
  const double first_s = static_cast<double>(r.first_keyframe()->recv_ns - r.start_ns) / 1e9;
  const auto units = read_timing(s.dir.path / "timing");
  REQUIRE(!units.empty());
  // What the start-up burst must cover: bambu-stream's first unit to PLAY.
  std::fprintf(stderr, "on-demand at 1 fps: first decodable frame %.3f s after the client's start; "
               "first unit written to PLAY %.1f ms\n", first_s, ms(r.play_ns - units[0].written_ns));
  CHECK(first_s < 2.0);
}

// Not under qemu: a timing bound, and frame matching that needs no drops.
TEST_CASE("go2rtc: a camera-720p frame written by bambu-stream (jpeg path) reaches go2rtc's RTSP client within 50 ms",
          "[not-under-qemu]") {
  skip_unless_ready();
  // CRF 28: every keyframe over the 65,535 bytes a PES length can state.
  JpegUnderGo2rtc s("5", {"--jitter", "40"}, {"--quality", "28"});
  RtspClient client(s.url(), {"--seconds", "6", "--timeout", "30"});
  const RtspResult r = client.result();
  INFO("go2rtc log:\n" << s.go2rtc.log());
  REQUIRE(r.end == "seconds");
  check_frame_to_client(wait_for_units(s.dir.path / "timing", 1, 5s), r);
}

// Not under qemu: a timing bound.
TEST_CASE("go2rtc: a camera-720p frame written by bambu-stream (rtsps path) reaches go2rtc's RTSP client within 50 ms",
          "[not-under-qemu]") {
  skip_unless_ready();
  RtspsServer server({"--frames-dir", k_camera_frames.string(), "--fps", "5", "--gop", "10", "--quantizer", "24"});
  TempDir dir("go2rtc-rtsps");
  Go2rtc go2rtc(exec_stream("x1c", dir.path, {"--port", server.port(), "--source", "rtsps", "--format", "mpegts"},
                            bambu::test::k_rtsps_code));
  RtspClient client(go2rtc.rtsp_url("x1c"), {"--seconds", "6", "--timeout", "30"});
  const RtspResult r = client.result();
  INFO("go2rtc log:\n" << go2rtc.log());
  REQUIRE(r.end == "seconds");
  check_frame_to_client(wait_for_units(dir.path / "timing", 1, 5s), r);
}
