#include "output/frame_writer.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <mutex>
#include <deque>

#include <fmt/format.h>

#include "core/log.h"

namespace bambu {

namespace {

// The pipe size asked for: 1 MiB, Linux's default /proc/sys/fs/pipe-max-size,
// which any user may set. Room for two frames of up to ~500 KB, so that the
// next frame can be written while the reader finishes the last one.
constexpr int k_pipe_size = 1 << 20;
// How often a writer waiting for room in the pipe re-checks it (POLLOUT
// fires at 4 KiB of room, not at a frame's worth) and checks for shutdown.
constexpr int k_room_poll_ms = 10;

}  // namespace

struct FrameWriter::Shared {
  Shared(int fd_, std::uint64_t max_frames_, StreamStatus& status_, StopFlag& stop_, Backlog backlog_,
         int timing_fd_)
      : fd(fd_), max_frames(max_frames_), status(status_), stop(stop_), backlog(backlog_), timing_fd(timing_fd_) {
    struct stat st {};
    if (::fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode)) {
      ::fcntl(fd, F_SETPIPE_SZ, k_pipe_size);  // best effort: a smaller pipe only means more waiting
      pipe_capacity = ::fcntl(fd, F_GETPIPE_SZ);
    }
  }

  const int fd;
  const std::uint64_t max_frames;
  StreamStatus& status;
  StopFlag& stop;
  const Backlog backlog;
  const int timing_fd;     // --timing: a line per unit written; -1: none
  int pipe_capacity = -1;  // bytes; -1 if stdout is not a pipe
  const std::size_t page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  std::size_t last_size = 0;  // bytes of the last frame written (only the writer thread)

  static std::size_t pages_for(std::size_t bytes, std::size_t page_size) {
    return (bytes + page_size - 1) / page_size;
  }

  // True if `size` bytes can be written now without blocking. A Linux pipe
  // is a ring of pages, not of bytes: a write merges only its last partial
  // page into the previous one and otherwise starts on a fresh page, so
  // FIONREAD's byte count cannot tell how many pages are free. We therefore
  // write only while at most the tail of the previous frame is unread: those
  // `queued` bytes then occupy at most pages_for(queued) + 1 pages (a
  // half-read head page), and the new frame at most pages_for(size) + 1.
  // A reader that lags further gets no more until it catches up, so it
  // is never more than about two frames behind. (Backlog::until_keyframe
  // keeps the pipe as full as it goes instead: its units need each other.)
  bool room_for(std::size_t size, std::size_t queued) const {
    if (backlog == Backlog::newest_frame && queued > last_size) return false;
    std::size_t used = queued == 0 ? 0 : pages_for(queued, page) + 1;
    std::size_t total = static_cast<std::size_t>(pipe_capacity) / page;
    return used + pages_for(size, page) + 1 <= total;
  }

  std::mutex mutex;
  std::condition_variable changed;
  struct Unit {
    std::vector<std::uint8_t> bytes;
    bool keyframe = true;
    bool repeat = false;  // FrameSink::post_repeat(): not a camera frame
  };
  std::deque<Unit> pending;        // newest_frame: at most one
  std::size_t pending_bytes = 0;
  bool skip_to_keyframe = false;   // until_keyframe: the backlog overflowed
  bool writing = false;
  std::atomic<bool> closing{false};  // finish() called: take no more frames, start no more writes
  bool dead = false;                 // the fd failed or max_frames reached: write nothing more
  int error = 0;                     // errno of a failed write other than EPIPE
  std::uint64_t written = 0;

  // Takes the oldest pending unit; the lock must be held.
  Unit take_pending() {
    Unit unit = std::move(pending.front());
    pending.pop_front();
    pending_bytes -= unit.bytes.size();
    return unit;
  }

