// Reading and judging heartbeat files: every state, freshness, corrupt,
// huge and odd files, the JSON `status` prints and the Prometheus text.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <limits>

#include "core/atomic_file.h"
#include "core/rfc3339.h"
#include "heartbeat/heartbeat.h"
#include "status/stream_health.h"
#include "support/printing_status.h"
#include "support/temp_dir.h"

using namespace bambu;
using namespace std::chrono_literals;
namespace fs = std::filesystem;
using bambu::test::TempDir;
using std::chrono::system_clock;

namespace {

// A fixed "now", so ages are exact: 2026-11-21T05:31:30.000Z.
const system_clock::time_point k_now{std::chrono::seconds(1795239090)};

// A heartbeat as HeartbeatWriter writes it (same code), `age` before k_now.
nlohmann::json heartbeat(StreamState state, std::chrono::milliseconds age, std::string last_error = {}) {
  StatusReport s;
  s.state = state;
  s.pid = 4242;
  s.source = "jpeg";
  s.host = "192.0.2.10";
  s.port = 6000;
  s.started_at = k_now - 60s;
  s.updated_at = k_now - age;
  s.frames = 123;
  s.bytes = 456789;
  s.dropped = 2;
  s.skipped = 1;
  s.fps = 1.49;
  s.reconnects = 3;
  s.format = "mpegts";
  s.codec = "h264";
  s.encoder = "libx264";
  s.frames_encoded = 120;
  s.encode_ms_last = 6.5;
  s.encode_ms_mean = 7.25;
  s.decode_failures = 4;
  s.bitrate_kbps = 321.5;
  s.last_error = std::move(last_error);
  return heartbeat_json(s);
}

// The same, from a stream run with --mqtt, printing benchy (set_printing_benchy()).
nlohmann::json printing_heartbeat(std::chrono::milliseconds age = 1s) {
  nlohmann::json j = heartbeat(StreamState::streaming, age);
  StatusReport s;
  bambu::test::set_printing_benchy(s);
  const nlohmann::json with_printer = heartbeat_json(s);
  for (const char* key : print_status_keys()) j[key] = with_printer.at(key);
  return j;
}

StreamHealth judge(const nlohmann::json& j, double max_age = 5) {
  return judge_heartbeat(j.dump(), "/run/hb.json", max_age, k_now);
}

StreamHealth judge_text(std::string_view text) { return judge_heartbeat(text, "/run/hb.json", 5, k_now); }

void write(const fs::path& p, std::string_view content) {
  std::ofstream out(p, std::ios::binary);
  out << content;
}

}  // namespace

TEST_CASE("RFC 3339: the heartbeat's own format round-trips") {
  auto t = k_now + 814ms;
  auto text = format_rfc3339(t);
  CHECK(text == "2026-11-21T05:31:30.814Z");
  CHECK(parse_rfc3339(text) == t);
}

TEST_CASE("RFC 3339: other valid forms") {
  CHECK(parse_rfc3339("2026-11-21T05:31:30Z") == k_now);
  CHECK(parse_rfc3339("2026-11-21t05:31:30z") == k_now);
  CHECK(parse_rfc3339("2026-11-21T06:31:30+01:00") == k_now);
  CHECK(parse_rfc3339("2026-11-20T23:31:30-06:00") == k_now);
  CHECK(parse_rfc3339("2026-11-21T05:31:30.5Z") == k_now + 500ms);
  CHECK(parse_rfc3339("2026-11-21T05:31:30.000001999Z") == k_now + 1us);  // beyond microseconds: cut
  CHECK(parse_rfc3339("2024-02-29T00:00:00Z"));                           // leap year
}

TEST_CASE("RFC 3339: invalid forms are refused") {
  for (const char* bad : {"", "yesterday", "2026-11-21", "2026-11-21T05:31:30", "2026-11-21 05:31:30Z",
                          "2026-11-21T05:31:30.Z", "2026-11-21T05:31:30ZZ", "2026-02-30T00:00:00Z",
                          "2025-02-29T00:00:00Z", "2026-13-01T00:00:00Z", "2026-11-21T24:00:00Z",
                          "2026-11-21T23:59:60Z", "2026-11-21T05:31:30+0100", "+2026-11-21T05:31:30Z",
                          "2026-11-21T05:31:30Z\n", "２026-11-21T05:31:30Z"}) {
    INFO(bad);
    CHECK_FALSE(parse_rfc3339(bad));
  }
}

