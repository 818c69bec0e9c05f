// merge_report (mqtt/printer_report.h): the MQTT reports of a P1S and an
// X1C merged into a PrinterState, deltas on top of a full report, and every
// hostile payload: too big, too deep, not JSON, wrong types per field.
//
// The reports are shaped after OpenBambuAPI's push_status and get_version
// examples (https://github.com/Doridian/OpenBambuAPI/blob/main/mqtt.md) and
// the payloads quoted in ha-bambulab's pybambu/models.py (ipcam with
// rtsp_url on an X1, lights_report, msg 1 deltas); trimmed of fields the
// parser does not read, values changed to a print in progress.
#include <catch2/catch.hpp>

#include <string>

#include "mqtt/printer_report.h"

using bambu::merge_report;
using bambu::PrinterState;
using bambu::ReportOutcome;

namespace {

// A P1S's answer to pushall, mid-print: no rtsp_url (its camera is the
// port-6000 one), one chamber light.
const std::string k_p1s_full = R"({
  "print": {
    "ams": {"ams": [{"humidity": "4", "id": "0", "temp": "26.4",
                     "tray": [{"id": "0", "tray_color": "FFFFFFFF", "tray_type": "PLA"}, {"id": "1"}]}],
            "ams_exist_bits": "1", "tray_now": "0"},
    "bed_target_temper": 55.0, "bed_temper": 54.9, "chamber_temper": 5.0,
    "command": "push_status",
    "gcode_file": "/data/Metadata/plate_1.gcode", "gcode_state": "RUNNING",
    "hms": [], "ipcam": {"ipcam_dev": "1", "ipcam_record": "enable", "timelapse": "disable"},
    "layer_num": 60, "lights_report": [{"mode": "on", "node": "chamber_light"}],
    "mc_percent": 45, "mc_print_stage": "2", "mc_remaining_time": 83, "msg": 0,
    "nozzle_target_temper": 220.0, "nozzle_temper": 219.8, "print_type": "local",
    "sequence_id": "2021", "spd_lvl": 2, "subtask_name": "benchy_plate_1", "total_layer_num": 240,
    "wifi_signal": "-45dBm", "xcam": {"first_layer_inspector": true, "spaghetti_detector": true}
  }
})";

// An X1C's answer to pushall while idle with LAN live view on: the RTSPS
// URL, a work light beside the chamber light, and no msg field at all.
const std::string k_x1c_full = R"({"print": {
  "command": "push_status", "gcode_state": "IDLE", "mc_percent": 100, "mc_remaining_time": 0,
  "layer_num": 0, "total_layer_num": 0, "subtask_name": "",
  "ipcam": {"ipcam_dev": "1", "ipcam_record": "enable", "mode_bits": 2, "resolution": "1080p",
            "rtsp_url": "rtsps://192.168.1.64/streaming/live/1", "timelapse": "disable", "tutk_server": "disable"},
  "lights_report": [{"node": "chamber_light", "mode": "off"}, {"node": "work_light", "mode": "flashing"}],
  "sequence_id": "7"}})";

// The answer to get_version (OpenBambuAPI's example, serials redacted).
const std::string k_version = R"({"info": {"command": "get_version", "sequence_id": "0", "module": [
  {"hw_ver": "", "name": "ota", "sn": "", "sw_ver": "01.07.00.00"},
  {"hw_ver": "AP05", "name": "rv1126", "sn": "", "sw_ver": "00.00.14.74"},
  {"hw_ver": "MC07", "name": "mc", "sn": "", "sw_ver": "00.00.10.48/00.00.10.48"}]}})";

PrinterState p1s_state() {
  PrinterState state;
  REQUIRE_FALSE(merge_report(k_p1s_full, state).rejected);
  return state;
}

// `depth` nested arrays inside print.hms: the report itself is level 1,
// print level 2, so the innermost array is at level depth + 2.
std::string nested_report(int depth) {
  return R"({"print": {"command": "push_status", "mc_percent": 7, "hms": )" + std::string(depth, '[') +
         std::string(depth, ']') + "}}";
}

}  // namespace

