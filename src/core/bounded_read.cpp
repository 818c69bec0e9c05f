#include "core/bounded_read.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>

namespace bambu {

using std::chrono::system_clock;

BoundedFile read_bounded_file(const std::string& path, std::size_t limit, std::string_view what) {
  BoundedFile out;
  // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) {
    out.missing = errno == ENOENT;
    out.failure = fmt::format("cannot read {} {}: {}", what, path, std::strerror(errno));
    return out;
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    out.failure = fmt::format("cannot read {} {}: {}", what, path, std::strerror(errno));
  } else if (!S_ISREG(st.st_mode)) {
    out.failure = fmt::format("{} {} is not a regular file", what, path);
  } else {
    out.modified = system_clock::time_point(std::chrono::duration_cast<system_clock::duration>(
        std::chrono::seconds(st.st_mtim.tv_sec) + std::chrono::nanoseconds(st.st_mtim.tv_nsec)));
    // One byte more than allowed tells "too large" from "exactly the limit",
    // whatever st_size says (the file may be replaced while we read).
    out.bytes.resize(limit + 1);
    std::size_t got = 0;
    while (got < out.bytes.size()) {
      ssize_t n = ::read(fd, out.bytes.data() + got, out.bytes.size() - got);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        out.failure = fmt::format("cannot read {} {}: {}", what, path, std::strerror(errno));
        break;
      }
      if (n == 0) break;
      got += static_cast<std::size_t>(n);
    }
    out.bytes.resize(got);
    if (out.failure.empty() && got > limit) {
      out.failure = fmt::format("{} {} is larger than {} bytes", what, path, limit);
    }
  }
  ::close(fd);
  return out;
}

}  // namespace bambu