TEST_CASE("a fresh streaming heartbeat: started") {
  auto h = judge(heartbeat(StreamState::streaming, 800ms));
  CHECK(h.started);
  CHECK(h.reason.empty());
  REQUIRE(h.age_s);
  CHECK(*h.age_s == Approx(0.8));
}

TEST_CASE("freshness: --max-age is inclusive, and a time far in the future does not count") {
  CHECK(judge(heartbeat(StreamState::streaming, 5000ms)).started);
  CHECK(judge(heartbeat(StreamState::streaming, 1000ms), 0.5).started == false);
  CHECK(judge(heartbeat(StreamState::streaming, -200ms)).started);  // a clock a little ahead
  auto future = judge(heartbeat(StreamState::streaming, -60s));
  CHECK_FALSE(future.started);
  CHECK_THAT(future.reason, Catch::Contains("in the future"));
}

TEST_CASE("a stale streaming heartbeat (writer killed): not started, saying stale") {
  auto h = judge(heartbeat(StreamState::streaming, 6s));
  CHECK_FALSE(h.started);
  CHECK_THAT(h.reason, Catch::Contains("/run/hb.json is stale") && Catch::Contains("6.0 s ago") &&
                           Catch::Contains("no longer running"));
  REQUIRE(h.age_s);
  CHECK(*h.age_s == Approx(6.0));
}

TEST_CASE("every state but streaming is not started, even when fresh") {
  for (auto state : {StreamState::connecting, StreamState::reconnecting, StreamState::stopped}) {
    auto h = judge(heartbeat(state, 100ms));
    INFO(to_string(state));
    CHECK_FALSE(h.started);
    CHECK(h.reason == fmt::format("not streaming: state is {}", to_string(state)));
  }
  auto failed = judge(heartbeat(StreamState::failed, 100ms, "access code rejected"));
  CHECK_FALSE(failed.started);
  CHECK(failed.reason == "not streaming: state is failed (last error: access code rejected)");
}

TEST_CASE("a stopped and stale heartbeat names the state, the more useful reason") {
  auto h = judge(heartbeat(StreamState::stopped, 1h));
  CHECK(h.reason == "not streaming: state is stopped");
}

TEST_CASE("corrupt heartbeats: not started, one-line reason, no exception") {
  struct Case {
    const char* text;
    const char* reason;
  };
  for (auto c : {Case{"", "is not valid JSON (0 bytes)"}, Case{"{", "is not valid JSON"},
                 Case{"{\"state\":\"streaming\",", "is not valid JSON"}, Case{"\x89PNG\r\n", "is not valid JSON"},
                 Case{"[1,2]", "is not a JSON object"}, Case{"null", "is not a JSON object"},
                 Case{"\"streaming\"", "is not a JSON object"}, Case{"{}", "has no \"state\""},
                 Case{"{\"state\":1}", "has no \"state\""},
                 Case{"{\"state\":\"streaming\"}", "has no valid \"updated_at\""},
                 Case{"{\"state\":\"streaming\",\"updated_at\":\"yesterday\"}", "has no valid \"updated_at\""},
                 Case{"{\"state\":\"streaming\",\"updated_at\":1795239090}", "has no valid \"updated_at\""}}) {
    INFO(c.text);
    auto h = judge_text(c.text);
    CHECK_FALSE(h.started);
    CHECK_THAT(h.reason, Catch::StartsWith("heartbeat /run/hb.json ") && Catch::Contains(c.reason));
    CHECK(h.reason.find('\n') == std::string::npos);
    CHECK(h.heartbeat.is_object());
  }
}

TEST_CASE("extra and unknown fields are kept and do not matter") {
  auto j = heartbeat(StreamState::streaming, 1s);
  j["codec"] = "h264";
  j["width"] = 1920;
  j["height"] = 1080;
  j["something_new"] = {{"nested", true}};
  auto h = judge(j);
  CHECK(h.started);
  auto out = status_json(h);
  CHECK(out["codec"] == "h264");
  CHECK(out["width"] == 1920);
  CHECK(out["something_new"]["nested"] == true);
}

