// CapturedLog: a bambu::Logger whose lines a test reads back.
#pragma once

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <string>

#include "core/log.h"

namespace bambu::test {

/// A Logger (`log`) that writes into an anonymous in-memory file instead of
/// stderr; text() returns every line written so far. A file, not a pipe:
/// writes never block and nothing is lost however much is logged, and
/// text() may be called at any time, as often as needed. Thread-safe like
/// the Logger itself; text() sees every line whose write has returned.
class CapturedLog {
 public:
  /// `level` and `prefix` as for Logger. The test fails (REQUIRE) if the
  /// file cannot be made.
  explicit CapturedLog(LogLevel level, std::string prefix = {}) : fd_(open_file()), log(level, std::move(prefix), fd_) {}
  ~CapturedLog() { ::close(fd_); }
  CapturedLog(const CapturedLog&) = delete;
  CapturedLog& operator=(const CapturedLog&) = delete;

  /// Every line written so far, in order.
  std::string text() const {
    struct stat st {};
    REQUIRE(::fstat(fd_, &st) == 0);
    std::string text(static_cast<std::size_t>(st.st_size), '\0');
    std::size_t got = 0;
    while (got < text.size()) {
      const ssize_t n = ::pread(fd_, text.data() + got, text.size() - got, static_cast<off_t>(got));
      if (n <= 0) break;
      got += static_cast<std::size_t>(n);
    }
    text.resize(got);
    return text;
  }

 private:
  // O_APPEND: lines written from several threads never overwrite each other.
  static int open_file() {
    const int fd = ::memfd_create("bambu-test-log", MFD_CLOEXEC);
    REQUIRE(fd >= 0);
    REQUIRE(::fcntl(fd, F_SETFL, O_APPEND) == 0);
    return fd;
  }

  int fd_;

 public:
  /// The logger to hand to the code under test.
  Logger log;
};

}  // namespace bambu::test
