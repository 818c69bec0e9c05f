// PrinterState: what the printer's MQTT reports said about it, as a plain
// value. The MQTT client (src/mqtt) fills it; the heartbeat and the status
// side read it, so it lives here, below them all, and none of them needs
// the MQTT client's headers.
#pragma once

#include <optional>
#include <string>

namespace bambu {

/// The printer's state from its MQTT reports (device/SERIAL/report). Every
/// field is empty until a report has carried it; a report that leaves a
/// field out keeps its last value, since the printer sends a full report
/// only when asked (pushall) and deltas otherwise. Texts are as the printer
/// wrote them, at most k_max_report_text bytes (mqtt/printer_report.h).
struct PrinterState {
  /// `print.gcode_state`: IDLE, PREPARE, RUNNING, PAUSE, FINISH, FAILED,
  /// SLICING, ... (the firmware's words, unchanged).
  std::optional<std::string> print_state;
  /// `print.mc_percent`: the job's progress, 0 to 100 (percent).
  std::optional<int> print_percent;
  /// `print.layer_num`: the layer being printed (0 before the first).
  std::optional<int> print_layer;
  /// `print.total_layer_num`: the job's layers.
  std::optional<int> print_layers_total;
  /// `print.mc_remaining_time`: the printer's estimate, in minutes.
  std::optional<int> print_remaining_minutes;
  /// `print.subtask_name`: the job's name (the plate or file name).
  std::optional<std::string> print_job;
  /// `print.lights_report[]` entry with node "chamber_light": its mode,
  /// "on", "off" or "flashing".
  std::optional<std::string> chamber_light;
  /// The same for node "chamber_light2" (the H2D's second chamber light).
  std::optional<std::string> chamber_light2;
  /// `print.ipcam.rtsp_url`: the X1/H2/P2S camera's RTSPS URL, or the
  /// word "disable" while LAN live view is off.
  std::optional<std::string> rtsp_url;
  /// `info.module[]` entry named "ota", its `sw_ver`: the firmware version,
  /// e.g. "01.07.00.00", from the answer to get_version.
  std::optional<std::string> firmware_version;
  /// True once a full report (the answer to pushall) has been merged: from
  /// then on every field the printer has is known, and an empty one is
  /// one this model does not report.
  bool full_report_seen = false;

  bool operator==(const PrinterState&) const = default;
};

}  // namespace bambu
