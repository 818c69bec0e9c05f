#include "heartbeat/heartbeat.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <ctime>
#include <system_error>

#include <fmt/format.h>

#include "core/atomic_file.h"
#include "core/errors.h"
#include "core/parent_folders.h"
#include "core/rfc3339.h"

namespace bambu {


namespace {

template <typename T>
nlohmann::json json_or_null(const std::optional<T>& value) {
  return value ? nlohmann::json(*value) : nlohmann::json();
}

// With --mqtt: the printer's own state, every key present (null until a
// report carries it), so that a reader can tell "not reported" from
// "no --mqtt" (keys absent).
void add_printer_state(nlohmann::json& j, const StatusReport& s) {
  if (!s.printer) return;
  const PrinterState& p = *s.printer;
  j["print_state"] = json_or_null(p.print_state);
  j["print_percent"] = json_or_null(p.print_percent);
  j["print_layer"] = json_or_null(p.print_layer);
  j["print_layers_total"] = json_or_null(p.print_layers_total);
  j["print_remaining_minutes"] = json_or_null(p.print_remaining_minutes);
  j["print_job"] = json_or_null(p.print_job);
  j["chamber_light"] = json_or_null(p.chamber_light);
  j["mqtt"] = s.mqtt_connected ? "connected" : "disconnected";
  j["mqtt_error"] = s.mqtt_error.empty() ? nlohmann::json() : nlohmann::json(s.mqtt_error);
}

}  // namespace

nlohmann::json heartbeat_json(const StatusReport& s) {
  nlohmann::json j;
  j["state"] = to_string(s.state);
  j["pid"] = s.pid;
  j["source"] = s.source;
  j["format"] = s.format.empty() ? nlohmann::json() : nlohmann::json(s.format);
  j["codec"] = s.codec.empty() ? nlohmann::json() : nlohmann::json(s.codec);
  j["encoder"] = s.encoder.empty() ? nlohmann::json() : nlohmann::json(s.encoder);
  j["width"] = s.width > 0 ? nlohmann::json(s.width) : nlohmann::json();
  j["height"] = s.height > 0 ? nlohmann::json(s.height) : nlohmann::json();
  j["host"] = s.host;
  j["port"] = s.port;
  j["started_at"] = format_rfc3339(s.started_at);
  j["updated_at"] = format_rfc3339(s.updated_at);
  j["frames"] = s.frames;
  j["repeats"] = s.repeats;
  j["bytes"] = s.bytes;
  j["dropped"] = s.dropped;
  j["skipped"] = s.skipped;
  j["frames_encoded"] = s.frames_encoded;
  j["encode_ms_last"] = std::round(s.encode_ms_last * 100.0) / 100.0;
  j["encode_ms_mean"] = std::round(s.encode_ms_mean * 100.0) / 100.0;
  j["decode_failures"] = s.decode_failures;
  j["bitrate_kbps"] = std::round(s.bitrate_kbps * 10.0) / 10.0;
  j["fps"] = std::round(s.fps * 100.0) / 100.0;
  j["last_frame_at"] = s.last_frame_at ? nlohmann::json(format_rfc3339(*s.last_frame_at)) : nlohmann::json();
  j["reconnects"] = s.reconnects;
  j["last_error"] = s.last_error.empty() ? nlohmann::json() : nlohmann::json(s.last_error);
  j["snapshot"] = s.snapshot_path.empty() ? nlohmann::json() : nlohmann::json(s.snapshot_path);
  j["snapshot_at"] = s.snapshot_at ? nlohmann::json(format_rfc3339(*s.snapshot_at)) : nlohmann::json();
  j["snapshot_age"] =
      s.snapshot_at
          ? nlohmann::json(std::round(std::chrono::duration<double>(s.updated_at - *s.snapshot_at).count() * 100.0) /
                           100.0)
          : nlohmann::json();
  add_printer_state(j, s);
  return j;
}


// Strings in the heartbeat come from outside (the --host text, errors
// quoting the printer or libavformat) and may not be UTF-8: such bytes are
// written as U+FFFD instead of making the JSON writer throw.
std::string HeartbeatWriter::heartbeat_text() const {
  return heartbeat_json(status_.report()).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

HeartbeatWriter::HeartbeatWriter(std::string path, StreamStatus& status, const Logger& log)
    : path_(std::move(path)), status_(status), log_(log) {
  try {
    make_parent_folders(path_);
    write_file_atomically(path_, heartbeat_text());
  } catch (const std::system_error& e) {
    throw FatalError(ExitCode::usage, fmt::format("--heartbeat: {}", e.what()));
  }
  status_.set_on_change([this] { poke(); });
  thread_ = std::thread([this] { run(); });
}

HeartbeatWriter::~HeartbeatWriter() { finish(); }

void HeartbeatWriter::poke() {
  {
    std::lock_guard lock(mutex_);
    poked_ = true;
  }
  wake_.notify_one();
}

void HeartbeatWriter::finish() {
  {
    std::lock_guard lock(mutex_);
    if (done_) return;
    done_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
  status_.set_on_change(nullptr);
  write_once();
}

void HeartbeatWriter::run() {
  std::unique_lock lock(mutex_);
  // Fixed ticks, not "a period after the last write": the time each write
  // takes must not stretch the interval past one second.
  auto next_tick = std::chrono::steady_clock::now() + k_period;
  while (!done_) {
    wake_.wait_until(lock, next_tick, [this] { return poked_ || done_; });
    if (done_) break;
    auto now = std::chrono::steady_clock::now();
    if (now >= next_tick) {
      next_tick += k_period;
      if (next_tick <= now) next_tick = now + k_period;  // after a long stall, do not burst
    }
    poked_ = false;
    lock.unlock();
    write_once();
    lock.lock();
  }
}

void HeartbeatWriter::write_once() {
  try {
    write_file_atomically(path_, heartbeat_text());
  } catch (const std::exception& e) {
    if (failure_warning_.pass(Clock::now())) log_.warning("heartbeat: {}", e.what());
  }
}

}  // namespace bambu
