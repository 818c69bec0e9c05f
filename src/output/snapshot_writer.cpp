#include "output/snapshot_writer.h"

#include <fmt/format.h>

#include <system_error>

#include "core/atomic_file.h"
#include "core/errors.h"
#include "core/parent_folders.h"

namespace bambu {

SnapshotWriter::SnapshotWriter(std::string path, double interval_s, StreamStatus& status, const Logger& log,
                               Converter convert)
    : path_(std::move(path)),
      interval_(seconds_to_duration(interval_s)),
      status_(status),
      log_(log),
      convert_(std::move(convert)) {
  try {
    make_parent_folders(path_);
  } catch (const std::system_error& e) {
    throw FatalError(ExitCode::usage, fmt::format("--snapshot: {}", e.what()));
  }
  status_.set_snapshot_path(path_);
  thread_ = std::thread([this] { run(); });
}

SnapshotWriter::~SnapshotWriter() { finish(); }

bool SnapshotWriter::due(Clock::time_point now) const {
  std::lock_guard lock(mutex_);
  return due_locked(now);
}

bool SnapshotWriter::due_locked(Clock::time_point now) const {
  return !pending_.closed() && !busy_ && (!last_taken_ || now - *last_taken_ >= interval_) &&
         (!held_until_ || now >= *held_until_);
}

void SnapshotWriter::hold_until(Clock::time_point until) {
  std::lock_guard lock(mutex_);
  if (!held_until_ || until > *held_until_) held_until_ = until;
}

bool SnapshotWriter::offer(std::span<const std::uint8_t> picture) {
  const Clock::time_point now = Clock::now();
  {
    std::lock_guard lock(mutex_);
    if (!due_locked(now)) return false;
    busy_ = true;
    last_taken_ = now;
  }
  // Nothing else waits (busy_ was clear): the copy is stored, or dropped if
  // finish() came in between.
  pending_.put(std::vector<std::uint8_t>(picture.begin(), picture.end()));
  return true;
}

void SnapshotWriter::finish() {
  pending_.close();
  if (thread_.joinable()) thread_.join();
}

void SnapshotWriter::run() {
  while (std::optional<std::vector<std::uint8_t>> picture = pending_.take()) {
    try {
      std::optional<std::vector<std::uint8_t>> jpeg;
      if (convert_) {
        jpeg = convert_(*picture);
      } else {
        jpeg = std::move(picture);
      }
      if (jpeg) {
        write_file_atomically(path_, {reinterpret_cast<const char*>(jpeg->data()), jpeg->size()});
        status_.count_snapshot();
      }
    } catch (const std::exception& e) {
      if (failure_warning_.pass(Clock::now())) log_.warning("snapshot: {}", e.what());
    }
    std::lock_guard lock(mutex_);
    busy_ = false;
  }
}

}  // namespace bambu
