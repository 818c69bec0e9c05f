// End to end: the built binary with --mqtt and --chamber-light, its camera
// the simulator, its printer's MQTT broker Debian's mosquitto with the fake
// printer's firmware on it (support/mqtt_broker.h, support/fake_printer.h):
// the chamber light while the stream runs, the heartbeat's print state, the
// printer's word on LAN Only Liveview and on the camera source, an MQTT
// that fails without touching the video, and, under the real go2rtc with
// its preload, the light following go2rtc's own count of viewers.
#include <catch2/catch.hpp>

#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "support/child_process.h"
#include "support/e2e.h"
#include "support/fake_printer.h"
#include "support/go2rtc.h"
#include "support/mqtt_broker.h"
#include "support/ports.h"
#include "support/simulator_process.h"
#include "support/temp_dir.h"
#include "support/wait.h"

using namespace std::chrono_literals;
using namespace bambu::test::e2e;
using bambu::test::ChildProcess;
using bambu::test::FakePrinter;
using bambu::test::FakePrinterOptions;
using bambu::test::FakePrinterRequest;
using bambu::test::k_sim_code;
using bambu::test::LoopbackPort;
using bambu::test::MqttBroker;
using bambu::test::MqttBrokerOptions;
using bambu::test::SimulatorProcess;
using bambu::test::TempDir;
using bambu::test::wait_until;
namespace go2rtc = bambu::test::go2rtc;
namespace fs = std::filesystem;
using SystemClock = std::chrono::system_clock;

namespace {

constexpr auto k_limit = std::chrono::duration_cast<std::chrono::milliseconds>(k_wait);

// A broker whose bblp password is the simulator's access code, so that one
// --access-code opens both, as on a printer.
MqttBrokerOptions broker_for(const std::string& serial, const std::string& access_code = k_sim_code) {
  MqttBrokerOptions options;
  options.serial = serial;
  options.access_code = access_code;
  return options;
}

// The heartbeat as JSON; an empty object while it does not exist.
nlohmann::json read_heartbeat(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  auto j = nlohmann::json::parse(text.str(), nullptr, false);
  return j.is_object() ? j : nlohmann::json::object();
}

// A heartbeat's text field, "" when absent or null.
std::string text(const nlohmann::json& j, const char* key) {
  return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : "";
}

bool is_ledctrl(const FakePrinterRequest& r, const std::string& node, const std::string& mode) {
  return r.command("system") == "ledctrl" && r.payload["system"].value("led_node", "") == node &&
         r.payload["system"].value("led_mode", "") == mode;
}

std::size_t count_ledctrl(const FakePrinter& printer) {
  std::size_t n = 0;
  for (const auto& r : printer.requests()) n += r.command("system") == "ledctrl" ? 1 : 0;
  return n;
}

double epoch_seconds(SystemClock::time_point t) {
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}

// A printer as the stream meets it: the broker with the fake printer's
// firmware (`options`) and the simulator's camera at `fps`, a folder for
// the heartbeat. The broker's password is `access_code`: the camera's
// unless a test makes them differ.
struct Printer {
  Printer(FakePrinterOptions options, const std::string& fps, const std::string& access_code = k_sim_code)
      : broker(broker_for("01P00A000000001", access_code)), printer(broker, std::move(options)), sim({}, fps) {}
  MqttBroker broker;
  FakePrinter printer;
  SimulatorProcess sim;
  TempDir dir{"mqtt-e2e"};
  fs::path hb = dir.path / "printer.json";

  /// bambu-stream on this camera and broker, with `extra`.
  ChildProcess stream(std::vector<std::string> extra) const {
    std::vector<std::string> args = {"--host", "127.0.0.1", "--port", sim.port(), "--access-code", k_sim_code,
                                     "--serial", broker.serial(), "--mqtt-port", std::to_string(broker.port()),
                                     "--format", "mjpeg"};
    args.insert(args.end(), extra.begin(), extra.end());
    return client(args);
  }
};

// Whether anyone connected to `port` (a listening LoopbackPort): a pending
// connection waits in its accept queue.
bool was_dialled(const LoopbackPort& port) {
  pollfd p{port.fd(), POLLIN, 0};
  return ::poll(&p, 1, 0) == 1;
}

}  // namespace

