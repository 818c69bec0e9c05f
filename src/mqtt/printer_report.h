// The payload of one MQTT report of a Bambu printer (topic
// device/SERIAL/report), merged into a PrinterState. Pure: no I/O, no
// logging, no exceptions out.
//
// Shapes (reverse-engineered; no official document exists):
// - print.push_status, info.get_version, system.ledctrl:
//   https://github.com/Doridian/OpenBambuAPI/blob/main/mqtt.md
// - which fields a report may leave out, lights_report, ipcam.rtsp_url:
//   greghesp/ha-bambulab, custom_components/bambu_lab/pybambu/models.py
//   (Device.print_update, Lights, Camera, PrintJob)
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "pipeline/printer_state.h"

namespace bambu {

/// Largest payload parsed, in bytes; a larger one is refused without being
/// parsed. A full report is a few KiB (OpenBambuAPI's push_status example,
/// mqtt.md above, is about 3 KiB pretty-printed; each AMS unit adds its
/// trays), so this leaves a wide margin for firmware growth. This bounds
/// the parse only: libmosquitto has already read the whole message (MQTT
/// allows up to 256 MiB; libmosquitto 2.0 sets no lower bound for an MQTT
/// 3.1.1 client), so a broker that is not the printer (no --ca-file or
/// --tls-fingerprint) can make one message that large.
inline constexpr std::size_t k_max_report_size = 256 * 1024;
/// Deepest nesting of objects and arrays accepted (the report itself is
/// depth 1). Real reports reach 5: print.ams.ams[].tray[].
inline constexpr int k_max_report_depth = 16;
/// Longest text kept in a PrinterState field, in bytes; a longer one is
/// ignored as a wrong value. Job names are file names, well below this.
inline constexpr std::size_t k_max_report_text = 512;

/// What merge_report did with one payload.
struct ReportOutcome {
  /// True if the whole payload was refused (too big, too deep, not JSON,
  /// not an object): the state was not touched.
  bool rejected = false;
  /// True if some field of the state took a new value.
  bool changed = false;
  /// True if this was a full report (see merge_report).
  bool full = false;
  /// Empty if nothing was wrong; else one line (no newline, at most about
  /// 300 bytes) naming what was refused or which fields were ignored, for
  /// a throttled log line.
  std::string problem;
};

/// Merges one report payload (the MQTT message's bytes, UTF-8 JSON) into
/// `state` as a partial update: a field the payload leaves out keeps its
/// value; a field of the wrong type or out of range is ignored and named in
/// `problem`, the others still merge.
///
/// Only `print` objects whose `command` is "push_status" carry state: the
/// printer echoes other print commands with their parameters (a
/// project_file echo holds a subtask_name that is not yet the job), and
/// `info` counts only as the answer to get_version. Other top-level keys
/// (system, mc_print, upgrade...) are ignored.
///
/// Full or delta: a push_status is full when its `msg` is absent or 0, a
/// delta when `msg` is 1, as ha-bambulab tells the answer to pushall from
/// the deltas (pybambu bambu_client.py, try_connection: push_status with
/// msg 0; models.py, Device.print_update keeps `msg == 0` reports as the
/// full data). Every full report carries gcode_state (OpenBambuAPI's
/// push_status example, pybambu's PrintJob example payload), so one
/// without a valid gcode_state is merged as a delta: a malformed report
/// must not pass for the full state.
ReportOutcome merge_report(std::string_view payload, PrinterState& state);

}  // namespace bambu