TEST_CASE("merge_report: a P1S's full report sets every field it carries") {
  PrinterState state;
  const ReportOutcome outcome = merge_report(k_p1s_full, state);
  CHECK_FALSE(outcome.rejected);
  CHECK(outcome.changed);
  CHECK(outcome.full);
  CHECK(outcome.problem.empty());
  CHECK(state.print_state == "RUNNING");
  CHECK(state.print_percent == 45);
  CHECK(state.print_layer == 60);
  CHECK(state.print_layers_total == 240);
  CHECK(state.print_remaining_minutes == 83);
  CHECK(state.print_job == "benchy_plate_1");
  CHECK(state.chamber_light == "on");
  CHECK_FALSE(state.chamber_light2.has_value());
  CHECK_FALSE(state.rtsp_url.has_value());
  CHECK_FALSE(state.firmware_version.has_value());
  CHECK(state.full_report_seen);
}

TEST_CASE("merge_report: an X1C's full report without msg, its RTSPS URL and lights") {
  PrinterState state;
  const ReportOutcome outcome = merge_report(k_x1c_full, state);
  CHECK(outcome.full);
  CHECK(outcome.problem.empty());
  CHECK(state.print_state == "IDLE");
  CHECK(state.print_percent == 100);
  CHECK(state.print_layer == 0);
  CHECK(state.print_job == "");
  CHECK(state.rtsp_url == "rtsps://192.168.1.64/streaming/live/1");
  CHECK(state.chamber_light == "off");
  CHECK(state.full_report_seen);
}

TEST_CASE("merge_report: deltas change what they carry and keep the rest") {
  PrinterState state = p1s_state();
  const PrinterState before = state;
  ReportOutcome outcome = merge_report(
      R"({"print": {"command": "push_status", "msg": 1, "sequence_id": "2022", "mc_percent": 46, "layer_num": 61,)"
      R"( "nozzle_temper": 220.1}})",
      state);
  CHECK(outcome.changed);
  CHECK_FALSE(outcome.full);
  CHECK(outcome.problem.empty());
  PrinterState want = before;
  want.print_percent = 46;
  want.print_layer = 61;
  CHECK(state == want);

  // A delta of fields the state does not keep changes nothing.
  outcome = merge_report(R"({"print": {"command": "push_status", "msg": 1, "bed_temper": 55.1}})", state);
  CHECK_FALSE(outcome.changed);
  CHECK(state == want);

  // The light turned off, then the job ended.
  merge_report(R"({"print": {"command": "push_status", "msg": 1, "lights_report": [{"node": "chamber_light", "mode": "off"}]}})",
               state);
  merge_report(R"({"print": {"command": "push_status", "msg": 1, "gcode_state": "FINISH", "mc_percent": 100}})", state);
  CHECK(state.chamber_light == "off");
  CHECK(state.print_state == "FINISH");
  CHECK(state.print_percent == 100);
  CHECK(state.print_job == "benchy_plate_1");
}

TEST_CASE("merge_report: deltas before any full report leave full_report_seen false") {
  PrinterState state;
  const ReportOutcome outcome =
      merge_report(R"({"print": {"command": "push_status", "msg": 1, "gcode_state": "PAUSE"}})", state);
  CHECK_FALSE(outcome.full);
  CHECK(state.print_state == "PAUSE");
  CHECK_FALSE(state.full_report_seen);
}

TEST_CASE("merge_report: a report without msg but without a valid gcode_state is not full") {
  PrinterState state;
  ReportOutcome outcome = merge_report(R"({"print": {"command": "push_status", "mc_percent": 5}})", state);
  CHECK_FALSE(outcome.full);
  outcome = merge_report(R"({"print": {"command": "push_status", "msg": 0, "gcode_state": 7, "mc_percent": 6}})", state);
  CHECK_FALSE(outcome.full);
  CHECK(state.print_percent == 6);
  CHECK_FALSE(state.full_report_seen);
  outcome = merge_report(R"({"print": {"command": "push_status", "msg": 1, "gcode_state": "IDLE"}})", state);
  CHECK_FALSE(outcome.full);
  CHECK_FALSE(state.full_report_seen);
}

