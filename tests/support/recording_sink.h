// RecordingSink: the tests' FrameSink, which keeps whatever a stage posts to
// it, for the test thread to check afterwards.
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <vector>

#include "pipeline/frame_sink.h"

namespace bambu::test {

/// A FrameSink that keeps every unit posted to it, in order, with its
/// keyframe flag. It checks nothing itself: a stage may post from its own
/// thread, and assertions stay on the test thread, which reads copies.
/// Thread-safe.
class RecordingSink final : public FrameSink {
 public:
  /// One posted unit: a whole JPEG, or one H.264 access unit.
  struct Unit {
    std::vector<std::uint8_t> bytes;
    bool keyframe = false;
    bool operator==(const Unit&) const = default;
  };

  using FrameSink::post;
  void post(std::vector<std::uint8_t> unit, bool keyframe) override {
    std::lock_guard lock(mutex_);
    units_.push_back({std::move(unit), keyframe});
  }

  /// Every unit posted so far, in order.
  std::vector<Unit> units() const {
    std::lock_guard lock(mutex_);
    return units_;
  }
  /// The bytes of every unit posted so far, in order.
  std::vector<std::vector<std::uint8_t>> frames() const {
    std::lock_guard lock(mutex_);
    std::vector<std::vector<std::uint8_t>> frames;
    for (const Unit& unit : units_) frames.push_back(unit.bytes);
    return frames;
  }
  /// How many units were posted so far.
  std::size_t size() const {
    std::lock_guard lock(mutex_);
    return units_.size();
  }

 private:
  mutable std::mutex mutex_;
  std::vector<Unit> units_;
};

}  // namespace bambu::test
