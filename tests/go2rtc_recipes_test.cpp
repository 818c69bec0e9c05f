// The shipped go2rtc configurations under the real go2rtc 1.9.14
// (go2rtc-loopback: 127.0.0.1 only), with simulators (and the RTSPS test
// server) standing in for printers: docker/go2rtc.yaml, the image's one
// preloaded H.264 stream `printer`, and go2rtc.yaml.example, one line per
// printer. Each is read from the source tree and changed only where this
// machine differs from a user's: the binary's path, the folders (/config,
// /tmp/bambu), a --port for the simulator's ephemeral port; sections that
// go2rtc-loopback writes itself (webrtc:, exec:) are left out.
// The status server runs as docker/entrypoint.sh starts it.
#include <signal.h>

#include <catch2/catch.hpp>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>

#include "support/child_process.h"
#include "support/e2e.h"
#include "support/go2rtc.h"
#include "support/rtsps_server.h"
#include "support/simulator_process.h"
#include "support/status_listener.h"
#include "support/temp_dir.h"
#include "support/text_file.h"
#include "support/wait.h"

using namespace std::chrono_literals;
using namespace bambu::test::go2rtc;
using bambu::test::ChildOptions;
using bambu::test::ChildProcess;
using bambu::test::k_rtsps_code;
using bambu::test::k_sim_code;
using bambu::test::RtspsServer;
using bambu::test::SimulatorProcess;
using bambu::test::StatusListener;
using bambu::test::TempDir;
using bambu::test::wait_until;
using bambu::test::read_text;
using bambu::test::e2e::k_binary;
using bambu::test::e2e::read_file;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

const fs::path k_source = fs::path(BAMBU_TESTS_DIR) / "..";

void replace_all(std::string& text, const std::string& from, const std::string& to) {
  for (auto pos = text.find(from); pos != std::string::npos; pos = text.find(from, pos + to.size())) {
    text.replace(pos, from.size(), to);
  }
}

// The `streams:` and `preload:` sections of a shipped configuration, the
// only ones go2rtc-loopback takes; `sections` end at the next top-level key.
std::string streams_and_preload(const std::string& config) {
  std::istringstream in(config);
  std::string out;
  bool keep = false;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line[0] != ' ' && line[0] != '#') keep = line == "streams:" || line == "preload:";
    if (keep) out += line + "\n";
  }
  return out;
}

// The JSON body of `bambu-stream status`'s heartbeat file, or null.
json heartbeat(const fs::path& p) {
  const auto bytes = read_file(p);
  return json::parse(bytes.begin(), bytes.end(), nullptr, false);
}

// `bambu-stream status --listen` as docker/entrypoint.sh starts it.
StatusListener status_server(const fs::path& heartbeat, const fs::path& dir) {
  return StatusListener({"--heartbeat", heartbeat.string(), "--heartbeat-dir", dir.string()});
}

// How often the simulator logged a session opening: one per bambu-stream
// connection to the camera, so one per process.
std::size_t sessions(const SimulatorProcess& sim) {
  const std::string log = sim.log();
  std::size_t n = 0;
  for (auto pos = log.find(" opened: "); pos != std::string::npos; pos = log.find(" opened: ", pos + 1)) ++n;
  return n;
}

// Two RTSP clients at once on `url`: both must get H.264 keyframes.
void two_viewers_get_h264(const std::string& url) {
  RtspClient first(url, {"--keyframes", "1", "--timeout", "20"});
  RtspClient second(url, {"--keyframes", "1", "--timeout", "20"});
  for (RtspClient* client : {&first, &second}) {
    const RtspResult r = client->result();
    INFO(url << ": " << r.end << " " << r.error);
    CHECK(r.end == "keyframes");
    CHECK(r.sdp.find("H264") != std::string::npos);
    CHECK(r.first_keyframe() != nullptr);
  }
}

}  // namespace

