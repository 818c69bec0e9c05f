#include "stream/session_frames.h"

namespace bambu {

SessionFrames::SessionFrames(StreamStatus& status, const Logger& log, std::string endpoint,
                             Clock::time_point started)
    : status_(status), log_(log), endpoint_(std::move(endpoint)), started_(started) {}

bool SessionFrames::delivered(Clock::time_point now, std::string_view what) {
  last_ = now;
  if (any_) return false;
  any_ = true;
  first_ = now;
  if (status_.state() == StreamState::reconnecting) log_.info("stream regained from {}", endpoint_);
  status_.set_state(StreamState::streaming);
  log_.debug("streaming from {} ({} after {:.0f} ms)", endpoint_, what, seconds_between(started_, now) * 1000);
  return true;
}

SessionOutcome SessionFrames::end(SessionOutcome::Kind kind, std::string message) const {
  SessionOutcome out = session_failed(kind, std::move(message));
  out.got_frame = any_;
  out.streamed_for = last_ - first_;
  return out;
}

}  // namespace bambu