  // Queues `unit` by the Backlog policy; the lock must be held. Returns
  // the number of units dropped to make way (or `unit` itself).
  std::uint64_t enqueue(std::vector<std::uint8_t> unit, bool keyframe, bool repeat) {
    std::uint64_t dropped = 0;
    if (backlog == Backlog::newest_frame) {
      dropped = pending.size();
      pending.clear();
      pending_bytes = 0;
    } else {
      if (pending_bytes + unit.size() > FrameWriter::k_max_backlog_bytes) {
        dropped = pending.size();
        pending.clear();
        pending_bytes = 0;
        skip_to_keyframe = true;
      }
      if (skip_to_keyframe && !keyframe) return dropped + 1;
      skip_to_keyframe = false;
    }
    pending_bytes += unit.size();
    pending.push_back({std::move(unit), keyframe, repeat});
    return dropped;
  }

  // Waits, without holding the lock, until the pipe has room for all of
  // `frame`, so that the write cannot block halfway and leave a partial
  // frame behind if we must exit. Meanwhile (Backlog::newest_frame) a newer
  // pending frame replaces `frame` (nothing of it was written yet). Returns
  // false if shutdown started first: the frame was not begun and is simply
  // not written.
  bool wait_for_room(Unit& unit) {
    std::vector<std::uint8_t>& frame = unit.bytes;
    for (;;) {
      if (backlog == Backlog::newest_frame) {
        std::lock_guard lock(mutex);
        if (!pending.empty()) {
          unit = take_pending();
          status.count_dropped();
        }
      }
      // A frame that could not fit even an empty pipe is written blocking,
      // as on a stdout that is not a pipe.
      if (pipe_capacity < 0 || !room_for(frame.size(), 0)) return true;
      int queued = 0;
      if (::ioctl(fd, FIONREAD, &queued) != 0) return true;
      if (room_for(frame.size(), static_cast<std::size_t>(queued))) return true;
      if (closing) return false;  // only now: with room, a frame at shutdown still goes out
      pollfd p{fd, POLLOUT, 0};
      ::poll(&p, 1, k_room_poll_ms);
      if (p.revents & (POLLERR | POLLHUP)) return true;  // the write reports it
    }
  }

  // write(2) of all of `frame`: one call unless the fd is non-blocking (set
  // by whoever gave us stdout), where EAGAIN waits for POLLOUT. Returns 0 or errno.
  int write_frame(const std::vector<std::uint8_t>& frame) {
    const std::uint8_t* p = frame.data();
    std::size_t left = frame.size();
    while (left > 0) {
      ssize_t n = ::write(fd, p, left);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN) {
          pollfd w{fd, POLLOUT, 0};
          ::poll(&w, 1, k_room_poll_ms);
          continue;
        }
        return errno;
      }
      p += n;
      left -= static_cast<std::size_t>(n);
    }
    return 0;
  }

  // Books a finished write of `size` bytes that returned `err` (0 or an
  // errno); the lock must be held.
  void written_one(int err, std::size_t size, bool keyframe, bool repeat) {
    if (err != 0) {
      dead = true;
      error = err == EPIPE ? 0 : err;
      stop.request_stop(err == EPIPE ? StopReason::consumer_gone : StopReason::output_failed);
      return;
    }
    if (timing_fd >= 0) {
      // For tests and bench/: when the unit was in the pipe, on
      // CLOCK_MONOTONIC (steady_clock on Linux), as `simulate --timing`.
      const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                          std::chrono::steady_clock::now().time_since_epoch()).count();
      const std::string line = fmt::format("{} {} {} {}\n", ns, size, keyframe ? 1 : 0, repeat ? 1 : 0);
      write_all_fd(timing_fd, line.data(), line.size());
    }
    last_size = size;
    if (repeat) {
      status.count_repeat_written(size);
      return;
    }
    status.count_written(size);
    if (max_frames != 0 && ++written >= max_frames) {
      dead = true;
      stop.request_stop(StopReason::frames_done);
    }
  }

  // True if the poster may write `size` bytes itself, now: nothing is queued
  // or being written (so order is kept), and the pipe provably has room for
  // all of it, so the write cannot block (the room rule of wait_for_room).
  // The lock must be held. Only for a pipe: elsewhere nothing proves that.
  bool may_write_inline(std::size_t size) const {
    if (pipe_capacity < 0 || writing || !pending.empty() || closing || dead) return false;
    int queued = 0;
    if (::ioctl(fd, FIONREAD, &queued) != 0 || queued < 0) return false;
    return room_for(size, static_cast<std::size_t>(queued));
  }

  void run() {
    std::unique_lock lock(mutex);
    for (;;) {
      changed.wait(lock, [this] { return !pending.empty() || closing || dead; });
      if (dead || pending.empty()) break;  // closing with nothing left
      Unit frame = take_pending();
      writing = true;
      lock.unlock();
      bool begun = wait_for_room(frame);
      int err = begun ? write_frame(frame.bytes) : 0;
      lock.lock();
      writing = false;
      // Once finish() has given up on us (dead), `status` and `stop` may be
      // gone: touch nothing but the shared state.
      if (dead) break;
      if (!begun) {
        status.count_dropped();
        changed.notify_all();
        continue;
      }
      written_one(err, frame.bytes.size(), frame.keyframe, frame.repeat);
      changed.notify_all();
    }
    writing = false;
    changed.notify_all();
  }
};

