// FrameWriter: puts whole frames on stdout from its own thread, so that a
// slow reader never stalls the printer session.
#pragma once

#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "core/stop_flag.h"
#include "heartbeat/stream_status.h"
#include "output/frame_sink.h"

namespace bambu {

/// Writes frames to a file descriptor (stdout) from a background thread.
///
/// Each frame goes out in one write(2) call (a retry loop only for short
/// writes), as soon as it is posted, with nothing between frames
/// (../shared/docs/go2rtc-contract.md: go2rtc emits a JPEG when a read ends
/// in FF D9). At most one frame waits while a write is in progress; a newer
/// frame replaces it and the older one is counted as dropped. Frames are
/// only ever written whole, so stdout never carries a partial frame.
///
/// On EPIPE (the reader went away) it requests stop with
/// StopReason::consumer_gone; after `max_frames` frames (if not 0) with
/// StopReason::frames_done. Other write errors request consumer_gone too:
/// with no way to deliver frames there is nothing left to do.
class FrameWriter final : public FrameSink {
 public:
  /// Starts the writer thread. `fd` stays owned by the caller and must stay
  /// open while the writer runs. Throws std::system_error if the thread
  /// cannot start.
  FrameWriter(int fd, std::uint64_t max_frames, StreamStatus& status, StopFlag& stop);
  /// Calls finish() with a 300 ms grace period.
  ~FrameWriter() override;
  FrameWriter(const FrameWriter&) = delete;
  FrameWriter& operator=(const FrameWriter&) = delete;

  /// Hands over one whole frame. Never blocks on the fd.
  void post(std::vector<std::uint8_t> frame) override;

  /// Stops taking frames, lets the writer finish the frame it is writing and
  /// the pending one for at most `grace`, then lets the thread go. Returns
  /// true if everything posted was written (or dropped) in time. If a write
  /// is still blocked (a reader that stopped reading), the thread is left
  /// to end with the process: the frame is never cut short.
  bool finish(std::chrono::milliseconds grace);

 private:
  struct Shared;
  std::shared_ptr<Shared> shared_;  // shared with the thread, so it may outlive us
  std::thread thread_;
};

}  // namespace bambu