TEST_CASE("merge_report: the firmware version from get_version's ota module") {
  PrinterState state = p1s_state();
  const ReportOutcome outcome = merge_report(k_version, state);
  CHECK(outcome.changed);
  CHECK_FALSE(outcome.full);
  CHECK(outcome.problem.empty());
  CHECK(state.firmware_version == "01.07.00.00");
  CHECK(state.print_state == "RUNNING");
}

TEST_CASE("merge_report: rtsp_url \"disable\" is kept as the printer says it") {
  PrinterState state;
  merge_report(k_x1c_full, state);
  merge_report(R"({"print": {"command": "push_status", "msg": 1, "ipcam": {"rtsp_url": "disable"}}})", state);
  CHECK(state.rtsp_url == "disable");
}

TEST_CASE("merge_report: an H2D's second chamber light has its own field") {
  PrinterState state;
  merge_report(R"({"print": {"command": "push_status", "msg": 1, "lights_report": [
      {"node": "chamber_light", "mode": "on"}, {"node": "chamber_light2", "mode": "off"},
      {"node": "heatbed_light", "mode": "on"}]}})",
               state);
  CHECK(state.chamber_light == "on");
  CHECK(state.chamber_light2 == "off");
}

TEST_CASE("merge_report: command echoes and other messages carry no state") {
  PrinterState state = p1s_state();
  const PrinterState before = state;
  // The echo of a project_file request names a job that has not started.
  for (const char* payload : {
           R"({"print": {"command": "project_file", "subtask_name": "other", "result": "success", "sequence_id": "0"}})",
           R"({"print": {"command": "gcode_line", "param": "M104 S0", "mc_percent": 3}})",
           R"({"print": {"mc_percent": 3, "msg": 1}})",
           R"({"system": {"command": "ledctrl", "led_node": "chamber_light", "led_mode": "off", "result": "success"}})",
           R"({"mc_print": {"command": "push_info", "param": "[LINK] ok", "sequence_id": "107"}})",
           R"({"info": {"command": "get_ver", "module": [{"name": "ota", "sw_ver": "9"}]}})",
           R"({})",
       }) {
    INFO(payload);
    const ReportOutcome outcome = merge_report(payload, state);
    CHECK_FALSE(outcome.rejected);
    CHECK_FALSE(outcome.changed);
    CHECK(outcome.problem.empty());
    CHECK(state == before);
  }
}

TEST_CASE("merge_report: a payload over k_max_report_size is refused unparsed") {
  PrinterState state = p1s_state();
  const PrinterState before = state;
  // Valid JSON padded with blanks to one byte over the limit: refused by size.
  std::string payload = R"({"print": {"command": "push_status", "mc_percent": 1}})";
  payload.resize(bambu::k_max_report_size + 1, ' ');
  ReportOutcome outcome = merge_report(payload, state);
  CHECK(outcome.rejected);
  CHECK(outcome.problem == "report of 262145 bytes refused: more than 262144");
  CHECK(state == before);
  // Exactly at the limit it is read.
  payload.resize(bambu::k_max_report_size);
  outcome = merge_report(payload, state);
  CHECK_FALSE(outcome.rejected);
  CHECK(state.print_percent == 1);
  // 10 MB of garbage: the same one line, nothing read.
  outcome = merge_report(std::string(10 * 1000 * 1000, '{'), state);
  CHECK(outcome.rejected);
  CHECK(outcome.problem == "report of 10000000 bytes refused: more than 262144");
}

TEST_CASE("merge_report: nesting beyond k_max_report_depth is refused whole") {
  PrinterState state = p1s_state();
  const PrinterState before = state;
  ReportOutcome outcome = merge_report(nested_report(bambu::k_max_report_depth - 1), state);
  CHECK(outcome.rejected);
  CHECK(outcome.problem == "report refused: nested deeper than 16 levels");
  CHECK(state == before);
  // 100000 levels (200 kB, under the size limit): refused, no stack overflow.
  outcome = merge_report(nested_report(100000), state);
  CHECK(outcome.rejected);
  CHECK(state == before);
  // At the limit exactly, it merges.
  outcome = merge_report(nested_report(bambu::k_max_report_depth - 2), state);
  CHECK_FALSE(outcome.rejected);
  CHECK(state.print_percent == 7);
}