TEST_CASE("mqtt e2e: --chamber-light switches the light on by the first frame and back off within 1 s of SIGTERM",
          "[not-under-qemu]") {
  FakePrinterOptions options;
  options.chamber_light = "off";
  Printer p(options, "2");
  auto& [broker, printer, sim, dir, hb] = p;
  auto c = p.stream({"--chamber-light", "--heartbeat", hb.string()});

  REQUIRE(c.wait_for_stdout(1, k_limit));
  const auto first_frame = SystemClock::now();
  auto on = printer.wait_for_request([](const auto& r) { return is_ledctrl(r, "chamber_light", "on"); }, k_limit);
  REQUIRE(on);
  CHECK(on->time - epoch_seconds(first_frame) < 1.0);
  REQUIRE(wait_until([&] { return printer.light("chamber_light") == "on"; }, k_limit));
  CHECK(wait_until([&] { return text(read_heartbeat(hb), "chamber_light") == "on"; }, k_limit));

  c.signal(SIGTERM);
  const auto term = SystemClock::now();
  auto off = printer.wait_for_request([](const auto& r) { return is_ledctrl(r, "chamber_light", "off"); }, k_limit);
  REQUIRE(off);
  CHECK(off->time - epoch_seconds(term) < 1.0);
  CHECK(c.wait_for_exit(k_wait) == 0);
  CHECK(wait_until([&] { return printer.light("chamber_light") == "off"; }, k_limit));
  CHECK(count_ledctrl(printer) == 2);
  CHECK(c.stderr_text().find(k_sim_code) == std::string::npos);
}

TEST_CASE("mqtt e2e: a chamber light already on is left alone, during the stream and after") {
  FakePrinterOptions options;
  options.chamber_light = "on";
  Printer p(options, "2");
  auto& [broker, printer, sim, dir, hb] = p;
  auto c = p.stream({"--chamber-light", "--heartbeat", hb.string()});

  REQUIRE(c.wait_for_stdout(1, k_limit));
  REQUIRE(wait_until([&] { return text(read_heartbeat(hb), "chamber_light") == "on"; }, k_limit));
  c.signal(SIGTERM);
  CHECK(c.wait_for_exit(k_wait) == 0);
  CHECK(count_ledctrl(printer) == 0);
  CHECK(printer.light("chamber_light") == "on");
}

TEST_CASE("mqtt e2e: the heartbeat carries the printer's print state and the video is unchanged") {
  FakePrinterOptions options;
  options.gcode_state = "RUNNING";
  options.mc_percent = 42;
  options.layer_num = 7;
  options.total_layer_num = 100;
  options.mc_remaining_time = 62;
  options.subtask_name = "benchy";
  Printer p(options, "5");
  auto& [broker, printer, sim, dir, hb] = p;
  auto c = p.stream({"--mqtt", "--heartbeat", hb.string(), "--frames", "6"});

  nlohmann::json j;
  REQUIRE(wait_until([&] { return text(j = read_heartbeat(hb), "print_state") == "RUNNING"; }, k_limit));
  CHECK(j["print_percent"] == 42);
  CHECK(j["print_layer"] == 7);
  CHECK(j["print_layers_total"] == 100);
  CHECK(j["print_remaining_minutes"] == 62);
  CHECK(j["print_job"] == "benchy");
  CHECK(j["chamber_light"] == "off");
  CHECK(j["mqtt"] == "connected");
  CHECK(j["mqtt_error"].is_null());
  REQUIRE(c.wait_for_exit(k_wait) == 0);
  // --mqtt alone never switches a light; stdout is the camera's JPEGs, byte for byte.
  CHECK(count_ledctrl(printer) == 0);
  const auto sent = sim.sent_frames(6);
  std::vector<std::uint8_t> want;
  for (std::size_t i = 0; i < 6; ++i) want.insert(want.end(), sent[i].begin(), sent[i].end());
  CHECK(c.stdout_bytes() == want);
}