TEST_CASE("a reason is one line and bounded, whatever last_error holds") {
  auto h = judge(heartbeat(StreamState::failed, 1s, "first line\nsecond\tline\x01" + std::string(1000, 'x')));
  CHECK(h.reason.size() <= StreamHealth::k_max_reason_size);
  CHECK_THAT(h.reason, Catch::StartsWith("not streaming: state is failed (last error: first line second line ") &&
                           Catch::EndsWith("..."));
  for (char c : h.reason) CHECK(static_cast<unsigned char>(c) >= 0x20);
  // A path that is not UTF-8 (paths are bytes): still printable.
  auto odd_path = judge_heartbeat("{", "/run/\xFF.json", 5, k_now);
  CHECK_NOTHROW(json_line(status_json(odd_path)));
  // Cut inside a multi-byte character: it still prints as valid JSON.
  auto cut = judge(heartbeat(StreamState::failed, 1s, [] {
    std::string s;
    for (int i = 0; i < 400; ++i) s += "\xC3\xA9";  // é
    return s;
  }()));
  CHECK(nlohmann::json::parse(json_line(status_json(cut)))["reason"].get<std::string>().size() <=
        StreamHealth::k_max_reason_size);
}

TEST_CASE("status_json: the heartbeat's fields plus started, reason and age") {
  auto started = status_json(judge(heartbeat(StreamState::streaming, 1234ms)));
  CHECK(started["started"] == true);
  CHECK(started["reason"].is_null());
  CHECK(started["age"] == Approx(1.23));
  CHECK(started["state"] == "streaming");
  CHECK(started["frames"] == 123);
  CHECK(started["host"] == "192.0.2.10");

  auto stale = status_json(judge(heartbeat(StreamState::streaming, 10s)));
  CHECK(stale["started"] == false);
  CHECK_THAT(stale["reason"].get<std::string>(), Catch::Contains("stale"));
  CHECK(stale["age"] == 10.0);

  auto corrupt = status_json(judge_text("{"));
  CHECK(corrupt == nlohmann::json{{"started", false},
                                  {"reason", "heartbeat /run/hb.json is not valid JSON (1 bytes)"},
                                  {"age", nullptr}});

  // Our fields win over a heartbeat field of the same name.
  auto j = heartbeat(StreamState::stopped, 1s);
  j["started"] = true;
  CHECK(status_json(judge(j))["started"] == false);
}

TEST_CASE("json_line: one line ending in a newline, invalid UTF-8 replaced") {
  CHECK(json_line({{"a", 1}}) == "{\"a\":1}\n");
  CHECK(json_line({{"path", "/tmp/\xFF.json"}}) == "{\"path\":\"/tmp/\xEF\xBF\xBD.json\"}\n");
}

TEST_CASE("metrics: up, counters and fps from the heartbeat, in Prometheus text format") {
  auto text = metrics_text(judge(heartbeat(StreamState::streaming, 1s)));
  CHECK(text ==
        "# HELP bambu_stream_up 1 while the heartbeat says streaming and is fresh, else 0.\n"
        "# TYPE bambu_stream_up gauge\n"
        "bambu_stream_up 1\n"
        "# HELP bambu_stream_frames_total Frames written to stdout by the current bambu-stream process.\n"
        "# TYPE bambu_stream_frames_total counter\n"
        "bambu_stream_frames_total 123\n"
        "# HELP bambu_stream_reconnects_total Sessions dialled after the first by the current process.\n"
        "# TYPE bambu_stream_reconnects_total counter\n"
        "bambu_stream_reconnects_total 3\n"
        "# HELP bambu_stream_dropped_frames_total Frames dropped because stdout's reader, or the encoder, was too "
        "slow, by the current process.\n"
        "# TYPE bambu_stream_dropped_frames_total counter\n"
        "bambu_stream_dropped_frames_total 2\n"
        "# HELP bambu_stream_fps Frames written per second over the last 10 s.\n"
        "# TYPE bambu_stream_fps gauge\n"
        "bambu_stream_fps 1.49\n"
        "# HELP bambu_stream_skipped_frames_total Camera payloads skipped because they were not whole JPEGs.\n"
        "# TYPE bambu_stream_skipped_frames_total counter\n"
        "bambu_stream_skipped_frames_total 1\n"
        "# HELP bambu_stream_frames_encoded_total JPEGs encoded to H.264 by the current process.\n"
        "# TYPE bambu_stream_frames_encoded_total counter\n"
        "bambu_stream_frames_encoded_total 120\n"
        "# HELP bambu_stream_decode_failures_total JPEGs that did not decode, skipped by the encoder.\n"
        "# TYPE bambu_stream_decode_failures_total counter\n"
        "bambu_stream_decode_failures_total 4\n"
        "# HELP bambu_stream_encode_ms_last Milliseconds the last JPEG took to decode and encode.\n"
        "# TYPE bambu_stream_encode_ms_last gauge\n"
        "bambu_stream_encode_ms_last 6.5\n"
        "# HELP bambu_stream_encode_ms_mean Mean milliseconds per JPEG to decode and encode.\n"
        "# TYPE bambu_stream_encode_ms_mean gauge\n"
        "bambu_stream_encode_ms_mean 7.25\n"
        "# HELP bambu_stream_bitrate_kbps Mean kbit/s written to stdout since the first frame.\n"
        "# TYPE bambu_stream_bitrate_kbps gauge\n"
        "bambu_stream_bitrate_kbps 321.5\n"
        "# HELP bambu_stream_info What stdout carries: output format, codec and H.264 encoder.\n"
        "# TYPE bambu_stream_info gauge\n"
        "bambu_stream_info{format=\"mpegts\",codec=\"h264\",encoder=\"libx264\"} 1\n");
}

