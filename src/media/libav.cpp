#include "media/libav.h"

#include <fmt/format.h>

#include "core/log.h"

#include <atomic>
#include <cstdarg>
#include <stdexcept>
#include <string>

namespace bambu {

namespace {

std::atomic<const Logger*> g_libav_log{nullptr};

void libav_log_callback(void* avcl, int level, const char* format, va_list args) {
  const Logger* log = g_libav_log.load();
  if (log == nullptr || level > AV_LOG_WARNING || !log->enabled(LogLevel::debug)) return;
  thread_local std::string partial;
  thread_local int print_prefix = 1;
  char line[1024];
  va_list copy;
  va_copy(copy, args);
  libav().av_log_format_line2(avcl, level, format, copy, line, sizeof line, &print_prefix);
  va_end(copy);
  partial += line;
  if (partial.size() > 4096) partial += '\n';  // a line that never ends: cut it here
  for (auto nl = partial.find('\n'); nl != std::string::npos; nl = partial.find('\n')) {
    std::string text = partial.substr(0, nl);
    partial.erase(0, nl + 1);
    if (!text.empty()) log->write(LogLevel::debug, "libav: " + text);
  }
}

}  // namespace

void route_libav_log(const Logger* log) {
  g_libav_log.store(log);
  libav().av_log_set_level(AV_LOG_WARNING);
  libav().av_log_set_callback(&libav_log_callback);
}

std::string av_error_text(int err) {
  char buf[AV_ERROR_MAX_STRING_SIZE] = {};
  if (libav().av_strerror(err, buf, sizeof buf) < 0) return fmt::format("libav error {}", err);
  return buf;
}

}  // namespace bambu
