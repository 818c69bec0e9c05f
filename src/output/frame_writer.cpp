#include "output/frame_writer.h"

#include <cerrno>
#include <condition_variable>
#include <mutex>
#include <optional>

#include "core/log.h"

namespace bambu {

struct FrameWriter::Shared {
  Shared(int fd_, std::uint64_t max_frames_, StreamStatus& status_, StopFlag& stop_)
      : fd(fd_), max_frames(max_frames_), status(status_), stop(stop_) {}

  const int fd;
  const std::uint64_t max_frames;
  StreamStatus& status;
  StopFlag& stop;

  std::mutex mutex;
  std::condition_variable changed;
  std::optional<std::vector<std::uint8_t>> pending;
  bool writing = false;
  bool closing = false;  // no more frames are taken
  bool dead = false;     // the fd failed or max_frames reached: write nothing more
  std::uint64_t written = 0;

  void run() {
    std::unique_lock lock(mutex);
    for (;;) {
      changed.wait(lock, [this] { return pending.has_value() || closing || dead; });
      if (dead || !pending) break;  // closing with nothing left
      std::vector<std::uint8_t> frame = std::move(*pending);
      pending.reset();
      writing = true;
      lock.unlock();
      int err = write_all_fd(fd, frame.data(), frame.size());
      lock.lock();
      writing = false;
      // Once finish() has given up on us (dead), `status` and `stop` may be
      // gone: touch nothing but the shared state.
      if (dead) break;
      if (err == 0) status.count_written(frame.size());
      if (err != 0) {
        dead = true;
        stop.request_stop(StopReason::consumer_gone);
      } else if (max_frames != 0 && ++written >= max_frames) {
        dead = true;
        stop.request_stop(StopReason::frames_done);
      }
      changed.notify_all();
    }
    writing = false;
    changed.notify_all();
  }
};

FrameWriter::FrameWriter(int fd, std::uint64_t max_frames, StreamStatus& status, StopFlag& stop)
    : shared_(std::make_shared<Shared>(fd, max_frames, status, stop)) {
  thread_ = std::thread([shared = shared_] { shared->run(); });
}

FrameWriter::~FrameWriter() { finish(std::chrono::milliseconds(300)); }

void FrameWriter::post(std::vector<std::uint8_t> frame) {
  bool dropped = false;
  {
    std::lock_guard lock(shared_->mutex);
    if (shared_->closing || shared_->dead) return;
    dropped = shared_->pending.has_value();
    shared_->pending = std::move(frame);
  }
  if (dropped) shared_->status.count_dropped();
  shared_->changed.notify_all();
}

bool FrameWriter::finish(std::chrono::milliseconds grace) {
  if (!thread_.joinable()) return true;
  bool drained = false;
  {
    std::unique_lock lock(shared_->mutex);
    shared_->closing = true;
    shared_->changed.notify_all();
    drained = shared_->changed.wait_for(lock, grace, [this] {
      return shared_->dead || (!shared_->pending && !shared_->writing);
    });
    if (!drained) {
      // Give up on the waiting frame; the one being written is left to finish.
      if (shared_->pending) {
        shared_->pending.reset();
        shared_->status.count_dropped();
      }
      shared_->dead = true;
      shared_->changed.notify_all();
    }
  }
  if (drained) {
    thread_.join();
  } else {
    thread_.detach();  // blocked in write(2); it owns `shared_` and ends with the process
  }
  return drained;
}

}  // namespace bambu