TEST_CASE("metrics: a stale heartbeat is down but keeps its last counts, a missing one has only up 0") {
  auto stale = metrics_text(judge(heartbeat(StreamState::streaming, 1min)));
  CHECK_THAT(stale, Catch::Contains("\nbambu_stream_up 0\n") && Catch::Contains("\nbambu_stream_frames_total 123\n"));
  auto corrupt = metrics_text(judge_text("not json"));
  CHECK(corrupt ==
        "# HELP bambu_stream_up 1 while the heartbeat says streaming and is fresh, else 0.\n"
        "# TYPE bambu_stream_up gauge\n"
        "bambu_stream_up 0\n");
  // A field of the wrong type gives no sample rather than a wrong one.
  auto j = heartbeat(StreamState::streaming, 1s);
  j["frames"] = "many";
  j["fps"] = nullptr;
  auto odd = metrics_text(judge(j));
  CHECK(odd.find("bambu_stream_frames_total") == std::string::npos);
  CHECK(odd.find("bambu_stream_fps") == std::string::npos);
  CHECK_THAT(odd, Catch::Contains("bambu_stream_reconnects_total 3\n"));
}

TEST_CASE("print state: every key of a --mqtt heartbeat is read, and never changes the verdict") {
  auto h = judge(printing_heartbeat());
  CHECK(h.started);
  REQUIRE(h.print);
  CHECK(h.print->print_state == "RUNNING");
  CHECK(h.print->print_percent == 42);
  CHECK(h.print->print_layer == 7);
  CHECK(h.print->print_layers_total == 100);
  CHECK(h.print->print_remaining_minutes == 62);
  CHECK(h.print->print_job == "benchy");
  CHECK(h.print->chamber_light == "on");
  CHECK(h.print->mqtt_connected == true);
  CHECK_FALSE(h.print->mqtt_error);

  // Without --mqtt: no keys, no print state.
  CHECK_FALSE(judge(heartbeat(StreamState::streaming, 1s)).print);
  // A printer that failed does not stop a streaming camera from counting as started.
  auto failed = printing_heartbeat();
  failed["print_state"] = "FAILED";
  failed["mqtt"] = "disconnected";
  failed["mqtt_error"] = "MQTT: the printer refused the access code";
  auto f = judge(failed);
  CHECK(f.started);
  CHECK(f.print->print_state == "FAILED");
  CHECK(f.print->mqtt_connected == false);
  CHECK(f.print->mqtt_error == "MQTT: the printer refused the access code");
  // And a printing printer does not make a stale stream started.
  CHECK_FALSE(judge(printing_heartbeat(10s)).started);
}

