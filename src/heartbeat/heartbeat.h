// The heartbeat file: a JSON object describing the stream, replaced
// atomically (written to a temporary file, then renamed over the old one) so
// a reader (Home Assistant, a Docker health check, `cat`) never sees half of it.
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "core/log.h"
#include "core/throttle.h"
#include "pipeline/stream_status.h"

namespace bambu {

/// The heartbeat JSON object of `status`. Fields: state, pid, source, host,
/// port, started_at, updated_at, last_frame_at (RFC 3339 UTC strings;
/// last_frame_at is null before the first frame), frames, bytes, dropped,
/// skipped, reconnects (counts), fps (frames per second over the last 10 s,
/// rounded to 0.01), last_error (string; null if none); snapshot (the
/// --snapshot file's absolute path, null without --snapshot), snapshot_at
/// (RFC 3339, null before the first) and snapshot_age (seconds from
/// snapshot_at to updated_at, rounded to 0.01; null before the first).
/// With --mqtt (status.printer set) also: print_state, print_job,
/// chamber_light (strings), print_percent, print_layer, print_layers_total,
/// print_remaining_minutes (integers; minutes), each null until a report
/// carried it; mqtt ("connected" or "disconnected") and mqtt_error (string
/// or null). Without --mqtt those keys are absent (docs/heartbeat.md).
nlohmann::json heartbeat_json(const StatusReport& status);

/// Publishes a StreamStatus to a heartbeat file from its own thread: once a
/// second, at once after every state change (StreamStatus::on_change), and a
/// final time on finish(). Write failures are logged (at most once a minute)
/// and never stop the stream.
class HeartbeatWriter {
 public:
  /// Period between regular rewrites.
  static constexpr std::chrono::milliseconds k_period{1000};

  /// Creates the file's missing folders (make_parent_folders()), writes the
  /// first heartbeat synchronously, then starts the thread. Throws
  /// FatalError(usage) if either fails (a wrong path should fail at start,
  /// not silently). Hooks itself into status.set_on_change().
  HeartbeatWriter(std::string path, StreamStatus& status, const Logger& log);
  /// Calls finish().
  ~HeartbeatWriter();
  HeartbeatWriter(const HeartbeatWriter&) = delete;
  HeartbeatWriter& operator=(const HeartbeatWriter&) = delete;

  /// Wakes the thread to write now (called on state changes).
  void poke();
  /// Stops the thread and writes the final heartbeat. Idempotent.
  void finish();

 private:
  void run();
  void write_once();
  std::string heartbeat_text() const;  // the file's content now: one JSON object

  std::string path_;
  StreamStatus& status_;
  const Logger& log_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool poked_ = false;
  bool done_ = false;
  Throttle failure_warning_{std::chrono::minutes(1)};  // failed rewrites; used by the writing thread only
  std::thread thread_;  // last: starts after the members it uses exist
};

}  // namespace bambu
