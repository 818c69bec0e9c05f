// RFC 3339 timestamps, the form the heartbeat file writes and reads its
// times in (https://www.rfc-editor.org/rfc/rfc3339).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace bambu {

/// Formats `t` as RFC 3339 UTC with milliseconds, e.g. "2026-11-21T05:01:40.123Z".
std::string format_rfc3339(std::chrono::system_clock::time_point t);

/// Parses an RFC 3339 timestamp such as "2026-11-21T05:31:27.814Z" (what the
/// heartbeat writes), also without the fraction, with a lower-case 't'/'z',
/// or with a "+01:00"-style offset. Fractions are read to the microsecond.
/// Returns nullopt for anything else, including impossible dates (Feb 30),
/// leap seconds, and times system_clock (64-bit nanoseconds) cannot hold:
/// accepted are 1677-09-21T00:12:43.145225Z to 2262-04-11T23:47:16.854775Z.
std::optional<std::chrono::system_clock::time_point> parse_rfc3339(std::string_view text);

}  // namespace bambu
