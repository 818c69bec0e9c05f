// Writes the seed corpus of the fuzz targets into DIR/frame_parser/ and
// DIR/heartbeat_reader/ (ctest `fuzz_seed_corpus`, the setup fixture of the
// fuzz ctests), and checks that each seed means what its name says, so a
// change in the input format or in the code under test cannot quietly turn
// the seeds into noise.
//
// Frame seeds: a mode byte (fuzz_inputs.h), then frames with real 16-byte
// headers and tiny JPEG payloads: whole, split, zero-sized, with an
// oversize or exactly-the-cap size field. Heartbeat seeds: every state as
// HeartbeatWriter writes it (heartbeat_json, dumped, written with
// write_file_atomically), fresh, stale and from the future relative to
// fuzz::k_now; corrupt ones; bare RFC 3339 timestamps.
//
// Usage: make_seed_corpus DIR. Exit 0, or 1 with the failed check on stderr.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "fuzz_inputs.h"
#include "core/atomic_file.h"
#include "core/rfc3339.h"
#include "heartbeat/heartbeat.h"
#include "mqtt/printer_report.h"
#include "protocol/frame_parser.h"
#include "status/stream_health.h"

namespace {

namespace fs = std::filesystem;
namespace fuzz = bambu::fuzz;
using namespace std::chrono_literals;
using Bytes = std::vector<std::uint8_t>;

int g_failures = 0;

void expect(bool ok, std::string_view what) {
  if (!ok) {
    fmt::print(stderr, "make_seed_corpus: {}\n", what);
    ++g_failures;
  }
}

void write(const fs::path& path, std::string_view content) { bambu::write_file_atomically(path.string(), content); }
void write(const fs::path& path, const Bytes& content) {
  write(path, std::string_view(reinterpret_cast<const char*>(content.data()), content.size()));
}

// The smallest JPEG-shaped payload: SOI, a few bytes, EOI.
Bytes tiny_jpeg(std::uint8_t fill) { return {0xFF, 0xD8, 0xFF, 0xE0, fill, fill, 0xFF, 0xD9}; }

void append_frame(Bytes& stream, std::uint32_t size_field, const Bytes& payload) {
  std::uint8_t header[bambu::k_frame_header_size];
  bambu::encode_frame_header(bambu::FrameHeader{size_field, 0, 1, 0}, header);
  stream.insert(stream.end(), header, header + sizeof header);
  stream.insert(stream.end(), payload.begin(), payload.end());
}

// The frames a parser hands out for `stream`, and whether it ends corrupt.
std::pair<std::size_t, bool> parse(const Bytes& stream) {
  bambu::FrameParser parser;
  std::size_t frames = 0;
  std::span<const std::uint8_t> rest(stream);
  while (!rest.empty()) {
    auto r = parser.feed(rest);
    rest = rest.subspan(r.consumed);
    if (r.status == bambu::FrameParser::Status::corrupt) return {frames, true};
    if (r.status == bambu::FrameParser::Status::frame) {
      parser.take_frame();
      ++frames;
    }
  }
  return {frames, false};
}

void frame_seed(const fs::path& dir, const std::string& name, std::uint8_t mode, const Bytes& stream,
                std::size_t want_frames, bool want_corrupt) {
  auto [frames, corrupt] = parse(stream);
  expect(frames == want_frames && corrupt == want_corrupt,
         fmt::format("frame seed {}: {} frames{}, expected {}{}", name, frames, corrupt ? " then corrupt" : "",
                     want_frames, want_corrupt ? " then corrupt" : ""));
  Bytes input{mode};
  input.insert(input.end(), stream.begin(), stream.end());
  write(dir / name, input);
}

void frame_seeds(const fs::path& dir) {
  using fuzz::frame_mode;
  Bytes one;
  append_frame(one, 8, tiny_jpeg(0x11));
  Bytes four = one;
  append_frame(four, 8, tiny_jpeg(0x22));
  append_frame(four, 0, {});  // a zero-size frame
  append_frame(four, 8, tiny_jpeg(0x33));
  Bytes split = four;
  split.resize(split.size() - 5);  // the last frame cut inside its payload
  Bytes half_header = one;
  half_header.insert(half_header.end(), {0x08, 0x00, 0x00});
  Bytes oversize = one;
  append_frame(oversize, bambu::k_max_frame_size + 1, tiny_jpeg(0x44));
  Bytes all_ones = one;
  append_frame(all_ones, 0xFFFFFFFFu, {});
  Bytes at_cap = one;  // the largest size accepted; its payload never comes
  append_frame(at_cap, bambu::k_max_frame_size, tiny_jpeg(0x55));

  frame_seed(dir, "one-frame-at-once", frame_mode(fuzz::k_api_feed, 1), one, 1, false);
  frame_seed(dir, "four-frames-byte-by-byte", frame_mode(fuzz::k_api_feed, 0, fuzz::k_poke), four, 4, false);
  frame_seed(dir, "four-frames-window", frame_mode(fuzz::k_api_window, 3), four, 4, false);
  frame_seed(dir, "four-frames-alternate", frame_mode(fuzz::k_api_alternate, 2, fuzz::k_poke), four, 4, false);
  frame_seed(dir, "split-partial-commit", frame_mode(fuzz::k_api_partial_commit, 4), split, 3, false);
  frame_seed(dir, "half-header-then-reset", frame_mode(fuzz::k_api_feed, 5, fuzz::k_reset_after), half_header, 1,
             false);
  frame_seed(dir, "oversize-size-field", frame_mode(fuzz::k_api_window, 1, fuzz::k_poke | fuzz::k_reset_after),
             oversize, 1, true);
  frame_seed(dir, "size-all-ones", frame_mode(fuzz::k_api_feed, 6, fuzz::k_reset_after), all_ones, 1, true);
  frame_seed(dir, "size-at-cap-truncated", frame_mode(fuzz::k_api_alternate, 7), at_cap, 1, false);
}

// A heartbeat as HeartbeatWriter writes it, updated `age` before fuzz::k_now.
std::string heartbeat(bambu::StreamState state, std::chrono::milliseconds age, std::string last_error = {}) {
  bambu::StatusReport s;
  s.state = state;
  s.pid = 4242;
  s.source = "jpeg";
  s.codec = "mjpeg";
  s.width = 1280;
  s.height = 720;
  s.host = "192.0.2.10";
  s.port = 6000;
  s.started_at = fuzz::k_now - 60s;
  s.updated_at = fuzz::k_now - age;
  s.frames = 123;
  s.bytes = 456789;
  s.dropped = 2;
  s.skipped = 1;
  s.fps = 1.49;
  s.last_frame_at = fuzz::k_now - age;
  s.reconnects = 3;
  s.last_error = std::move(last_error);
  return bambu::heartbeat_json(s).dump();
}

// The same from a stream run with --mqtt, printing (docs/heartbeat.md, "Print state").
std::string printing_heartbeat() {
  nlohmann::json j = nlohmann::json::parse(heartbeat(bambu::StreamState::streaming, 1s));
  j.update(nlohmann::json::parse(R"({"print_state":"RUNNING","print_percent":42,"print_layer":7,)"
                                 R"("print_layers_total":100,"print_remaining_minutes":62,"print_job":"benchy",)"
                                 R"("chamber_light":"on","mqtt":"connected","mqtt_error":null})"));
  return j.dump();
}

void heartbeat_seed(const fs::path& dir, const std::string& name, const std::string& text, bool want_started,
                    std::string_view reason_has = {}) {
  bambu::StreamHealth h = bambu::judge_heartbeat(text, "seed", fuzz::k_max_age_s, fuzz::k_now);
  expect(h.started == want_started && h.reason.find(reason_has) != std::string::npos,
         fmt::format("heartbeat seed {}: started={} reason \"{}\"", name, h.started, h.reason));
  write(dir / name, text);
}

void heartbeat_seeds(const fs::path& dir) {
  using bambu::StreamState;
  heartbeat_seed(dir, "streaming-fresh.json", heartbeat(StreamState::streaming, 1200ms), true);
  heartbeat_seed(dir, "connecting.json", heartbeat(StreamState::connecting, 0ms), false, "state is connecting");
  heartbeat_seed(dir, "reconnecting.json", heartbeat(StreamState::reconnecting, 500ms, "connection reset by peer"),
                 false, "last error: connection reset");
  heartbeat_seed(dir, "stopped.json", heartbeat(StreamState::stopped, 2s), false, "state is stopped");
  heartbeat_seed(dir, "failed.json", heartbeat(StreamState::failed, 3s, "access code rejected"), false,
                 "access code rejected");
  heartbeat_seed(dir, "streaming-stale.json", heartbeat(StreamState::streaming, 30s), false, "stale");
  heartbeat_seed(dir, "streaming-future.json", heartbeat(StreamState::streaming, -30s), false, "future");
  std::string whole = heartbeat(StreamState::streaming, 1s);
  heartbeat_seed(dir, "truncated.json", whole.substr(0, whole.size() / 2), false, "not valid JSON");
  heartbeat_seed(dir, "not-an-object.json", "[\"streaming\", 1]", false, "not a JSON object");
  heartbeat_seed(dir, "no-state.json", R"({"updated_at":"2026-11-21T05:31:29.000Z"})", false, "no \"state\"");
  heartbeat_seed(dir, "bad-updated-at.json", R"({"state":"streaming","updated_at":"2026-02-30T05:31:29Z"})", false,
                 "updated_at");
  heartbeat_seed(dir, "printing.json", printing_heartbeat(), true);
  heartbeat_seed(dir, "offset-and-extras.json",
                 R"({"state":"streaming","updated_at":"2026-11-21T06:31:28.5+01:00","frames":1e3,)"
                 R"("fps":"fast","dropped":-1,"extra":{"nested":[1,2,{"a":null}]},"started":"yes"})",
                 true);
  // Bare timestamps, for parse_rfc3339 itself.
  write(dir / "time-canonical.txt", bambu::format_rfc3339(fuzz::k_now - 2186ms));
  write(dir / "time-offset.txt", "2026-11-21t04:01:30.123456789-01:30");
  write(dir / "time-no-fraction.txt", "1999-12-31T23:59:60z");
}

// What merging a report seed into an empty state must give.
enum class ReportWant { full, delta, other, ignored_fields, refused };

void report_seed(const fs::path& dir, const std::string& name, const std::string& payload, ReportWant want) {
  bambu::PrinterState state;
  const bambu::ReportOutcome o = bambu::merge_report(payload, state);
  const ReportWant got = o.rejected                ? ReportWant::refused
                         : !o.problem.empty()      ? ReportWant::ignored_fields
                         : o.full                  ? ReportWant::full
                         : o.changed               ? ReportWant::delta
                                                   : ReportWant::other;
  expect(got == want, fmt::format("report seed {}: got outcome {}, expected {} ({})", name, static_cast<int>(got),
                                  static_cast<int>(want), o.problem));
  write(dir / name, payload);
}

// Reports shaped as the printers send them (tests/printer_report_test.cpp
// says where the shapes come from), and hostile ones.
void report_seeds(const fs::path& dir) {
  report_seed(dir, "p1s-full.json",
              R"({"print":{"command":"push_status","msg":0,"sequence_id":"2021","gcode_state":"RUNNING",)"
              R"("mc_percent":45,"layer_num":60,"total_layer_num":240,"mc_remaining_time":83,)"
              R"("subtask_name":"benchy_plate_1","lights_report":[{"node":"chamber_light","mode":"on"}],)"
              R"("ipcam":{"ipcam_dev":"1","ipcam_record":"enable","timelapse":"disable"},)"
              R"("ams":{"ams":[{"id":"0","tray":[{"id":"0","tray_type":"PLA"}]}],"tray_now":"0"}}})",
              ReportWant::full);
  report_seed(dir, "x1c-full-no-msg.json",
              R"({"print":{"command":"push_status","gcode_state":"IDLE","mc_percent":100,)"
              R"("ipcam":{"rtsp_url":"rtsps://192.168.1.64/streaming/live/1","resolution":"1080p"},)"
              R"("lights_report":[{"node":"chamber_light","mode":"off"},{"node":"work_light","mode":"flashing"}]}})",
              ReportWant::full);
  report_seed(dir, "delta.json", R"({"print":{"command":"push_status","msg":1,"mc_percent":46,"layer_num":61}})",
              ReportWant::delta);
  report_seed(dir, "h2d-lights.json",
              R"({"print":{"command":"push_status","msg":1,"lights_report":[{"node":"chamber_light2","mode":"on"}]}})",
              ReportWant::delta);
  report_seed(dir, "rtsp-disable.json", R"({"print":{"command":"push_status","msg":1,"ipcam":{"rtsp_url":"disable"}}})",
              ReportWant::delta);
  report_seed(dir, "get-version.json",
              R"({"info":{"command":"get_version","sequence_id":"0","module":[{"name":"ota","sw_ver":"01.07.00.00"},)"
              R"({"name":"mc","sw_ver":"00.00.10.48"}]}})",
              ReportWant::delta);
  report_seed(dir, "ledctrl-echo.json",
              R"({"system":{"command":"ledctrl","led_node":"chamber_light","led_mode":"on","result":"success"}})",
              ReportWant::other);
  report_seed(dir, "project-file-echo.json", R"({"print":{"command":"project_file","subtask_name":"x"}})",
              ReportWant::other);
  report_seed(dir, "wrong-types.json",
              R"({"print":{"command":"push_status","msg":1,"mc_percent":"5","layer_num":-3,"lights_report":[7],)"
              R"("ipcam":[],"gcode_state":null}})",
              ReportWant::ignored_fields);
  report_seed(dir, "too-deep.json", R"({"print":{"command":"push_status","hms":[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]}})",
              ReportWant::refused);
  report_seed(dir, "truncated.json", R"({"print":{"command":"push_status","mc_percent":4)", ReportWant::refused);
  report_seed(dir, "not-an-object.json", R"([{"print":{}}])", ReportWant::refused);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    fmt::print(stderr, "usage: make_seed_corpus DIR\n");
    return 2;
  }
  fs::path root = argv[1];
  for (const char* target : {"frame_parser", "heartbeat_reader", "printer_report"}) {
    fs::remove_all(root / target);
    fs::create_directories(root / target);
  }
  frame_seeds(root / "frame_parser");
  heartbeat_seeds(root / "heartbeat_reader");
  report_seeds(root / "printer_report");
  if (g_failures > 0) return 1;
  fmt::print("make_seed_corpus: wrote the seeds into {}\n", root.string());
  return 0;
}
