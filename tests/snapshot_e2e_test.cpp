// End to end: the built binary's --snapshot against `simulate`,
// served by `status --listen` as /snapshot.jpg; and a print farm: two
// simulators, two streams, one status server over their heartbeat folder.
#include <catch2/catch.hpp>

#include <httplib.h>
#include <signal.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "support/child_process.h"
#include "support/e2e.h"
#include "support/simulator_process.h"
#include "support/status_listener.h"
#include "support/temp_dir.h"
#include "support/wait.h"

using namespace std::chrono_literals;
using namespace bambu::test::e2e;
using bambu::test::ChildOptions;
using bambu::test::ChildProcess;
using bambu::test::k_sim_code;
using bambu::test::SimulatorProcess;
using bambu::test::StatusListener;
using bambu::test::TempDir;
namespace fs = std::filesystem;
using Bytes = std::vector<std::uint8_t>;

namespace {

bool started(const httplib::Response& r) { return r.status == 200 && r.body == "{\"started\":true}\n"; }
bool not_started(const httplib::Response& r) { return r.status == 200 && r.body == "{\"started\":false}\n"; }

ChildProcess stream(const SimulatorProcess& sim, const fs::path& heartbeat, const fs::path& snapshot) {
  return client({"--host", "127.0.0.1", "--port", sim.port(), "--access-code", k_sim_code, "--source", "jpeg",
                 "--format", "mpegts", "--heartbeat", heartbeat.string(), "--snapshot", snapshot.string()});
}

bool sent_by(const SimulatorProcess& sim, const std::string& body) {
  const Bytes bytes(body.begin(), body.end());
  for (const auto& frame : sim.sent_frames()) {
    if (frame == bytes) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("snapshot, jpeg source: the printer's JPEG byte for byte, as /snapshot.jpg: 404, 200, then 503") {
  SimulatorProcess sim({}, "5");
  TempDir dir("snapshot-e2e");
  const fs::path hb = dir.path / "printer.json", snapshot = dir.path / "printer.jpg";
  StatusListener status({"--heartbeat", hb.string(), "--max-age", "1.5"});
  auto none = status.get("/snapshot.jpg");
  REQUIRE(none);
  CHECK(none->status == 404);  // no heartbeat, so no snapshot yet

  auto c = stream(sim, hb, snapshot);
  REQUIRE(status.until_status("/snapshot.jpg", 200));
  auto res = status.get("/snapshot.jpg");
  REQUIRE(res);
  CHECK(res->status == 200);
  CHECK(res->get_header_value("Content-Type") == "image/jpeg");
  CHECK(res->get_header_value("Cache-Control") == "no-store");
  CHECK(sent_by(sim, res->body));  // byte-identical to a frame the simulator sent, no re-encode
  const auto file = read_file(snapshot);
  CHECK(sent_by(sim, std::string(file.begin(), file.end())));

  // The heartbeat names the snapshot at once and its age from the next rewrite (1 s) on.
  nlohmann::json j;
  CHECK(status.until("/status", [&](const httplib::Response& r) {
    j = nlohmann::json::parse(r.body);
    return j["snapshot_age"].is_number();
  }));
  CHECK(j["snapshot"] == snapshot.string());
  CHECK(j["snapshot_age"].is_number());
  CHECK(j["snapshot_age"].get<double>() < 1.5);
  // stdout streams MPEG-TS too (its first unit may come after the first
  // snapshot: the snapshot is the JPEG as it came, the unit is encoded).
  CHECK(bambu::test::wait_until([&] { return c.stdout_size() > 0; }, std::chrono::milliseconds(k_wait)));

  sigterm_exits_0_within_1s(c);
  // The file stays; once older than --max-age it is 503, not a stale picture.
  CHECK(status.until_status("/snapshot.jpg", 503));
  CHECK(fs::exists(snapshot));
}

TEST_CASE("several printers: per-printer status and snapshots, labelled metrics, health false when one stops") {
  SimulatorProcess sim_a({}, "5"), sim_b({}, "5");
  TempDir dir("farm");
  auto a = stream(sim_a, dir.path / "a.json", dir.path / "a.jpg");
  auto b = stream(sim_b, dir.path / "b.json", dir.path / "b.jpg");
  StatusListener status({"--heartbeat-dir", dir.path.string(), "--max-age", "5"});

  CHECK(status.until("/printers/a/stream_started", started));
  CHECK(status.until("/printers/b/stream_started", started));
  CHECK(status.until("/stream_started", started));  // no --heartbeat: every printer
  CHECK(status.until_status("/printers/b/snapshot.jpg", 200));
  auto snapshot = status.get("/printers/b/snapshot.jpg");
  REQUIRE(snapshot);
  CHECK(sent_by(sim_b, snapshot->body));
  auto b_status = status.get("/printers/b/status");
  REQUIRE(b_status);
  CHECK(nlohmann::json::parse(b_status->body)["snapshot"] == (dir.path / "b.jpg").string());
  auto metrics = status.get("/metrics");
  REQUIRE(metrics);
  CHECK_THAT(metrics->body, Catch::Contains("bambu_stream_up{printer=\"a\"} 1\n"));
  CHECK_THAT(metrics->body, Catch::Contains("bambu_stream_up{printer=\"b\"} 1\n"));
  auto farm = status.get("/farm");  // the farm page's data: both printers, in name order
  REQUIRE(farm);
  auto farm_json = nlohmann::json::parse(farm->body);
  CHECK(farm_json["folder"] == true);
  CHECK(farm_json["go2rtc_url"].is_null());
  REQUIRE(farm_json["printers"].size() == 2);
  CHECK(farm_json["printers"][0]["name"] == "a");
  CHECK(farm_json["printers"][1]["name"] == "b");
  CHECK(farm_json["printers"][1]["status"]["snapshot"] == (dir.path / "b.jpg").string());
  auto missing = status.get("/printers/c/status");
  REQUIRE(missing);
  CHECK(missing->status == 404);
  auto escape = status.get("/printers/..%2Fa/status");
  REQUIRE(escape);
  CHECK(escape->status == 404);

  auto healthy = client({"status", "--heartbeat-dir", dir.path.string()});
  CHECK(healthy.wait_for_exit(k_wait) == 0);

  sigterm_exits_0_within_1s(b);
  CHECK(status.until("/printers/b/stream_started", not_started));
  CHECK(status.until("/stream_started", not_started));
  auto a_still = status.get("/printers/a/stream_started");
  REQUIRE(a_still);
  CHECK(started(*a_still));
  metrics = status.get("/metrics");
  REQUIRE(metrics);
  CHECK_THAT(metrics->body, Catch::Contains("bambu_stream_up{printer=\"b\"} 0\n"));
  auto unhealthy = client({"status", "--heartbeat-dir", dir.path.string()});
  CHECK(unhealthy.wait_for_exit(k_wait) == 1);
  CHECK_THAT(unhealthy.stderr_text(), Catch::StartsWith("status: not started: printer b: not streaming"));
  sigterm_exits_0_within_1s(a);
}