TEST_CASE("go2rtc recipes: docker/go2rtc.yaml's one preloaded `printer` stream: H.264 over RTSP, snapshot, one process") {
  skip_without_go2rtc();
  SimulatorProcess sim({}, "2");
  TempDir dir("recipe-docker");
  const fs::path folder = dir.path / "bambu";
  fs::create_directories(folder);  // as docker/entrypoint.sh does
  std::string streams = streams_and_preload(read_text(k_source / "docker" / "go2rtc.yaml"));
  REQUIRE(streams.find("printer: exec:/usr/local/bin/bambu-stream --format mpegts ") != std::string::npos);
  const auto exec_at = streams.find("printer: exec:");
  // go2rtc would drop every log line holding a ${VAR}'s value.
  CHECK(streams.substr(exec_at, streams.find('\n', exec_at) - exec_at).find("${") == std::string::npos);
  replace_all(streams, "/usr/local/bin/bambu-stream", std::string(k_binary) + " --port " + sim.port());
  replace_all(streams, "/tmp/bambu/", folder.string() + "/");
  // What bambu-stream reads from the container's environment: .env's
  // variables (a P1S serial, so --port may be given), the image's BAMBU_HEARTBEAT.
  const fs::path hb = folder / "printer.json";
  Go2rtc go2rtc(streams, {{"PRINTER_ADDRESS", "127.0.0.1"},
                          {"PRINTER_ACCESS_CODE", k_sim_code},
                          {"PRINTER_SERIAL", "01P00A000000001"},
                          {"PRINTER_SOURCE", "auto"},
                          {"BAMBU_HEARTBEAT", hb.string()}});
  INFO("go2rtc log:\n" << go2rtc.log());
  StatusListener status = status_server(hb, folder);
  // Preloaded: it streams, and keeps a snapshot, before anyone watches.
  CHECK(status.until("/stream_started", [](const httplib::Response& r) { return r.body == "{\"started\":true}\n"; }));
  CHECK(status.until_status("/snapshot.jpg", 200));
  const json running = heartbeat(hb);
  REQUIRE(running.is_object());
  CHECK(running["state"] == "streaming");
  CHECK(running["format"] == "mpegts");
  CHECK(running["snapshot"] == (folder / "printer.jpg").string());
  const int pid = running["pid"].get<int>();

  two_viewers_get_h264(go2rtc.rtsp_url("printer"));
  two_viewers_get_h264(go2rtc.rtsp_url("printer"));
  CHECK(heartbeat(hb)["pid"] == pid);  // the same process all along
  CHECK(sessions(sim) == 1);           // one camera slot however many watch
  auto snapshot = status.get("/snapshot.jpg");
  REQUIRE(snapshot);
  CHECK(snapshot->status == 200);
  CHECK(snapshot->get_header_value("Content-Type") == "image/jpeg");

  go2rtc.stop();
  json hb_end;
  wait_until(
      [&] {
        hb_end = heartbeat(hb);
        return hb_end.is_object() && hb_end["state"] == "stopped" && ::kill(pid, 0) != 0;
      },
      10s, 20ms);
  CHECK(hb_end["state"] == "stopped");  // SIGTERM, a clean exit 0: not "failed"
  CHECK(hb_end["last_error"].is_null());
}

TEST_CASE("go2rtc recipes: go2rtc.yaml.example's three printers: H.264 each, snapshots, per-printer status, one process each") {
  skip_without_go2rtc();
  SimulatorProcess p1s({}, "2"), a1({}, "2");
  RtspsServer x1c({"--width", "640", "--height", "360", "--fps", "10", "--gop", "10"});
  TempDir dir("recipe-example");
  const fs::path folder = dir.path / "bambu", config = dir.path / "config";
  fs::create_directories(folder);
  fs::create_directories(config);
  for (const auto& [name, code] : {std::pair{"p1s", k_sim_code}, {"a1", k_sim_code}, {"x1c", k_rtsps_code}}) {
    std::ofstream(config / (std::string(name) + ".code")) << code << "\n";
  }
  std::string streams = streams_and_preload(read_text(k_source / "go2rtc.yaml.example"));
  replace_all(streams, "/usr/local/bin/bambu-stream", k_binary);
  replace_all(streams, "/tmp/bambu/", folder.string() + "/");
  replace_all(streams, "/config/", config.string() + "/");
  for (auto at = streams.find(": exec:"); at != std::string::npos; at = streams.find(": exec:", at + 1)) {
    // go2rtc would drop every log line holding a ${VAR}'s value.
    CHECK(streams.substr(at, streams.find('\n', at) - at).find("${") == std::string::npos);
  }
  replace_all(streams, "--host 192.168.1.50", "--host 127.0.0.1 --port " + p1s.port());
  replace_all(streams, "--host 192.168.1.51", "--host 127.0.0.1 --port " + a1.port());
  replace_all(streams, "--host 192.168.1.52", "--host 127.0.0.1 --port " + x1c.port());
  Go2rtc go2rtc(streams);
  INFO("go2rtc log:\n" << go2rtc.log());
  StatusListener status = status_server(folder / "p1s.json", folder);
  for (const char* name : {"p1s", "a1", "x1c"}) {
    INFO(name);
    CHECK(status.until_status(std::string("/printers/") + name + "/snapshot.jpg", 200));
    two_viewers_get_h264(go2rtc.rtsp_url(name));
  }
  auto metrics = status.get("/metrics");
  REQUIRE(metrics);
  for (const char* name : {"p1s", "a1", "x1c"}) {
    CHECK_THAT(metrics->body, Catch::Contains(std::string("bambu_stream_up{printer=\"") + name + "\"} 1\n"));
  }
  CHECK(sessions(p1s) == 1);
  CHECK(sessions(a1) == 1);
  auto all = status.get("/printers");
  REQUIRE(all);
  const json j = json::parse(all->body);
  CHECK(j["started"] == true);
  CHECK(j["printers"]["x1c"]["source"] == "rtsps");
  CHECK(j["printers"]["a1"]["source"] == "jpeg");
}