TEST_CASE("mqtt e2e: a refused MQTT login leaves the video unaffected, with one clear line and the heartbeat's word") {
  Printer p({}, "5", "87654321");  // the broker's password is not the camera's code
  auto& [broker, printer, sim, dir, hb] = p;
  auto c = p.stream({"--chamber-light", "--heartbeat", hb.string()});

  nlohmann::json j;
  REQUIRE(wait_until([&] { return (j = read_heartbeat(hb)).value("frames", 0) >= 5 && !text(j, "mqtt_error").empty(); },
                     k_limit));
  CHECK(j["state"] == "streaming");
  CHECK(j["mqtt"] == "disconnected");
  CHECK(j["mqtt_error"].get<std::string>().find("access code") != std::string::npos);
  c.signal(SIGTERM);
  CHECK(c.wait_for_exit(k_wait) == 0);
  const std::string log = c.stderr_text();
  CHECK(log.find("mqtt: MQTT broker 127.0.0.1:" + std::to_string(broker.port())) != std::string::npos);
  CHECK(log.find(k_sim_code) == std::string::npos);
  CHECK(log.find("87654321") == std::string::npos);
}

TEST_CASE("mqtt e2e: LAN Only Liveview off in the report: the first line says so, exit 4, the camera never dialled") {
  MqttBroker broker(broker_for("00M00A000000001"));  // an X1C: RTSPS
  FakePrinterOptions options;
  options.model = "X1C";
  options.rtsp_url = "disable";
  FakePrinter printer(broker, options);
  LoopbackPort camera(true);
  auto c = client({"--host", "127.0.0.1", "--port", std::to_string(camera.port()), "--access-code", k_sim_code,
                   "--serial", broker.serial(), "--mqtt", "--mqtt-port", std::to_string(broker.port())});

  REQUIRE(c.wait_for_exit(k_wait) == 4);
  const std::string line = first_line(c.stderr_text());
  CHECK(line.find("error: the printer says \"LAN Only Liveview\" is off") == 0);
  CHECK(line.find("print.ipcam.rtsp_url = \"disable\"") != std::string::npos);
  CHECK(line.find("switch on \"LAN Only Liveview\"") != std::string::npos);
  CHECK_FALSE(was_dialled(camera));
}

TEST_CASE("mqtt e2e: --source auto with an unknown serial follows the report's rtsp_url, not the port probe") {
  TempDir dir("mqtt-e2e");
  const fs::path hb = dir.path / "printer.json";
  // rtsp_url with a wrong address, as firmware writes: the source is rtsps
  // on --host, never that address.
  const auto run = [&](std::optional<std::string> rtsp_url, std::string model) {
    MqttBroker broker(broker_for("ZZZ00A000000001"));
    FakePrinterOptions options;
    options.model = std::move(model);
    options.rtsp_url = std::move(rtsp_url);
    FakePrinter printer(broker, options);
    auto c = client({"--host", "127.0.0.1", "--access-code", k_sim_code, "--serial", broker.serial(), "--mqtt",
                     "--mqtt-port", std::to_string(broker.port()), "--heartbeat", hb.string(), "--start-timeout",
                     "2", "-v"});
    REQUIRE(c.wait_for_exit(k_wait));
    return std::make_pair(read_heartbeat(hb), c.stderr_text());
  };
  auto [rtsps, rtsps_log] = run("rtsps://192.0.2.1/streaming/live/1", "X1C");
  CHECK(rtsps["source"] == "rtsps");
  CHECK(rtsps["port"] == 322);
  CHECK(rtsps_log.find("192.0.2.1") == std::string::npos);
  CHECK(rtsps_log.find("printer's report says rtsps") != std::string::npos);
  auto [jpeg, jpeg_log] = run(std::nullopt, "P1S");
  CHECK(jpeg["source"] == "jpeg");
  CHECK(jpeg["port"] == 6000);
  CHECK(jpeg_log.find("printer's report says jpeg") != std::string::npos);
}

