// FrameSink: where a camera client delivers whole frames.
#pragma once

#include <cstdint>
#include <vector>

namespace bambu {

/// Receives whole frames (one complete JPEG each) in stream order.
/// Implementations must not block the caller on slow output.
class FrameSink {
 public:
  virtual ~FrameSink() = default;
  /// Takes ownership of one whole frame.
  virtual void post(std::vector<std::uint8_t> frame) = 0;
};

}  // namespace bambu
