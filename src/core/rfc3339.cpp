#include "core/rfc3339.h"

#include <fmt/format.h>

#include <ctime>
#include <ratio>
#include <type_traits>

namespace bambu {

namespace {

using std::chrono::system_clock;

// Reads `count` decimal digits at text[pos...]; advances pos. -1 if any is not a digit.
int read_digits(std::string_view text, std::size_t& pos, std::size_t count) {
  if (pos + count > text.size()) return -1;
  int value = 0;
  for (std::size_t i = 0; i < count; ++i) {
    char c = text[pos + i];
    if (c < '0' || c > '9') return -1;
    value = value * 10 + (c - '0');
  }
  pos += count;
  return value;
}

bool expect(std::string_view text, std::size_t& pos, std::string_view one_of) {
  if (pos >= text.size() || one_of.find(text[pos]) == std::string_view::npos) return false;
  ++pos;
  return true;
}

// The optional ".digits" after the seconds at `pos`, in microseconds (digits
// past the sixth are read and dropped); nullopt for a '.' with no digit.
std::optional<std::chrono::microseconds> read_fraction(std::string_view text, std::size_t& pos) {
  if (pos >= text.size() || text[pos] != '.') return std::chrono::microseconds{0};
  ++pos;
  std::size_t digits = 0;
  long long us = 0;
  while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
    if (digits < 6) us = us * 10 + (text[pos] - '0');
    ++digits;
    ++pos;
  }
  if (digits == 0) return std::nullopt;
  for (std::size_t i = digits; i < 6; ++i) us *= 10;
  return std::chrono::microseconds(us);
}

// The zone at `pos`: "Z" (or "z") is UTC, else "+HH:MM" or "-HH:MM", as the
// offset from UTC; nullopt for anything else.
std::optional<std::chrono::minutes> read_offset(std::string_view text, std::size_t& pos) {
  if (expect(text, pos, "Zz")) return std::chrono::minutes{0};
  if (pos >= text.size() || (text[pos] != '+' && text[pos] != '-')) return std::nullopt;
  int sign = text[pos] == '-' ? -1 : 1;
  ++pos;
  int oh = read_digits(text, pos, 2);
  if (oh < 0 || !expect(text, pos, ":")) return std::nullopt;
  int om = read_digits(text, pos, 2);
  if (om < 0 || oh > 23 || om > 59) return std::nullopt;
  return std::chrono::minutes(sign * (oh * 60 + om));
}

}  // namespace

std::string format_rfc3339(std::chrono::system_clock::time_point t) {
  using namespace std::chrono;
  auto ms = duration_cast<milliseconds>(t.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  if (ms % 1000 < 0) --secs;  // times before 1970 round down
  std::tm tm{};
  ::gmtime_r(&secs, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ((ms % 1000) + 1000) % 1000);
}

std::optional<system_clock::time_point> parse_rfc3339(std::string_view text) {
  using namespace std::chrono;
  std::size_t pos = 0;
  int y = read_digits(text, pos, 4);
  if (y < 0 || !expect(text, pos, "-")) return std::nullopt;
  int mo = read_digits(text, pos, 2);
  if (mo < 0 || !expect(text, pos, "-")) return std::nullopt;
  int d = read_digits(text, pos, 2);
  if (d < 0 || !expect(text, pos, "Tt")) return std::nullopt;
  int h = read_digits(text, pos, 2);
  if (h < 0 || !expect(text, pos, ":")) return std::nullopt;
  int mi = read_digits(text, pos, 2);
  if (mi < 0 || !expect(text, pos, ":")) return std::nullopt;
  int s = read_digits(text, pos, 2);
  if (s < 0 || h > 23 || mi > 59 || s > 59) return std::nullopt;

  auto fraction = read_fraction(text, pos);
  auto offset = read_offset(text, pos);
  if (!fraction || !offset) return std::nullopt;
  if (pos != text.size()) return std::nullopt;

  year_month_day date{year{y}, month{static_cast<unsigned>(mo)}, day{static_cast<unsigned>(d)}};
  if (!date.ok()) return std::nullopt;
  // In microseconds, which hold years 0000 to 9999 easily. system_clock
  // counts 64-bit nanoseconds and holds only 1677 to 2262: converting a time
  // outside that overflowed (undefined behaviour, found by
  // fuzz/heartbeat_reader_fuzz), and could wrap a year such as 2610 to a
  // fresh-looking one.
  sys_time<microseconds> t = sys_days{date} + hours{h} + minutes{mi} + seconds{s} + *fraction - *offset;
  if (t < ceil<microseconds>(system_clock::time_point::min()) ||
      t > floor<microseconds>(system_clock::time_point::max())) {
    return std::nullopt;
  }
  return time_point_cast<system_clock::duration>(t);
}

}  // namespace bambu