FrameWriter::FrameWriter(int fd, std::uint64_t max_frames, StreamStatus& status, StopFlag& stop,
                         Backlog backlog, int timing_fd)
    : shared_(std::make_shared<Shared>(fd, max_frames, status, stop, backlog, timing_fd)) {
  thread_ = std::thread([shared = shared_] { shared->run(); });
}

FrameWriter::~FrameWriter() { finish(std::chrono::milliseconds(300)); }

void FrameWriter::post(std::vector<std::uint8_t> unit, bool keyframe) { post_unit(std::move(unit), keyframe, false); }

void FrameWriter::post_repeat(std::vector<std::uint8_t> unit, bool keyframe) {
  post_unit(std::move(unit), keyframe, true);
}

void FrameWriter::post_unit(std::vector<std::uint8_t> unit, bool keyframe, bool repeat) {
  std::uint64_t dropped = 0;
  {
    std::unique_lock lock(shared_->mutex);
    if (shared_->closing || shared_->dead) return;
    if (!(shared_->skip_to_keyframe && !keyframe) && shared_->may_write_inline(unit.size())) {
      // The usual case, a reader that keeps up: write here instead of
      // waking the writer thread, which saves two context switches per
      // frame (about a third of the CPU per frame; measured by bench/run).
      shared_->skip_to_keyframe = false;  // `unit` is a keyframe if it was set
      shared_->writing = true;
      lock.unlock();
      int err = shared_->write_frame(unit);
      lock.lock();
      shared_->writing = false;
      if (!shared_->dead) shared_->written_one(err, unit.size(), keyframe, repeat);
      // Wake only who needs it: finish() (closing) or the thread (dead).
      // Waking the idle thread for nothing would cost what we just saved.
      if (shared_->closing || shared_->dead) shared_->changed.notify_all();
      return;
    }
    dropped = shared_->enqueue(std::move(unit), keyframe, repeat);
  }
  for (; dropped > 0; --dropped) shared_->status.count_dropped();
  shared_->changed.notify_all();
}

int FrameWriter::error() const {
  std::lock_guard lock(shared_->mutex);
  return shared_->error;
}

bool FrameWriter::finish(std::chrono::milliseconds grace) {
  if (!thread_.joinable()) return true;
  bool drained = false;
  {
    std::unique_lock lock(shared_->mutex);
    shared_->closing = true;
    shared_->changed.notify_all();
    drained = shared_->changed.wait_for(lock, grace, [this] {
      return shared_->dead || (shared_->pending.empty() && !shared_->writing);
    });
    if (!drained) {
      // Give up on the waiting frames; one being written is left to finish.
      for (; !shared_->pending.empty(); shared_->pending.pop_front()) shared_->status.count_dropped();
      shared_->pending_bytes = 0;
      shared_->dead = true;
      shared_->changed.notify_all();
    }
  }
  if (drained) {
    thread_.join();
  } else {
    thread_.detach();  // inside write(2); it owns `shared_` and ends with the process
  }
  return drained;
}

}  // namespace bambu
