// Reading a small file that another process writes (a heartbeat, a
// snapshot) without trusting it: bounded in size, never blocking.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

namespace bambu {

/// A small file read whole, as read_bounded_file() leaves it.
struct BoundedFile {
  std::string bytes;     ///< the content (at most the limit + 1 bytes were read)
  std::string failure;   ///< one line naming the path; empty if read whole
  bool missing = false;  ///< the file does not exist (failure is set too)
  std::chrono::system_clock::time_point modified;  ///< its mtime, when opened
};

/// Reads the regular file at `path`, at most `limit` bytes (a larger one
/// fails), without blocking: O_NONBLOCK, and a FIFO or device fails.
/// `what` names the file in failures ("heartbeat", "snapshot"). One open
/// descriptor, so a file renamed over `path` meanwhile is read whole, old or
/// new. Never throws except std::bad_alloc.
BoundedFile read_bounded_file(const std::string& path, std::size_t limit, std::string_view what);

}  // namespace bambu
