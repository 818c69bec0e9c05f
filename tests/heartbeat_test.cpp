// The heartbeat file: JSON fields, RFC 3339 times, atomic replacement, timing.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "core/errors.h"
#include "core/atomic_file.h"
#include "core/rfc3339.h"
#include "heartbeat/heartbeat.h"
#include "support/printing_status.h"
#include "support/temp_dir.h"
#include "support/wait.h"

using namespace bambu;
using namespace std::chrono_literals;
namespace fs = std::filesystem;
using bambu::test::check_printing_benchy;
using bambu::test::set_printing_benchy;
using bambu::test::TempDir;
using bambu::test::wait_until;

namespace {

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

nlohmann::json read_json(const fs::path& p) { return nlohmann::json::parse(slurp(p)); }

}  // namespace

TEST_CASE("RFC 3339 UTC with milliseconds") {
  using namespace std::chrono;
  system_clock::time_point t{seconds(1795237300) + milliseconds(7)};  // 2026-11-21T05:01:40.007Z
  CHECK(format_rfc3339(t) == "2026-11-21T05:01:40.007Z");
  CHECK(format_rfc3339(system_clock::time_point{}) == "1970-01-01T00:00:00.000Z");
}

TEST_CASE("the heartbeat object has every documented field") {
  StreamStatus status("jpeg", "192.0.2.5", 6000);
  auto j = heartbeat_json(status.report());
  for (const char* key : {"state", "pid", "source", "host", "port", "started_at", "updated_at", "frames", "bytes",
                          "dropped", "skipped", "fps", "last_frame_at", "reconnects", "last_error"}) {
    CHECK(j.contains(key));
  }
  CHECK(j["state"] == "connecting");
  CHECK(j["pid"] == ::getpid());
  CHECK(j["source"] == "jpeg");
  CHECK(j["host"] == "192.0.2.5");
  CHECK(j["port"] == 6000);
  CHECK(j["frames"] == 0);
  CHECK(j["last_frame_at"].is_null());
  CHECK(j["last_error"].is_null());
  CHECK(j["started_at"].get<std::string>().back() == 'Z');
}

TEST_CASE("counters, fps and errors reach the JSON") {
  StreamStatus status("jpeg", "h", 1);
  for (int i = 0; i < 5; ++i) status.count_written(1000);
  status.count_dropped();
  status.count_skipped();
  status.count_skipped();
  status.count_reconnect();
  status.set_state(StreamState::reconnecting, "stall: no frame for 20 s");
  auto j = heartbeat_json(status.report());
  CHECK(j["state"] == "reconnecting");
  CHECK(j["frames"] == 5);
  CHECK(j["bytes"] == 5000);
  CHECK(j["dropped"] == 1);
  CHECK(j["skipped"] == 2);
  CHECK(j["reconnects"] == 1);
  CHECK(j["last_error"] == "stall: no frame for 20 s");
  CHECK(j["last_frame_at"].is_string());
  // Five frames within the first second: the window is one second long so far.
  CHECK(j["fps"].get<double>() == Approx(5.0));
}

TEST_CASE("without --mqtt the heartbeat has no print state keys, with it every key (null until reported)") {
  StreamStatus status("jpeg", "h", 1);
  const char* keys[] = {"print_state",  "print_percent", "print_layer",   "print_layers_total", "print_remaining_minutes",
                        "print_job", "chamber_light", "mqtt", "mqtt_error"};
  auto without = heartbeat_json(status.report());
  for (const char* key : keys) CHECK_FALSE(without.contains(key));

  int calls = 0;
  status.set_on_change([&] { ++calls; });
  status.set_printer(PrinterState{}, false, "");
  auto empty = heartbeat_json(status.report());
  for (const char* key : keys) CHECK(empty.contains(key));
  CHECK(empty["print_state"].is_null());
  CHECK(empty["print_percent"].is_null());
  CHECK(empty["mqtt"] == "disconnected");
  CHECK(empty["mqtt_error"].is_null());

  StatusReport printing;
  set_printing_benchy(printing);
  const PrinterState& printer = *printing.printer;
  status.set_printer(printer, true, "");
  status.set_printer(printer, true, "");  // unchanged: no second call
  check_printing_benchy(heartbeat_json(status.report()));
  status.set_printer(printer, false, "MQTT: the printer refused the access code");
  CHECK(heartbeat_json(status.report())["mqtt_error"] == "MQTT: the printer refused the access code");
  CHECK(calls == 3);
}

TEST_CASE("state changes call the listener once per change") {
  StreamStatus status("jpeg", "h", 1);
  int calls = 0;
  status.set_on_change([&] { ++calls; });
  status.set_state(StreamState::streaming);
  status.set_state(StreamState::streaming);
  status.set_state(StreamState::reconnecting, "lost");
  status.set_state(StreamState::reconnecting, "lost");
  CHECK(calls == 2);
}