TEST_CASE("print state: null, wrong types and values out of range count as absent") {
  auto j = printing_heartbeat();
  j["print_state"] = nullptr;
  j["print_percent"] = 101;
  j["print_layer"] = -1;
  j["print_layers_total"] = "100";
  j["print_remaining_minutes"] = 62.5;
  j["print_job"] = std::string(k_max_print_text_bytes + 1, 'x');
  j["chamber_light"] = true;
  j["mqtt"] = "up";
  j["mqtt_error"] = nlohmann::json::array({"refused"});
  auto h = judge(j);
  CHECK(h.started);
  REQUIRE(h.print);  // the null print_state is still a key of --mqtt
  CHECK_FALSE(h.print->print_state);
  CHECK_FALSE(h.print->print_percent);
  CHECK_FALSE(h.print->print_layer);
  CHECK_FALSE(h.print->print_layers_total);
  CHECK_FALSE(h.print->print_remaining_minutes);
  CHECK_FALSE(h.print->print_job);
  CHECK_FALSE(h.print->chamber_light);
  CHECK_FALSE(h.print->mqtt_connected);
  CHECK_FALSE(h.print->mqtt_error);
  // status_json keeps the null, leaves the bad ones out, and keeps the rest.
  auto out = status_json(h);
  CHECK(out.contains("print_state"));
  CHECK(out["print_state"].is_null());
  for (const char* bad : {"print_percent", "print_layer", "print_layers_total", "print_remaining_minutes",
                          "print_job", "chamber_light", "mqtt", "mqtt_error"}) {
    INFO(bad);
    CHECK_FALSE(out.contains(bad));
  }
  CHECK(out["frames"] == 123);
  // The edges: 0 and 100 percent, a text of exactly the limit, huge counts refused.
  j["print_percent"] = 100;
  j["print_layer"] = 0;
  j["print_job"] = std::string(k_max_print_text_bytes, 'x');
  j["print_layers_total"] = k_max_print_count + 1;
  j["print_remaining_minutes"] = std::numeric_limits<std::uint64_t>::max();
  auto edge = judge(j);
  CHECK(edge.print->print_percent == 100);
  CHECK(edge.print->print_layer == 0);
  CHECK(edge.print->print_job->size() == k_max_print_text_bytes);
  CHECK_FALSE(edge.print->print_layers_total);
  CHECK_FALSE(edge.print->print_remaining_minutes);
  // Only bad keys: as if the stream ran without --mqtt.
  auto only_bad = heartbeat(StreamState::streaming, 1s);
  only_bad["print_percent"] = "42";
  CHECK_FALSE(judge(only_bad).print);
}

TEST_CASE("print state: status_json carries the keys with the heartbeat's names and types") {
  bambu::test::check_printing_benchy(status_json(judge(printing_heartbeat())));
  auto without = status_json(judge(heartbeat(StreamState::streaming, 1s)));
  for (const char* key : print_status_keys()) CHECK_FALSE(without.contains(key));
}

TEST_CASE("print state: Prometheus gauges, the state as a label, remaining time in seconds") {
  auto text = metrics_text(judge(printing_heartbeat()));
  CHECK_THAT(text, Catch::EndsWith(
      "bambu_stream_info{format=\"mpegts\",codec=\"h264\",encoder=\"libx264\"} 1\n"
      "# HELP bambu_print_state The printer's print state (its gcode_state: IDLE, PREPARE, RUNNING, PAUSE, FINISH, "
      "FAILED, ...) as the state label of a constant 1.\n"
      "# TYPE bambu_print_state gauge\n"
      "bambu_print_state{state=\"RUNNING\"} 1\n"
      "# HELP bambu_print_percent The print job's progress in percent, as the printer reports it.\n"
      "# TYPE bambu_print_percent gauge\n"
      "bambu_print_percent 42\n"
      "# HELP bambu_print_layer The layer printing now.\n"
      "# TYPE bambu_print_layer gauge\n"
      "bambu_print_layer 7\n"
      "# HELP bambu_print_layers_total The print job's number of layers.\n"
      "# TYPE bambu_print_layers_total gauge\n"
      "bambu_print_layers_total 100\n"
      "# HELP bambu_print_remaining_seconds The printer's estimate of the print job's time left, in seconds.\n"
      "# TYPE bambu_print_remaining_seconds gauge\n"
      "bambu_print_remaining_seconds 3720\n"
      "# HELP bambu_chamber_light 1 while the chamber light is on, 0 while it is off.\n"
      "# TYPE bambu_chamber_light gauge\n"
      "bambu_chamber_light 1\n"
      "# HELP bambu_mqtt_connected 1 while bambu-stream's MQTT session with the printer is connected, else 0.\n"
      "# TYPE bambu_mqtt_connected gauge\n"
      "bambu_mqtt_connected 1\n"));
  CHECK(metrics_text(judge(heartbeat(StreamState::streaming, 1s))).find("bambu_print") == std::string::npos);
}

