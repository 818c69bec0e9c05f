// StreamStatus: the live counters and state of one stream, shared between the
// session thread, the stdout writer thread and the heartbeat writer.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "pipeline/printer_state.h"

namespace bambu {

/// The stream's state as published in the heartbeat's `state` field.
enum class StreamState {
  connecting,    ///< dialling the printer for the first time
  streaming,     ///< frames are arriving
  reconnecting,  ///< the stream was lost; retrying within --retry-for
  stopped,       ///< ended cleanly (exit code 0)
  failed,        ///< ended with an error (non-zero exit code); see last_error
};

/// The JSON word for `state`, e.g. "streaming".
std::string_view to_string(StreamState state);

/// A consistent copy of the status at one moment.
struct StatusReport {
  StreamState state = StreamState::connecting;
  long pid = 0;
  std::string source;  ///< "jpeg" or "rtsps"
  std::string format;  ///< what stdout carries: "mjpeg", "mpegts" or "h264"; empty until known
  std::string codec;   ///< the video codec on stdout, "mjpeg" or "h264"; empty until the first frame
  std::string encoder; ///< the H.264 encoder's name (jpeg source encoded), else empty
  int width = 0;       ///< pixels; 0 until known
  int height = 0;      ///< pixels; 0 until known
  std::string host;
  std::uint16_t port = 0;
  std::chrono::system_clock::time_point started_at;
  std::chrono::system_clock::time_point updated_at;  ///< when the snapshot was taken
  std::uint64_t frames = 0;    ///< camera frames written to stdout
  std::uint64_t repeats = 0;   ///< repeats of the newest picture written between them (--output-fps, the start-up burst)
  std::uint64_t bytes = 0;     ///< bytes written to stdout, repeats included
  std::uint64_t dropped = 0;   ///< frames dropped: stdout's reader, or the encoder, was too slow
  std::uint64_t frames_encoded = 0;   ///< JPEGs encoded to H.264
  double encode_ms_last = 0;          ///< milliseconds the last JPEG took to decode and encode
  double encode_ms_mean = 0;          ///< the mean of that over every encoded frame
  std::uint64_t decode_failures = 0;  ///< JPEGs the encoder could not decode (skipped)
  double bitrate_kbps = 0;            ///< mean kbit/s written to stdout since the first frame
  std::uint64_t skipped = 0;   ///< payloads skipped because they were not whole JPEGs
  double fps = 0;              ///< frames written per second over the last 10 s
  std::optional<std::chrono::system_clock::time_point> last_frame_at;  ///< last frame written
  std::uint64_t reconnects = 0;  ///< sessions dialled after the first
  std::string last_error;        ///< one line; empty if none yet
  std::string snapshot_path;     ///< --snapshot's absolute path; empty without --snapshot
  std::optional<std::chrono::system_clock::time_point> snapshot_at;  ///< last snapshot written
  /// With --mqtt: what the printer's MQTT reports said so far (every field
  /// empty until a report carries it); without --mqtt, empty.
  std::optional<PrinterState> printer;
  bool mqtt_connected = false;  ///< with --mqtt: the MQTT session is connected now
  std::string mqtt_error;       ///< with --mqtt: the session's last failure in one line; empty if none
};

/// Thread-safe holder of the stream's status. Every method may be called
/// from any thread; none blocks beyond a short mutex hold.
class StreamStatus {
 public:
  /// Window over which `fps` is computed.
  static constexpr std::chrono::seconds k_fps_window{10};

  StreamStatus(std::string source, std::string host, std::uint16_t port);

  /// Sets the function called (outside the lock, on the changing thread)
  /// after every state change; nullptr removes it.
  void set_on_change(std::function<void()> on_change);

  /// Changes the state; `error` (if not empty) becomes last_error. Calls
  /// on_change if the state or error changed.
  void set_state(StreamState state, std::string error = {});
  /// Records an error without changing the state.
  void set_error(std::string error);
  /// Updates source, host and port (the demo learns its port after start;
  /// --source auto learns the source).
  void set_endpoint(std::string source, std::string host, std::uint16_t port);
  /// Records the video's codec name ("mjpeg", "h264") and size in pixels.
  void set_video(std::string codec, int width, int height);
  /// Records what stdout carries ("mjpeg", "mpegts", "h264") and the H.264
  /// encoder's name (empty when nothing is encoded).
  void set_output(std::string format, std::string encoder);
  /// One JPEG was decoded and encoded in `ms` milliseconds.
  void count_encoded(double ms);
  /// One JPEG did not decode and was skipped.
  void count_decode_failure();
  /// A frame of `bytes` bytes was written to stdout (frames, bytes, fps, last_frame_at).
  void count_written(std::size_t bytes);
  /// A repeat of the newest picture, `bytes` bytes, was written to stdout
  /// (repeats, bytes; not a frame, so not in frames, fps or last_frame_at).
  void count_repeat_written(std::size_t bytes);
  /// A frame was replaced before it could be written (slow reader).
  void count_dropped();
  /// A payload was skipped because it was not a whole JPEG.
  void count_skipped();
  /// A new session is dialled after a lost one.
  void count_reconnect();
  /// Names the --snapshot file (absolute path) that this stream keeps.
  void set_snapshot_path(std::string path);
  /// A snapshot was just renamed into place (snapshot_at = now).
  void count_snapshot();
  /// Records what the printer's MQTT reports say (--mqtt), whether the MQTT
  /// session is connected, and its last failure (empty: none). Calls
  /// on_change if any of them changed.
  void set_printer(PrinterState printer, bool mqtt_connected, std::string mqtt_error);

  /// The current state.
  StreamState state() const;
  /// A consistent copy of everything, with updated_at = now and fps computed
  /// over the last k_fps_window.
  StatusReport report() const;

 private:
  mutable std::mutex mutex_;
  StatusReport status_;
  std::deque<std::chrono::steady_clock::time_point> recent_frames_;  // within k_fps_window
  std::optional<std::chrono::steady_clock::time_point> first_written_;  // for bitrate_kbps
  double encode_ms_total_ = 0;
  std::function<void()> on_change_;
};

}  // namespace bambu