TEST_CASE("mqtt e2e: with --snapshot, the first snapshot waits until the light has been on for 1.5 s",
          "[not-under-qemu]") {
  Printer p({}, "5");
  auto& [broker, printer, sim, dir, hb] = p;
  const fs::path snapshot = dir.path / "printer.jpg";
  auto c = p.stream({"--chamber-light", "--snapshot", snapshot.string(), "--snapshot-interval", "0.1"});

  auto on = printer.wait_for_request([](const auto& r) { return is_ledctrl(r, "chamber_light", "on"); }, k_limit);
  REQUIRE(on);
  // Snapshots come every frame (0.2 s) but for the hold: the first written
  // well after the light's command (a picture taken just before it may
  // still be being written) must wait for the light's 1.5 s.
  const auto written_at = [&] {
    struct stat info {};
    if (::stat(snapshot.c_str(), &info) != 0) return 0.0;
    return static_cast<double>(info.st_mtim.tv_sec) + static_cast<double>(info.st_mtim.tv_nsec) / 1e9;
  };
  REQUIRE(wait_until([&] { return written_at() > on->time + 0.2; }, k_limit));
  CHECK(written_at() - on->time >= 1.45);
  c.signal(SIGTERM);
  CHECK(c.wait_for_exit(k_wait) == 0);
}

TEST_CASE("mqtt e2e: under go2rtc's preload the light follows go2rtc's viewers (--go2rtc-stream), preload left out",
          "[not-under-qemu]") {
  go2rtc::skip_without_go2rtc();
  MqttBroker broker(broker_for("01P00A000000001"));
  FakePrinter printer(broker);
  SimulatorProcess sim({}, "2");
  TempDir dir("mqtt-e2e");
  const fs::path hb = dir.path / "printer.json", port_file = dir.path / "api-port", script = dir.path / "printer.sh";
  // go2rtc starts the preloaded stream before the test knows its API port:
  // the script waits for it, then runs bambu-stream in its place.
  {
    std::ofstream out(script);
    out << "while [ ! -s " << port_file.string() << " ]; do sleep 0.05; done\n"
        << "exec " << k_binary << " --host 127.0.0.1 --port " << sim.port() << " --access-code " << k_sim_code
        << " --serial " << broker.serial() << " --mqtt-port " << broker.port()
        << " --format mjpeg --heartbeat " << hb.string() << " --chamber-light --go2rtc-stream "
        << "http://127.0.0.1:$(cat " << port_file.string() << ")/api/streams?src=printer\n";
    REQUIRE(out.good());
  }
  go2rtc::Go2rtc server("streams:\n  printer: exec:/bin/sh " + script.string() +
                        "#killsignal=15#killtimeout=5\npreload:\n  printer: video\n");
  {
    std::ofstream out(port_file);
    out << server.api_port();
  }
  INFO("go2rtc's log:\n" << server.log());
  // Streaming for the preload alone, the printer's light known to be off:
  // no one watches, so it stays off.
  REQUIRE(wait_until(
      [&] {
        const auto j = read_heartbeat(hb);
        return text(j, "state") == "streaming" && text(j, "mqtt") == "connected" && text(j, "chamber_light") == "off";
      },
      k_limit));
  const auto on_request = [](const FakePrinterRequest& r) { return is_ledctrl(r, "chamber_light", "on"); };
  CHECK_FALSE(printer.wait_for_request(on_request, 3s));

  SystemClock::time_point viewer_started;
  {
    const std::string mjpeg =
        "http://127.0.0.1:" + std::to_string(server.api_port()) + "/api/stream.mjpeg?src=printer";
    viewer_started = SystemClock::now();
    ChildProcess viewer(bambu::test::ChildOptions{
        {k_python, "-c", "import sys, urllib.request\nr = urllib.request.urlopen(sys.argv[1])\nwhile r.read(65536): pass\n",
         mjpeg},
        {},
        {},
        false});
    auto on = printer.wait_for_request(on_request, k_limit);
    REQUIRE(on);
    CHECK(on->time >= epoch_seconds(viewer_started));
    REQUIRE(wait_until([&] { return printer.light("chamber_light") == "on"; }, k_limit));
  }
  // The viewer gone, the light goes back off; the stream runs on for the preload.
  auto off = printer.wait_for_request([](const auto& r) { return is_ledctrl(r, "chamber_light", "off"); }, k_limit);
  REQUIRE(off);
  CHECK(wait_until([&] { return printer.light("chamber_light") == "off"; }, k_limit));
  CHECK(text(read_heartbeat(hb), "state") == "streaming");
  CHECK(count_ledctrl(printer) == 2);
}
