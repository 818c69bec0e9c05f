// SnapshotWriter: the newest camera picture as a JPEG file (--snapshot),
// for Home Assistant's still image and `status --listen`'s /snapshot.jpg.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "core/log.h"
#include "core/mailbox.h"
#include "core/throttle.h"
#include "pipeline/stream_status.h"
#include "pipeline/frame_sink.h"

namespace bambu {

/// Keeps the file at `path` holding the newest picture offered to it, at
/// most once per `interval`. The file is replaced atomically (written to
/// `path`.tmp.<pid> in the same directory, then renamed over it), so a
/// reader sees the old or the new JPEG, never part of one.
///
/// offer() is cheap and never blocks on I/O: it copies the bytes into the
/// one waiting slot (only when a snapshot is due and none is waiting or being
/// made) and wakes the writer's own thread, which converts them (if a
/// converter was given: an H.264 keyframe to a JPEG) and writes the file.
/// So neither a slow disk nor decoding ever delays stdout.
/// Write or conversion failures are logged (at most once a minute) and
/// never stop the stream. Thread-safe.
class SnapshotWriter {
 public:
  /// Turns what was offered into JPEG bytes; nullopt: nothing to write
  /// (e.g. the keyframe did not decode). Runs on the writer's thread; may
  /// throw std::exception (logged as a failure).
  using Converter = std::function<std::optional<std::vector<std::uint8_t>>(std::span<const std::uint8_t>)>;

  /// `path` should be absolute (the heartbeat names it for other
  /// processes). `interval_s` > 0: seconds between snapshots, at least.
  /// Without `convert`, the offered bytes are written as they are (a JPEG).
  /// Records the path in `status` (heartbeat field `snapshot`) and each
  /// written snapshot (`snapshot_at`). Creates the file's missing folders
  /// (make_parent_folders()) and starts the thread; writes nothing yet.
  /// Throws FatalError(usage) if a folder cannot be created.
  SnapshotWriter(std::string path, double interval_s, StreamStatus& status, const Logger& log,
                 Converter convert = nullptr);
  /// Calls finish().
  ~SnapshotWriter();
  SnapshotWriter(const SnapshotWriter&) = delete;
  SnapshotWriter& operator=(const SnapshotWriter&) = delete;

  /// True if offer() would take a picture now: the interval has passed since
  /// the last one taken, none is waiting or being written, and no hold
  /// (hold_until()) lasts.
  bool due(Clock::time_point now = Clock::now()) const;
  /// Takes no picture before `until` (e.g. while the camera's exposure
  /// settles after the chamber light came on). A later hold extends an
  /// earlier one; an earlier one changes nothing.
  void hold_until(Clock::time_point until);
  /// Takes a copy of `picture` if due(); returns whether it did.
  bool offer(std::span<const std::uint8_t> picture);
  /// Stops the thread after the snapshot in progress (the one waiting is
  /// dropped). Idempotent. Leaves the last file in place.
  void finish();

 private:
  void run();
  bool due_locked(Clock::time_point now) const;  // under mutex_

  const std::string path_;
  const Clock::duration interval_;
  StreamStatus& status_;
  const Logger& log_;
  const Converter convert_;
  Mailbox<std::vector<std::uint8_t>> pending_;  // the picture waiting for the writer's thread
  mutable std::mutex mutex_;
  bool busy_ = false;  // a picture waits in pending_ or is being written; guarded by mutex_
  std::optional<Clock::time_point> last_taken_;  // guarded by mutex_
  std::optional<Clock::time_point> held_until_;  // guarded by mutex_
  Throttle failure_warning_{std::chrono::minutes(1)};  // failed writes; the writer thread's only
  std::thread thread_;  // last: starts after the members it uses exist
};

/// The FrameSink stage of the port-6000 JPEGs: offers each one, byte for
/// byte, to a SnapshotWriter (which copies it only when a snapshot is due),
/// then passes it on to `next` unchanged. Everything else is `next`'s.
class SnapshotTap : public FrameSink {
 public:
  /// Both must outlive the tap.
  SnapshotTap(SnapshotWriter& snapshots, FrameSink& next) : snapshots_(snapshots), next_(next) {}
  void post(std::vector<std::uint8_t> unit, bool keyframe) override {
    if (snapshots_.due()) snapshots_.offer(unit);
    next_.post(std::move(unit), keyframe);
  }
  void begin_session() override { next_.begin_session(); }
  void end_session() override { next_.end_session(); }
  std::optional<Clock::time_point> last_good_unit() const override { return next_.last_good_unit(); }

 private:
  SnapshotWriter& snapshots_;
  FrameSink& next_;
};

}  // namespace bambu
