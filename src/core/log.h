// Logger: one line per write(2) on stderr, with the access code redacted.
#pragma once

#include <fmt/core.h>

#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace bambu {

/// How much goes to stderr: -q gives error, the default info, -v debug.
enum class LogLevel { error = 0, warning = 1, info = 2, debug = 3 };

/// Writes log lines to a file descriptor (stderr by default).
///
/// Each message becomes exactly one write(2) of one line ending in '\n', so
/// that go2rtc (which logs one line per write, and attaches the first 512
/// bytes of stderr to a failed source) sees whole lines. Lines are
/// "<prefix>level: message"; info lines carry no level word. Any registered
/// secret (the access code) is replaced by "********" before writing.
/// Thread-safe; never throws (a failed write of a log line is ignored).
class Logger {
 public:
  explicit Logger(LogLevel level, std::string prefix = {}, int fd = 2);

  /// Registers a string that must never be written (e.g. the access code).
  /// Strings shorter than 4 bytes are ignored: redacting them would mangle
  /// ordinary words, and such codes are not valid anyway.
  void add_secret(std::string secret);
  /// True if lines at `level` are written.
  bool enabled(LogLevel level) const { return level <= level_; }

  /// Writes one line at `level` if that level is enabled.
  void write(LogLevel level, std::string_view message) const;
  /// Writes one line whatever the level, without a level word: output that
  /// scripts read (the simulator's "listening on HOST:PORT").
  void always(std::string_view message) const;

  /// Formats (fmt syntax, checked at compile time) and writes one line at
  /// that level: error(), warning(), info(), debug().
  template <typename... Args>
  void error(fmt::format_string<Args...> f, Args&&... args) const {
    log(LogLevel::error, f, std::forward<Args>(args)...);
  }
  template <typename... Args>
  void warning(fmt::format_string<Args...> f, Args&&... args) const {
    log(LogLevel::warning, f, std::forward<Args>(args)...);
  }
  template <typename... Args>
  void info(fmt::format_string<Args...> f, Args&&... args) const {
    log(LogLevel::info, f, std::forward<Args>(args)...);
  }
  template <typename... Args>
  void debug(fmt::format_string<Args...> f, Args&&... args) const {
    log(LogLevel::debug, f, std::forward<Args>(args)...);
  }

 private:
  template <typename... Args>
  void log(LogLevel level, fmt::format_string<Args...> f, Args&&... args) const {
    if (enabled(level)) write(level, fmt::format(f, std::forward<Args>(args)...));
  }

  void emit(std::string_view level_word, std::string_view message) const;

  LogLevel level_;
  std::string prefix_;
  int fd_;
  mutable std::mutex mutex_;  // guards secrets_
  std::vector<std::string> secrets_;
};

/// Replaces every occurrence of `secret` in `text` with "********" (nothing
/// if `secret` is empty). The search resumes after each mask, so a secret
/// that occurs inside the mask (such as "****") cannot loop forever.
void redact(std::string& text, std::string_view secret);

/// Writes all of `data` to `fd`, retrying on EINTR and short writes.
/// Returns 0 on success or the errno of the failed write (e.g. EPIPE).
int write_all_fd(int fd, const void* data, std::size_t size) noexcept;

}  // namespace bambu
