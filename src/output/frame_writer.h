// FrameWriter: puts whole frames on stdout from its own thread, so that a
// slow reader never stalls the printer session.
#pragma once

#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "core/stop_flag.h"
#include "pipeline/stream_status.h"
#include "pipeline/frame_sink.h"

namespace bambu {

/// How the writer treats a reader that falls behind.
enum class Backlog {
  /// MJPEG: at most one frame waits while another is in flight; a newer
  /// frame replaces it and the older one is counted as dropped. Every frame
  /// stands alone, so the reader always gets the newest picture.
  newest_frame,
  /// H.264 (MPEG-TS or Annex-B): units depend on the ones before them, so
  /// they queue in order, up to k_max_backlog_bytes. Past that the queue is
  /// dropped and so is everything up to the next keyframe, where a decoder
  /// can pick up again cleanly.
  until_keyframe,
};

/// Writes frames to a file descriptor (stdout) from a background thread.
///
/// Each frame (or unit) goes out in one write(2) call, as soon as it is
/// posted, with nothing between frames (../shared/docs/go2rtc-contract.md:
/// go2rtc emits a JPEG when a read ends in FF D9). What waits while the
/// reader is slow depends on the Backlog policy.
///
/// No partial frame, even at exit: when stdout is a pipe (as under go2rtc),
/// the pipe is enlarged to 1 MiB and a write starts only once the pipe
/// provably has room for the whole frame, so it never blocks halfway. A frame
/// still waiting for room at shutdown is simply not written. The room rule
/// also keeps a slow reader at most about two frames behind, instead of a
/// pipe full of stale video (Backlog::newest_frame; with until_keyframe the
/// pipe may fill up). (A frame larger than the pipe, or a stdout that is not
/// a pipe, is written blocking.)
///
/// On EPIPE (the reader went away) it requests stop with
/// StopReason::consumer_gone; on any other write error with
/// StopReason::output_failed (see error()); after `max_frames` frames (if
/// not 0) with StopReason::frames_done.
class FrameWriter final : public FrameSink {
 public:
  /// Bytes of H.264 units that may wait for a slow reader
  /// (Backlog::until_keyframe): 4 MiB, about 8 s of 1080p from a printer.
  static constexpr std::size_t k_max_backlog_bytes = 4u << 20;

  /// Starts the writer thread. `fd` stays owned by the caller and must stay
  /// open while the writer runs. `timing_fd` (testing, --timing; -1: none,
  /// else owned by the caller like `fd`) gets one line per unit written,
  /// "MONOTONIC_NS BYTES KEYFRAME REPEAT" (CLOCK_MONOTONIC nanoseconds after
  /// the write, the unit's size, 1 or 0, and 1 for a post_repeat() unit). Throws std::system_error if the thread
  /// cannot start.
  FrameWriter(int fd, std::uint64_t max_frames, StreamStatus& status, StopFlag& stop,
              Backlog backlog = Backlog::newest_frame, int timing_fd = -1);
  /// Calls finish() with a 300 ms grace period.
  ~FrameWriter() override;
  FrameWriter(const FrameWriter&) = delete;
  FrameWriter& operator=(const FrameWriter&) = delete;

  using FrameSink::post;
  /// Hands over one whole frame or unit. Never blocks on the fd: when
  /// stdout is a pipe, nothing is queued or being written, and the pipe
  /// provably has room for all of it, the unit is written here, in the
  /// caller's thread (the usual case; it saves waking the writer thread);
  /// otherwise it is queued for the writer thread by the Backlog policy.
  void post(std::vector<std::uint8_t> unit, bool keyframe) override;
  /// As post(), for a repeated picture: written the same way, counted by
  /// StreamStatus::count_repeat_written, not towards `max_frames`; its
  /// `timing_fd` line ends in 1.
  void post_repeat(std::vector<std::uint8_t> unit, bool keyframe) override;

  /// The errno of the write that failed with StopReason::output_failed, else 0.
  int error() const;

  /// Stops taking frames and starting writes; lets a write in progress
  /// finish for at most `grace`, then lets the thread go. Frames not yet
  /// begun are dropped. Returns true if the thread ended in time. If a
  /// write is still blocked (only possible for a frame larger than the pipe
  /// or a stdout that is not a pipe), the thread is left to end with the process.
  bool finish(std::chrono::milliseconds grace);

 private:
  // post() and post_repeat().
  void post_unit(std::vector<std::uint8_t> unit, bool keyframe, bool repeat);
  struct Shared;
  std::shared_ptr<Shared> shared_;  // shared with the thread, so it may outlive us
  std::thread thread_;
};

}  // namespace bambu
