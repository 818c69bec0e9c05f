// --go2rtc-stream: the URL of go2rtc's API answer for one stream
// (http://HOST:1984/api/streams?src=NAME), split into what an HTTP client
// needs. Pure: no I/O, no name lookup, no exceptions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace bambu {

/// Longest --go2rtc-stream accepted, in bytes: far above any real one, so
/// that a hostile value never makes a long request line or log line.
inline constexpr std::size_t k_max_go2rtc_stream_url = 2048;

/// A checked `http://HOST[:PORT]/PATH?QUERY`.
struct Go2rtcStreamUrl {
  /// A name (letters, digits, '-', '.'), an IPv4 literal, or an IPv6
  /// literal without its brackets ("::1").
  std::string host;
  /// TCP port, 1 to 65535; 80 when the URL names none.
  std::uint16_t port = 80;
  /// The request target: the path (from its '/') and '?' and the query,
  /// e.g. "/api/streams?src=printer"; printable ASCII, no space, no '#'.
  std::string target;
};

/// Splits and checks `url`. Accepts only `http://HOST[:PORT]/PATH?QUERY`
/// (the scheme in any case), because go2rtc's API is plain HTTP and its
/// answer for one stream needs `?src=NAME`. Refuses, with `why` set to one
/// line that starts with "--go2rtc-stream: " and never repeats the URL (it
/// may hold a password): https or any other scheme, user info ("user@"), a
/// host that is empty or not a name or IP literal, a port that is not 1 to
/// 65535, a missing path or query, a fragment ('#'), spaces or bytes that
/// are not printable ASCII, and anything over k_max_go2rtc_stream_url
/// bytes. `why` is left alone on success.
std::optional<Go2rtcStreamUrl> parse_go2rtc_stream_url(std::string_view url, std::string& why);

/// The URL again as "http://HOST:PORT/TARGET" (an IPv6 host in brackets),
/// for log lines.
std::string to_string(const Go2rtcStreamUrl& url);

}  // namespace bambu