TEST_CASE("write_file_atomically replaces the file and leaves no temporary behind") {
  TempDir dir;
  auto path = (dir.path / "hb.json").string();
  write_file_atomically(path, "one");
  write_file_atomically(path, "two");
  CHECK(slurp(path) == "two");
  CHECK(std::distance(fs::directory_iterator(dir.path), fs::directory_iterator()) == 1);
  CHECK_THROWS_WITH(write_file_atomically((dir.path / "missing" / "hb.json").string(), "x"),
                    Catch::Contains("missing/hb.json"));
}

TEST_CASE("HeartbeatWriter: first write at once, state changes promptly, rewrites every second, final state") {
  TempDir dir;
  auto path = dir.path / "hb.json";
  Logger log(LogLevel::error);
  StreamStatus status("jpeg", "h", 6000);
  HeartbeatWriter writer(path.string(), status, log);
  CHECK(read_json(path)["state"] == "connecting");

  auto t0 = std::chrono::steady_clock::now();
  status.set_state(StreamState::streaming);
  REQUIRE(wait_until([&] { return read_json(path)["state"] == "streaming"; }, 2s));
  CHECK(std::chrono::steady_clock::now() - t0 < 200ms);

  // Nothing changes now: only the once-a-second rewrite can give a new updated_at.
  auto first = read_json(path)["updated_at"].get<std::string>();
  const auto waited_from = std::chrono::steady_clock::now();
  CHECK(wait_until([&] { return read_json(path)["updated_at"].get<std::string>() != first; }, 3s, 20ms));
  CHECK(std::chrono::steady_clock::now() - waited_from < 2500ms);  // 1 s, with room for a loaded machine

  status.set_state(StreamState::stopped);
  writer.finish();
  CHECK(read_json(path)["state"] == "stopped");
}

TEST_CASE("HeartbeatWriter: a host and an error that are not UTF-8 still give valid JSON, with U+FFFD") {
  Logger log(LogLevel::error);
  StreamStatus status("jpeg", "printer\xff.lan", 6000);
  TempDir dir;
  auto path = dir.path / "hb.json";
  HeartbeatWriter writer(path.string(), status, log);
  status.set_error("TLS alert from the printer: \xc3(");
  writer.finish();
  auto j = read_json(path);
  CHECK(j["host"] == "printer\xef\xbf\xbd.lan");
  CHECK(j["last_error"] == "TLS alert from the printer: \xef\xbf\xbd(");
}

TEST_CASE("HeartbeatWriter refuses an unwritable path at start with a usage error") {
  Logger log(LogLevel::error);
  StreamStatus status("jpeg", "h", 6000);
  TempDir dir;
  std::ofstream(dir.path / "file") << "x";  // a folder that cannot be made, even by root
  for (const auto& [path, named] : {std::pair{dir.path / "file" / "hb.json", dir.path / "file"},
                                    std::pair{dir.path / "file" / "sub" / "hb.json", dir.path / "file" / "sub"}}) {
    try {
      HeartbeatWriter writer(path.string(), status, log);
      FAIL("no exception");
    } catch (const FatalError& e) {
      CHECK(e.code() == ExitCode::usage);
      CHECK_THAT(e.what(), Catch::StartsWith("--heartbeat: cannot create the folder " + named.string()));
    }
  }
}

TEST_CASE("HeartbeatWriter creates the missing folders of its path") {
  Logger log(LogLevel::error);
  StreamStatus status("jpeg", "h", 6000);
  TempDir dir;
  const auto path = dir.path / "bambu" / "printers" / "hb.json";
  HeartbeatWriter writer(path.string(), status, log);
  writer.finish();
  CHECK(read_json(path)["state"] == "connecting");
}

TEST_CASE("a reader never sees a partial heartbeat while it is rewritten") {
  TempDir dir;
  auto path = dir.path / "hb.json";
  Logger log(LogLevel::error);
  StreamStatus status("jpeg", "h", 6000);
  HeartbeatWriter writer(path.string(), status, log);
  std::atomic<bool> done{false};
  std::thread churn([&] {
    // Many state changes for 500 ms: each pokes the writer into another rewrite.
    auto end = std::chrono::steady_clock::now() + 500ms;
    for (int i = 0; std::chrono::steady_clock::now() < end; ++i) {
      // fmt, not "e" + std::to_string(i): GCC 12 at -O3 (the arm64 and armhf
      // Release presets) warns a false -Wrestrict on that (GCC bug 105329).
      status.set_state(i % 2 ? StreamState::streaming : StreamState::reconnecting, fmt::format("e{}", i));
      status.count_written(100);
      std::this_thread::sleep_for(100us);
    }
    done = true;
  });
  int reads = 0, bad = 0;
  while (!done) {
    std::string text = slurp(path);
    ++reads;
    if (!nlohmann::json::accept(text)) ++bad;
  }
  churn.join();
  CHECK(reads > 10);
  CHECK(bad == 0);
}
