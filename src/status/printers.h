// The status server's view of more than one stream: the
// --snapshot JPEG a heartbeat names, and a folder of heartbeats, one per
// printer, for a print farm in one container.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "status/stream_health.h"

namespace bambu {

/// The largest snapshot served; a 4K camera's JPEG is well under it.
inline constexpr std::size_t k_max_snapshot_bytes = 16 * 1024 * 1024;

/// What GET /snapshot.jpg answers.
struct SnapshotAnswer {
  int status = 404;   ///< 200, 404 (no snapshot yet, or none kept) or 503 (older than --max-age, or not a JPEG)
  std::string body;   ///< the JPEG with 200, else one line of text ending in '\n'
};

/// Reads the snapshot that `heartbeat` (a heartbeat JSON object) names in
/// its "snapshot" field and judges it at `now`: 404 when the field is
/// missing or null, or the file does not exist yet; 503 when the file's
/// mtime is more than `max_age_s` seconds before `now`, or it is not one
/// whole JPEG (FF D8 ... FF D9) or is unreadable; else 200 with its bytes.
/// The writer renames each snapshot into place, and this reads through one
/// descriptor, so a 200 is always one whole file. Never throws except
/// std::bad_alloc.
SnapshotAnswer read_snapshot(const nlohmann::json& heartbeat, double max_age_s,
                             std::chrono::system_clock::time_point now);

/// True if `name` can name a printer in URLs and file names: 1 to 64 of
/// A-Z a-z 0-9 _ - . , not starting with '.'.
bool valid_printer_name(std::string_view name);

/// The printers of heartbeat folder `dir`: the NAME of every regular file
/// NAME.json whose NAME is valid (temporary NAME.json.tmp.PID files are not),
/// sorted. Empty if the folder is missing or unreadable. Never throws except
/// std::bad_alloc.
std::vector<std::string> printer_names(const std::string& dir);

/// `dir`/`name`.json.
std::string printer_heartbeat_path(const std::string& dir, std::string_view name);

/// Every printer of `dir`, judged at `now` (names[i] is healths[i]'s).
struct PrinterHealths {
  std::vector<std::string> names;
  std::vector<StreamHealth> healths;
  /// True iff there is at least one printer and every one has started.
  bool all_started() const;
  /// Why not all_started(): "no printer heartbeat in DIR", or
  /// "printer NAME: <reason>" for the first that has not started.
  std::string reason;
};

/// Reads and judges every printer of `dir` (printer_names()).
PrinterHealths read_printer_healths(const std::string& dir, double max_age_s,
                                    std::chrono::system_clock::time_point now);

/// {"started": all_started(), "reason": reason or null, "printers": {NAME: status_json(), ...}}.
nlohmann::json printers_json(const PrinterHealths& printers);

}  // namespace bambu
