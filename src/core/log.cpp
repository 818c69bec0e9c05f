#include "core/log.h"

#include <unistd.h>

#include <cerrno>

namespace bambu {

namespace {
std::string_view level_word(LogLevel level) {
  switch (level) {
    case LogLevel::error: return "error: ";
    case LogLevel::warning: return "warning: ";
    case LogLevel::info: return "";
    case LogLevel::debug: return "debug: ";
  }
  return "";
}
}  // namespace

void redact(std::string& text, std::string_view secret) {
  constexpr std::string_view k_mask = "********";
  if (secret.empty()) return;
  for (auto pos = text.find(secret); pos != std::string::npos; pos = text.find(secret, pos + k_mask.size())) {
    text.replace(pos, secret.size(), k_mask);
  }
}

int write_all_fd(int fd, const void* data, std::size_t size) noexcept {
  auto p = static_cast<const char*>(data);
  while (size > 0) {
    ssize_t n = ::write(fd, p, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    p += n;
    size -= static_cast<std::size_t>(n);
  }
  return 0;
}

Logger::Logger(LogLevel level, std::string prefix, int fd)
    : level_(level), prefix_(std::move(prefix)), fd_(fd) {}

void Logger::add_secret(std::string secret) {
  if (secret.size() < 4) return;
  std::lock_guard lock(mutex_);
  secrets_.push_back(std::move(secret));
}

void Logger::write(LogLevel level, std::string_view message) const {
  if (enabled(level)) emit(level_word(level), message);
}

void Logger::always(std::string_view message) const { emit("", message); }

void Logger::emit(std::string_view word, std::string_view message) const {
  try {
    std::string line = prefix_;
    line += word;
    line += message;
    {
      std::lock_guard lock(mutex_);
      for (const auto& secret : secrets_) redact(line, secret);
    }
    // One line, one write: embedded newlines would split it in go2rtc's log.
    for (auto& c : line) {
      if (c == '\n' || c == '\r') c = ' ';
    }
    line += '\n';
    write_all_fd(fd_, line.data(), line.size());
  } catch (...) {
    // Logging must never take the stream down (e.g. std::bad_alloc).
  }
}

}  // namespace bambu
