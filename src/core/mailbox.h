// Mailbox: the one waiting item between the threads that post and the one
// worker thread that handles it, for stages that keep only the newest
// (a JPEG for the encoder, a picture for the snapshot file): a newer item
// replaces the one still waiting, so a slow worker never builds a queue.
#pragma once

#include <condition_variable>
#include <mutex>
#include <optional>
#include <utility>

namespace bambu {

/// Thread-safe. T must be movable.
template <typename T>
class Mailbox {
 public:
  /// What put() did with its item.
  enum class Put {
    stored,    ///< it waits; none was waiting
    replaced,  ///< it waits in place of an older item, which is dropped
    refused,   ///< the mailbox is closed: the item is dropped
  };

  /// Leaves `item` waiting and wakes take(). If an older item still waits,
  /// `fold(item, older)` runs first, under the lock, so that the newer item
  /// can keep what the dropped one must not lose.
  template <typename Fold>
  Put put(T item, Fold fold) {
    Put result = Put::stored;
    {
      std::lock_guard lock(mutex_);
      if (closed_) return Put::refused;
      if (waiting_) {
        fold(item, *waiting_);
        result = Put::replaced;
      }
      waiting_ = std::move(item);
    }
    wake_.notify_one();
    return result;
  }
  /// put() with nothing to fold.
  Put put(T item) {
    return put(std::move(item), [](T&, T&) {});
  }

  /// Blocks until an item waits, and takes it; nullopt once closed.
  std::optional<T> take() {
    std::unique_lock lock(mutex_);
    wake_.wait(lock, [this] { return closed_ || waiting_.has_value(); });
    if (closed_) return std::nullopt;
    return std::exchange(waiting_, std::nullopt);
  }

  /// What take_until() found.
  enum class Taken {
    item,     ///< an item waited; it was moved out
    timeout,  ///< none came before the deadline
    closed,   ///< the mailbox is closed
  };

  /// Like take(), but waits only until `deadline` (any clock's time point).
  /// On Taken::item the item is moved into `item`; otherwise `item` is left
  /// alone. An item that waits is taken even when the deadline has passed.
  template <typename TimePoint>
  Taken take_until(TimePoint deadline, std::optional<T>& item) {
    std::unique_lock lock(mutex_);
    if (!wake_.wait_until(lock, deadline, [this] { return closed_ || waiting_.has_value(); })) return Taken::timeout;
    if (closed_) return Taken::closed;
    item = std::exchange(waiting_, std::nullopt);
    return Taken::item;
  }

  /// Closes the mailbox: take() returns nullopt from now on, put() refuses.
  /// Returns true if an item was still waiting (it is dropped). Idempotent.
  bool close() {
    bool dropped = false;
    {
      std::lock_guard lock(mutex_);
      closed_ = true;
      dropped = std::exchange(waiting_, std::nullopt).has_value();
    }
    wake_.notify_all();
    return dropped;
  }

  /// True once close() was called.
  bool closed() const {
    std::lock_guard lock(mutex_);
    return closed_;
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::optional<T> waiting_;  // guarded by mutex_
  bool closed_ = false;       // guarded by mutex_
};

}  // namespace bambu