TEST_CASE("merge_report: payloads that are not a JSON object are refused whole") {
  PrinterState state = p1s_state();
  const PrinterState before = state;
  struct Case {
    std::string payload;
    std::string problem;
  };
  const Case cases[] = {
      // Cut off: the error is at the end, one past the last byte.
      {R"({"print": {"command": "push_status", "mc_percent": 9)", "report refused: not JSON (error at byte 53)"},
      {"", "report refused: not JSON (error at byte 1)"},
      {"\x1f\x8b\x08\x00", "report refused: not JSON (error at byte 1)"},
      {std::string(R"({"print": {"command": "push_status", "subtask_name": "a)") + "\xff\xfe" + "\"}}",
       "report refused: not JSON (error at byte 56)"},
      {R"([{"print": {"command": "push_status", "mc_percent": 9}}])", "report refused: not a JSON object"},
      {R"("push_status")", "report refused: not a JSON object"},
      {"null", "report refused: not a JSON object"},
  };
  for (const Case& c : cases) {
    INFO(c.payload);
    const ReportOutcome outcome = merge_report(c.payload, state);
    CHECK(outcome.rejected);
    CHECK_FALSE(outcome.changed);
    CHECK(outcome.problem == c.problem);
    CHECK(state == before);
  }
}

TEST_CASE("merge_report: fields of the wrong type are ignored one by one, the rest merge") {
  PrinterState state = p1s_state();
  const ReportOutcome outcome = merge_report(
      R"({"print": {"command": "push_status", "msg": 1, "mc_percent": "46", "layer_num": 62,)"
      R"( "total_layer_num": -1, "mc_remaining_time": 80.5, "gcode_state": 5, "subtask_name": "renamed"}})",
      state);
  CHECK_FALSE(outcome.rejected);
  CHECK(outcome.changed);
  CHECK(outcome.problem ==
        "report fields ignored: print.gcode_state (not a text of at most 512 bytes), "
        "print.mc_percent (not an integer from 0 to 100), "
        "print.total_layer_num (not an integer from 0 to 600000), "
        "print.mc_remaining_time (not an integer from 0 to 600000)");
  CHECK(state.print_state == "RUNNING");
  CHECK(state.print_percent == 45);
  CHECK(state.print_layer == 62);
  CHECK(state.print_layers_total == 240);
  CHECK(state.print_remaining_minutes == 83);
  CHECK(state.print_job == "renamed");
}

TEST_CASE("merge_report: a problem line names four fields and counts the rest") {
  PrinterState state = p1s_state();
  const ReportOutcome outcome = merge_report(
      R"({"print": {"command": "push_status", "msg": 1, "mc_percent": 101, "layer_num": null,)"
      R"( "lights_report": [1, {"node": "chamber_light", "mode": 7}, {"mode": "on"}], "ipcam": [],)"
      R"( "subtask_name": ")" + std::string(bambu::k_max_report_text + 1, 'x') + R"("}})",
      state);
  CHECK(outcome.problem ==
        "report fields ignored: print.mc_percent (not an integer from 0 to 100), "
        "print.layer_num (not an integer from 0 to 600000), "
        "print.subtask_name (not a text of at most 512 bytes), "
        "print.lights_report[0] (not an object with a text node) and 3 more");
  CHECK(outcome.problem.find('\n') == std::string::npos);
  CHECK_FALSE(outcome.changed);
  CHECK(state == p1s_state());
}

TEST_CASE("merge_report: print or lights_report of the wrong type") {
  PrinterState state = p1s_state();
  ReportOutcome outcome = merge_report(R"({"print": "push_status"})", state);
  CHECK_FALSE(outcome.rejected);
  CHECK(outcome.problem == "report fields ignored: print (not an object)");
  outcome = merge_report(R"({"print": {"command": "push_status", "lights_report": {"node": "chamber_light"}}})", state);
  CHECK(outcome.problem == "report fields ignored: print.lights_report (not an array)");
  outcome = merge_report(R"({"info": {"command": "get_version", "module": {"name": "ota"}}})", state);
  CHECK(outcome.problem == "report fields ignored: info.module (not an array)");
  CHECK(state == p1s_state());
}
