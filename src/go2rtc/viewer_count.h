// How many people watch a go2rtc stream, from go2rtc's own API, with
// go2rtc's preload left out: under `preload:` (docker/go2rtc.yaml, the Home
// Assistant add-on) the stream always runs, so only go2rtc knows who
// watches.
//
// go2rtc 1.9.14's answer to GET /api/streams?src=NAME (checked against the
// real binary; the answers are the fixtures of tests/viewer_count_test.cpp):
//   200, application/json: {"producers": [...], "consumers": C}, where C is
//     null before anyone ever consumed the stream, [] after the last left,
//     else one object per consumer, each with a "format_name": "preload"
//     for the preload (internal/streams/preload.go: probe.Create("preload",
//     query), pkg/probe/consumer.go: FormatName = that name;
//     https://github.com/AlexxIT/go2rtc/blob/v1.9.14/internal/streams/preload.go),
//     "mjpeg" for /api/stream.mjpeg, "rtsp" for an RTSP client, and so on.
//   404 with a body of "\n" for a stream name go2rtc does not have.
// `src=` empty answers the map of every stream instead, which is not one
// stream's answer.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "core/log.h"
#include "core/stop_flag.h"
#include "core/throttle.h"
#include "config/go2rtc_stream_url.h"

namespace bambu {

/// Largest answer read or parsed, in bytes: one stream's answer is about
/// 1 KiB per consumer.
inline constexpr std::size_t k_max_go2rtc_answer = 1024 * 1024;
/// Deepest nesting of arrays and objects parsed (go2rtc's answer has 4).
inline constexpr int k_max_go2rtc_answer_depth = 16;

/// The number of the stream's consumers that are not go2rtc's preload
/// ("format_name" other than "preload"; a consumer without one counts), 0
/// for "consumers": null or []. nullopt when `answer_json` is not one
/// stream's answer: over k_max_go2rtc_answer bytes, nested deeper than
/// k_max_go2rtc_answer_depth, not JSON, not an object with "producers"
/// (array or null) and "consumers" (array of objects, or null). Pure;
/// never throws.
std::optional<int> count_viewers(std::string_view answer_json);

/// Asks go2rtc for one stream's answer every k_poll_interval on its own
/// thread and reports the viewer count (count_viewers) when it changes.
/// Each request is one HTTP/1.1 GET on a new connection ("Connection:
/// close"), bounded as a whole: the connect, the request and the whole
/// answer within k_request_timeout, at most k_max_go2rtc_answer bytes of
/// body. go2rtc "cannot be asked" (nullopt) when it refuses or does not
/// answer in time, answers anything but 200, or answers something that is
/// not one stream's answer. Failures never throw out of the thread: each
/// is a warning line, throttled to one per k_warning_interval (with the
/// count held back), and an info line says when go2rtc answers again.
class ViewerWatch {
 public:
  /// From the start of one request to the start of the next.
  static constexpr std::chrono::milliseconds k_poll_interval{1000};
  /// The most one request may take, connect and whole answer included.
  static constexpr std::chrono::milliseconds k_request_timeout{1000};
  /// The least time between two warning lines.
  static constexpr std::chrono::seconds k_warning_interval{60};

  /// Called on the watch's thread with the new count: after the first
  /// request, then each time the count (or nullopt: go2rtc could not be
  /// asked) differs from the last call's. Must not block, must not throw.
  using OnChange = std::function<void(std::optional<int> viewers)>;

  /// Starts the thread, whose first request goes out at once; returns
  /// without waiting. `log` and `stop` must outlive the watch; raising
  /// `stop` ends the thread within 100 ms (plus a name lookup under way
  /// for a host that is a name: getaddrinfo, bounded by the resolver's
  /// timeouts; an IP literal needs none). on_change is never called after
  /// that. Throws std::system_error if the thread cannot start.
  ViewerWatch(Go2rtcStreamUrl url, const Logger& log, const StopFlag& stop, OnChange on_change);
  /// Calls close().
  ~ViewerWatch();
  ViewerWatch(const ViewerWatch&) = delete;
  ViewerWatch& operator=(const ViewerWatch&) = delete;

  /// Ends the thread (within 100 ms, as `stop` does) and joins it; a request
  /// under way is dropped. Idempotent.
  void close();

  /// The count of the last request (nullopt: go2rtc could not be asked, or
  /// no request has ended yet). Any thread.
  std::optional<int> viewers() const;

 private:
  struct Poller;
  void run() noexcept;
  void report(std::optional<int> viewers, const std::string& failure);

  Go2rtcStreamUrl url_;
  const Logger& log_;
  const StopFlag& stop_;
  OnChange on_change_;
  StopFlag closing_;  // raised by close()
  mutable std::mutex mutex_;  // guards viewers_
  std::optional<int> viewers_;
  // Only the thread touches these.
  bool reported_ = false;  // on_change called once
  std::optional<int> last_reported_;
  bool warned_ = false;  // a warning since go2rtc last answered
  Throttle throttle_{k_warning_interval};
  std::thread thread_;  // last: starts after everything above exists
};

}  // namespace bambu
