#include "output/snapshot_writer.h"

#include "core/atomic_file.h"

namespace bambu {

SnapshotWriter::SnapshotWriter(std::string path, double interval_s, StreamStatus& status, const Logger& log,
                               Converter convert)
    : path_(std::move(path)),
      interval_(seconds_to_duration(interval_s)),
      status_(status),
      log_(log),
      convert_(std::move(convert)) {
  status_.set_snapshot_path(path_);
  thread_ = std::thread([this] { run(); });
}

SnapshotWriter::~SnapshotWriter() { finish(); }

bool SnapshotWriter::due(Clock::time_point now) const {
  std::lock_guard lock(mutex_);
  return !done_ && !busy_ && (!last_taken_ || now - *last_taken_ >= interval_);
}

bool SnapshotWriter::offer(std::span<const std::uint8_t> picture) {
  const Clock::time_point now = Clock::now();
  {
    std::lock_guard lock(mutex_);
    if (done_ || busy_ || (last_taken_ && now - *last_taken_ < interval_)) return false;
    pending_.emplace(picture.begin(), picture.end());
    busy_ = true;
    last_taken_ = now;
  }
  wake_.notify_one();
  return true;
}

void SnapshotWriter::finish() {
  {
    std::lock_guard lock(mutex_);
    if (done_ && !thread_.joinable()) return;
    done_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void SnapshotWriter::run() {
  for (;;) {
    std::vector<std::uint8_t> picture;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return done_ || pending_.has_value(); });
      if (done_) return;
      picture = std::move(*pending_);
      pending_.reset();
    }
    try {
      std::optional<std::vector<std::uint8_t>> jpeg;
      if (convert_) {
        jpeg = convert_(picture);
      } else {
        jpeg = std::move(picture);
      }
      if (jpeg) {
        write_file_atomically(path_, {reinterpret_cast<const char*>(jpeg->data()), jpeg->size()});
        status_.count_snapshot();
      }
    } catch (const std::exception& e) {
      const auto now = Clock::now();
      if (last_failure_log_ == Clock::time_point{} || now - last_failure_log_ > std::chrono::minutes(1)) {
        last_failure_log_ = now;
        log_.warning("snapshot: {}", e.what());
      }
    }
    std::lock_guard lock(mutex_);
    busy_ = false;
  }
}

}  // namespace bambu