TEST_CASE("print state: several printers, each sample only where known, a hostile state escaped") {
  auto a = printing_heartbeat();
  auto b = printing_heartbeat();
  b["print_state"] = "a\\b\"c\nd";
  b["print_percent"] = nullptr;
  b["chamber_light"] = "flashing";
  b["mqtt"] = "disconnected";
  auto c = heartbeat(StreamState::streaming, 1s);  // no --mqtt
  const StreamHealth healths[] = {judge(a), judge(b), judge(c)};
  const std::string names[] = {"p1", "p2", "p3"};
  auto text = metrics_text(healths, names);
  CHECK_THAT(text, Catch::Contains("# TYPE bambu_print_state gauge\n"
                                   "bambu_print_state{printer=\"p1\",state=\"RUNNING\"} 1\n"
                                   "bambu_print_state{printer=\"p2\",state=\"a\\\\b\\\"c\\nd\"} 1\n#"));
  CHECK_THAT(text, Catch::Contains("# TYPE bambu_print_percent gauge\nbambu_print_percent{printer=\"p1\"} 42\n#"));
  CHECK_THAT(text, Catch::Contains("# TYPE bambu_chamber_light gauge\nbambu_chamber_light{printer=\"p1\"} 1\n#"));
  CHECK_THAT(text, Catch::EndsWith("# TYPE bambu_mqtt_connected gauge\n"
                                   "bambu_mqtt_connected{printer=\"p1\"} 1\n"
                                   "bambu_mqtt_connected{printer=\"p2\"} 0\n"));
  // p3 has no print sample at all, p1 and p2 have theirs.
  CHECK(text.substr(text.find("# HELP bambu_print_state")).find("\"p3\"") == std::string::npos);
  // HELP and TYPE once per metric.
  CHECK(text.find("# HELP bambu_print_state") == text.rfind("# HELP bambu_print_state"));
  b["chamber_light"] = "off";
  CHECK_THAT(metrics_text(judge(b)), Catch::Contains("\nbambu_chamber_light 0\n"));
}

TEST_CASE("reading files: the writer's own file, atomically replaced, reads as started") {
  TempDir dir("health");
  auto path = (dir.path / "hb.json").string();
  StreamStatus status("jpeg", "192.0.2.10", 6000);
  status.set_state(StreamState::streaming);
  write_file_atomically(path, heartbeat_json(status.report()).dump());
  auto h = read_stream_health(path, 5, system_clock::now());
  CHECK(h.started);
  CHECK(h.heartbeat["host"] == "192.0.2.10");
}

TEST_CASE("reading files: missing, a directory, a FIFO, a device: not started, never blocking") {
  TempDir dir("health");
  auto missing = read_stream_health((dir.path / "none.json").string(), 5, k_now);
  CHECK_FALSE(missing.started);
  CHECK_THAT(missing.reason, Catch::Contains("none.json does not exist"));

  auto directory = read_stream_health(dir.path.string(), 5, k_now);
  CHECK_THAT(directory.reason, Catch::Contains("is not a regular file"));

  auto fifo_path = dir.path / "fifo";
  REQUIRE(::mkfifo(fifo_path.c_str(), 0600) == 0);
  auto fifo = read_stream_health(fifo_path.string(), 5, k_now);  // would block without O_NONBLOCK
  CHECK_THAT(fifo.reason, Catch::Contains("is not a regular file"));

  auto device = read_stream_health("/dev/zero", 5, k_now);  // endless: must not be read
  CHECK_THAT(device.reason, Catch::Contains("is not a regular file"));
}

