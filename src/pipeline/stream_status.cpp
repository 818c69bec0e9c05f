#include "pipeline/stream_status.h"

#include <unistd.h>

#include <algorithm>

namespace bambu {

std::string_view to_string(StreamState state) {
  switch (state) {
    case StreamState::connecting: return "connecting";
    case StreamState::streaming: return "streaming";
    case StreamState::reconnecting: return "reconnecting";
    case StreamState::stopped: return "stopped";
    case StreamState::failed: return "failed";
  }
  return "unknown";
}

StreamStatus::StreamStatus(std::string source, std::string host, std::uint16_t port) {
  status_.pid = static_cast<long>(::getpid());
  status_.source = std::move(source);
  status_.host = std::move(host);
  status_.port = port;
  status_.started_at = std::chrono::system_clock::now();
}

void StreamStatus::set_on_change(std::function<void()> on_change) {
  std::lock_guard lock(mutex_);
  on_change_ = std::move(on_change);
}

void StreamStatus::set_state(StreamState state, std::string error) {
  bool changed = false;
  std::function<void()> notify;
  {
    std::lock_guard lock(mutex_);
    if (status_.state != state) {
      status_.state = state;
      changed = true;
    }
    if (!error.empty() && error != status_.last_error) {
      status_.last_error = std::move(error);
      changed = true;
    }
    if (changed) notify = on_change_;
  }
  if (notify) notify();
}

void StreamStatus::set_printer(PrinterState printer, bool mqtt_connected, std::string mqtt_error) {
  std::function<void()> notify;
  {
    std::lock_guard lock(mutex_);
    if (status_.printer == printer && status_.mqtt_connected == mqtt_connected && status_.mqtt_error == mqtt_error) {
      return;
    }
    status_.printer = std::move(printer);
    status_.mqtt_connected = mqtt_connected;
    status_.mqtt_error = std::move(mqtt_error);
    notify = on_change_;
  }
  if (notify) notify();
}

void StreamStatus::set_error(std::string error) {
  std::lock_guard lock(mutex_);
  status_.last_error = std::move(error);
}

void StreamStatus::set_endpoint(std::string source, std::string host, std::uint16_t port) {
  std::lock_guard lock(mutex_);
  status_.source = std::move(source);
  status_.host = std::move(host);
  status_.port = port;
}

void StreamStatus::set_video(std::string codec, int width, int height) {
  std::lock_guard lock(mutex_);
  status_.codec = std::move(codec);
  status_.width = width;
  status_.height = height;
}

void StreamStatus::set_output(std::string format, std::string encoder) {
  std::lock_guard lock(mutex_);
  status_.format = std::move(format);
  status_.encoder = std::move(encoder);
}

void StreamStatus::count_encoded(double ms) {
  std::lock_guard lock(mutex_);
  ++status_.frames_encoded;
  status_.encode_ms_last = ms;
  encode_ms_total_ += ms;
  status_.encode_ms_mean = encode_ms_total_ / static_cast<double>(status_.frames_encoded);
}

void StreamStatus::count_decode_failure() {
  std::lock_guard lock(mutex_);
  ++status_.decode_failures;
}

void StreamStatus::count_written(std::size_t bytes) {
  auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(mutex_);
  if (!first_written_) first_written_ = now;
  ++status_.frames;
  status_.bytes += bytes;
  status_.last_frame_at = std::chrono::system_clock::now();
  recent_frames_.push_back(now);
  while (!recent_frames_.empty() && now - recent_frames_.front() > k_fps_window) recent_frames_.pop_front();
}

void StreamStatus::count_repeat_written(std::size_t bytes) {
  std::lock_guard lock(mutex_);
  ++status_.repeats;
  status_.bytes += bytes;
}

void StreamStatus::count_dropped() {
  std::lock_guard lock(mutex_);
  ++status_.dropped;
}

void StreamStatus::count_skipped() {
  std::lock_guard lock(mutex_);
  ++status_.skipped;
}

void StreamStatus::count_reconnect() {
  std::lock_guard lock(mutex_);
  ++status_.reconnects;
}

void StreamStatus::set_snapshot_path(std::string path) {
  std::lock_guard lock(mutex_);
  status_.snapshot_path = std::move(path);
}

void StreamStatus::count_snapshot() {
  std::lock_guard lock(mutex_);
  status_.snapshot_at = std::chrono::system_clock::now();
}

StreamState StreamStatus::state() const {
  std::lock_guard lock(mutex_);
  return status_.state;
}

StatusReport StreamStatus::report() const {
  auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(mutex_);
  StatusReport copy = status_;
  copy.updated_at = std::chrono::system_clock::now();
  std::size_t in_window = 0;
  for (auto it = recent_frames_.rbegin(); it != recent_frames_.rend() && now - *it <= k_fps_window; ++it) {
    ++in_window;
  }
  // Over the whole window, or since the start if that is shorter, so the
  // first seconds do not read as a low rate.
  auto since_start = std::chrono::duration<double>(copy.updated_at - copy.started_at).count();
  double window = std::min<double>(static_cast<double>(k_fps_window.count()), std::max(since_start, 1.0));
  copy.fps = static_cast<double>(in_window) / window;
  if (first_written_) {
    // Since the first frame; at least 1 s, so one frame does not read as a huge rate.
    const double streamed = std::max(std::chrono::duration<double>(now - *first_written_).count(), 1.0);
    copy.bitrate_kbps = static_cast<double>(copy.bytes) * 8 / 1000 / streamed;
  }
  return copy;
}

}  // namespace bambu
