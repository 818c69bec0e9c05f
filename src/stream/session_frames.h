// SessionFrames: the frame bookkeeping of one camera session, the same for
// both sources: when its first and last frame came, and the status change
// and log lines of the first.
#pragma once

#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/log.h"
#include "pipeline/stream_status.h"
#include "stream/session.h"

namespace bambu {

/// Counts the frames of one session. Used on the session thread only.
class SessionFrames {
 public:
  /// `endpoint` ("host:port") names the printer in log lines; `started` is
  /// when the session began dialling. `status` and `log` must outlive this.
  SessionFrames(StreamStatus& status, const Logger& log, std::string endpoint, Clock::time_point started);

  /// Records a frame delivered at `now`. The session's first sets the
  /// status to streaming, logs "stream regained from ENDPOINT" (info) if the
  /// stream was reconnecting, and "streaming from ENDPOINT (WHAT after N ms)"
  /// (debug, N from `started`); returns true for it, false after.
  bool delivered(Clock::time_point now, std::string_view what);

  /// True once a frame was delivered.
  bool any() const { return any_; }
  /// When the first frame was delivered; Clock's epoch before.
  Clock::time_point first() const { return first_; }
  /// When the newest frame was delivered; Clock's epoch before the first.
  Clock::time_point last() const { return last_; }

  /// How the session ended: `kind` and the one-line `message`, with
  /// got_frame and streamed_for (first to last frame) filled in.
  SessionOutcome end(SessionOutcome::Kind kind, std::string message) const;

 private:
  StreamStatus& status_;
  const Logger& log_;
  std::string endpoint_;
  Clock::time_point started_;
  bool any_ = false;
  Clock::time_point first_{};
  Clock::time_point last_{};
};

}  // namespace bambu
