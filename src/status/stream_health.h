// Stream health from a heartbeat file: what `bambu-stream status`, its HTTP
// server and the Docker HEALTHCHECK report. Reads only; never writes the file.
//
// The heartbeat is written by another process (docs/heartbeat.md) and
// may be missing, stale, corrupt, huge or even a FIFO: every case ends in a
// verdict with a one-line reason, never in an exception or a hang.
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "status/print_status.h"

namespace bambu {

/// The most bytes read from a heartbeat file. Real ones are about 400 bytes;
/// a larger file is rejected as "not a heartbeat" without being parsed.
inline constexpr std::size_t k_max_heartbeat_bytes = 64 * 1024;

/// The verdict on one heartbeat at one moment.
struct StreamHealth {
  /// True only if the heartbeat says "streaming" and is fresh.
  bool started = false;
  /// Why not started: one line (no control characters, at most
  /// k_max_reason_size bytes). Empty when started.
  std::string reason;
  /// The heartbeat's JSON object as read, extra fields included; an empty
  /// object if the file is missing, unreadable or not a JSON object.
  nlohmann::json heartbeat = nlohmann::json::object();
  /// Seconds from updated_at to the moment judged (negative if updated_at is
  /// in the future); nullopt if the file has no valid updated_at.
  std::optional<double> age_s;
  /// The printer's print state and MQTT session (read_print_status()), when
  /// the heartbeat has them (a stream run with --mqtt); never part of the
  /// verdict: a printer's state says nothing of whether its video runs.
  std::optional<PrintStatus> print;

  /// Longest reason kept; longer ones (a long last_error) are cut with "...".
  static constexpr std::size_t k_max_reason_size = 300;
};

/// Judges heartbeat text (the file's content) at time `now`.
/// Started iff the text is a JSON object whose "state" is "streaming" and
/// whose "updated_at" is at most `max_age_s` seconds away from `now` (either
/// way: a time in the future means a clock step, which is not trusted
/// either). Unknown fields are kept and ignored; the print keys are read
/// into `print`. `path` only names the file in reasons. Never throws except
/// std::bad_alloc.
///
/// Freshness comes from updated_at, not from the file's mtime: the writer
/// stamps updated_at when it builds each snapshot, the content is all a
/// reader gets when the file is copied or served elsewhere, and tests can
/// write any age without touching timestamps. (Both come from the same wall
/// clock, since the file is renamed into place right after being written.)
StreamHealth judge_heartbeat(std::string_view text, std::string_view path, double max_age_s,
                             std::chrono::system_clock::time_point now);

/// Reads the heartbeat file at `path` and judges it at `now`. Reads at most
/// k_max_heartbeat_bytes + 1 bytes; opens with O_NONBLOCK and accepts only a
/// regular file, so a FIFO or a device cannot block it. A missing,
/// unreadable, oversized or non-regular file is "not started" with a reason
/// naming the path. Never throws except std::bad_alloc.
StreamHealth read_stream_health(const std::string& path, double max_age_s,
                                std::chrono::system_clock::time_point now);

/// The JSON object `status` prints and GET /status returns: every field of
/// the heartbeat, then "started" (bool), "reason" (string, or null when
/// started) and "age" (seconds since updated_at, rounded to 0.01, or null)
/// set over any heartbeat field of the same name. A print key whose value
/// is neither null nor valid (drop_invalid_print_keys()) is left out.
nlohmann::json status_json(const StreamHealth& health);

/// `j` as one line of JSON ending in '\n'. Invalid UTF-8 (a path or a cut
/// reason may hold some) becomes U+FFFD instead of throwing.
std::string json_line(const nlohmann::json& j);

/// The Prometheus text exposition (format 0.0.4) of `health`:
/// bambu_stream_up (gauge, 1 iff started), and from the heartbeat, when it
/// has them as numbers: bambu_stream_frames_total, bambu_stream_reconnects_total,
/// bambu_stream_dropped_frames_total, bambu_stream_skipped_frames_total,
/// bambu_stream_frames_encoded_total, bambu_stream_decode_failures_total
/// (counters; they restart from 0 with each bambu-stream process),
/// bambu_stream_fps, bambu_stream_encode_ms_last, bambu_stream_encode_ms_mean
/// and bambu_stream_bitrate_kbps (gauges); then bambu_stream_info{format,
/// codec, encoder} 1 from those string fields, where present; then from
/// `print` (each only when known): bambu_print_state{state} 1 (the state
/// label escaped as the format says), bambu_print_percent,
/// bambu_print_layer, bambu_print_layers_total,
/// bambu_print_remaining_seconds (the heartbeat's minutes x 60),
/// bambu_chamber_light (1 on, 0 off; no sample for flashing or another
/// word) and bambu_mqtt_connected (1 or 0), all gauges. Ends with '\n'.
std::string metrics_text(const StreamHealth& health);

/// The same for several printers: each metric's HELP and TYPE
/// once, then one sample per printer, labelled printer="printers[i]" (info
/// labels after it). `printers` is empty (no label, as above) or as long as
/// `healths`. Also bambu_stream_snapshot_age_seconds where the heartbeat has it.
std::string metrics_text(std::span<const StreamHealth> healths, std::span<const std::string> printers);

}  // namespace bambu