TEST_CASE("reading files: more than 64 KiB is refused, exactly 64 KiB is read") {
  TempDir dir("health");
  auto big = dir.path / "big.json";
  write(big, std::string(10 << 20, ' '));
  auto h = read_stream_health(big.string(), 5, k_now);
  CHECK_FALSE(h.started);
  CHECK_THAT(h.reason, Catch::Contains("is larger than 65536 bytes"));

  auto exact = dir.path / "exact.json";
  std::string text = heartbeat(StreamState::streaming, 1s).dump();
  text.resize(k_max_heartbeat_bytes, ' ');  // JSON allows trailing whitespace
  write(exact, text);
  CHECK(read_stream_health(exact.string(), 5, k_now).started);
}

TEST_CASE("reading files: deeply nested JSON up to the size limit does not crash") {
  TempDir dir("health");
  auto nested = dir.path / "nested.json";
  write(nested, std::string(k_max_heartbeat_bytes / 2, '[') + std::string(k_max_heartbeat_bytes / 2, ']'));
  CHECK_THAT(read_stream_health(nested.string(), 5, k_now).reason, Catch::Contains("is not a JSON object"));
  auto open = dir.path / "open.json";
  write(open, std::string(k_max_heartbeat_bytes, '['));
  CHECK_THAT(read_stream_health(open.string(), 5, k_now).reason, Catch::Contains("is not valid JSON"));
}

// Found by fuzz/heartbeat_reader_fuzz: an updated_at outside
// system_clock's range (64-bit nanoseconds, 1677 to 2262) overflowed while
// being converted (undefined behaviour) and came out as a wrapped time. The
// input is byte for byte fuzz/regressions/heartbeat_reader/year-4052-updated-at.json.
TEST_CASE("fuzz regression: an updated_at in the year 4052 is refused, not overflowed") {
  const std::string_view text =
      R"({"bytes":456789,"codec":"mjpeg","dropped":2,"fps":1.49,"frames":123,"height":720,)"
      R"("host":"192.0.2.10","last_error":null,"last_frame_at":"2026-11-21T05:31:28.800Z","pid":4242,)"
      R"("port":6000,"reconnects":3,"skipped":1,"source":"jpeg","started_at":"2026-11-21T05:30:30.000Z",)"
      R"("state":"streaming","updated_at":"4052-11-21T05:31:28.800Z","width":1280})";
  REQUIRE(text.size() == 341);
  auto h = judge_text(text);
  CHECK_FALSE(h.started);
  CHECK_THAT(h.reason, Catch::Contains("has no valid \"updated_at\""));
  CHECK_FALSE(h.age_s);
}

TEST_CASE("RFC 3339: only times system_clock can hold are accepted, up to its last microsecond") {
  CHECK(parse_rfc3339("1677-09-21T00:12:43.145225Z") ==
        std::chrono::ceil<std::chrono::microseconds>(system_clock::time_point::min()));
  CHECK(parse_rfc3339("2262-04-11T23:47:16.854775Z") ==
        std::chrono::floor<std::chrono::microseconds>(system_clock::time_point::max()));
  for (const char* outside : {"1677-09-21T00:12:43.145224Z", "2262-04-11T23:47:16.854776Z",
                              "2262-04-11T22:47:16.854776-01:00", "0000-01-01T00:00:00Z", "9999-12-31T23:59:59Z"}) {
    INFO(outside);
    CHECK_FALSE(parse_rfc3339(outside));
  }
}

TEST_CASE("fuzz regression: a far-future updated_at cannot wrap around to a fresh one") {
  // 2^64 ns after k_now - 1 s: before the fix, it wrapped to exactly that.
  auto h = judge_text(R"({"state":"streaming","updated_at":"2611-06-12T05:06:02.709551Z"})");
  CHECK_FALSE(h.started);
  CHECK_THAT(h.reason, Catch::Contains("has no valid \"updated_at\""));
}

TEST_CASE("fuzz regression: the age of the oldest time system_clock holds does not overflow") {
  auto h = judge_text(R"({"state":"streaming","updated_at":"1677-09-21T00:12:43.145225Z"})");
  CHECK_FALSE(h.started);
  CHECK_THAT(h.reason, Catch::Contains("is stale"));
  REQUIRE(h.age_s);
  // k_now is 1795239090 s after 1970; the oldest time 9223372036.854775 s before.
  CHECK(*h.age_s == Approx(1795239090.0 + 9223372036.854775));
}
