#include "config/go2rtc_stream_url.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>

#include "transport/endpoint.h"

namespace bambu {

namespace {

constexpr std::string_view k_scheme = "http://";
constexpr std::string_view k_example = "e.g. http://127.0.0.1:1984/api/streams?src=printer";

bool is_printable_ascii(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return c > ' ' && c < 0x7f; });
}

// True if `name` is a host name: labels of letters, digits and '-' joined
// by '.' (an IPv4 literal is one too), none empty.
bool is_host_name(std::string_view name) {
  if (name.empty() || name.size() > 253 || name.front() == '.' || name.back() == '.') return false;
  if (name.find("..") != std::string_view::npos) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.';
  });
}

bool is_ipv6_literal(const std::string& text) {
  in6_addr address{};
  return ::inet_pton(AF_INET6, text.c_str(), &address) == 1;
}

// "1" to "65535" as a port, else nullopt.
std::optional<std::uint16_t> parse_port(std::string_view text) {
  if (text.empty() || text.size() > 5) return std::nullopt;
  unsigned value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  if (value == 0 || value > 65535) return std::nullopt;
  return static_cast<std::uint16_t>(value);
}

// Host and port of the authority (between "http://" and the path) into
// `out`; false with `why` set if either is wrong.
bool parse_authority(std::string_view authority, Go2rtcStreamUrl& out, std::string& why) {
  std::string_view port_text;
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) {
      why = "--go2rtc-stream: an IPv6 address needs its closing ']'";
      return false;
    }
    out.host = std::string(authority.substr(1, close - 1));
    const std::string_view rest = authority.substr(close + 1);
    if (!rest.empty() && rest.front() != ':') {
      why = "--go2rtc-stream: only ':PORT' may follow the host";
      return false;
    }
    if (!is_ipv6_literal(out.host)) {
      why = "--go2rtc-stream: the host in brackets is not an IPv6 address";
      return false;
    }
    if (!rest.empty()) port_text = rest.substr(1);
    if (!rest.empty() && port_text.empty()) port_text = "-";  // "[::1]:" names no port
  } else {
    const auto colon = authority.find(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port_text = authority.substr(colon + 1);
    if (colon != std::string_view::npos && port_text.empty()) port_text = "-";
    if (!is_host_name(out.host)) {
      why = out.host.empty() ? "--go2rtc-stream: the URL names no host"
                             : "--go2rtc-stream: the host is neither a name nor an IP address";
      return false;
    }
  }
  if (port_text.empty()) return true;
  const auto port = parse_port(port_text);
  if (!port) {
    why = "--go2rtc-stream: the port must be a number from 1 to 65535";
    return false;
  }
  out.port = *port;
  return true;
}

// The one line for a URL whose scheme is not http://.
std::string scheme_problem(std::string_view url) {
  std::string lower(url.substr(0, 8));
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  if (lower.rfind("https://", 0) == 0) {
    return "--go2rtc-stream: https is not supported: go2rtc's API answers plain http on its port 1984 (" +
           std::string(k_example) + ")";
  }
  return "--go2rtc-stream: only http:// URLs of go2rtc's API are supported (" + std::string(k_example) + ")";
}

}  // namespace

std::optional<Go2rtcStreamUrl> parse_go2rtc_stream_url(std::string_view url, std::string& why) {
  if (url.size() > k_max_go2rtc_stream_url) {
    why = "--go2rtc-stream: longer than " + std::to_string(k_max_go2rtc_stream_url) + " bytes";
    return std::nullopt;
  }
  std::string scheme(url.substr(0, k_scheme.size()));
  std::transform(scheme.begin(), scheme.end(), scheme.begin(), [](unsigned char c) { return std::tolower(c); });
  if (scheme != k_scheme) {
    why = scheme_problem(url);
    return std::nullopt;
  }
  if (!is_printable_ascii(url)) {
    why = "--go2rtc-stream: spaces and bytes other than printable ASCII must be percent-encoded";
    return std::nullopt;
  }
  const std::string_view rest = url.substr(k_scheme.size());
  const auto slash = rest.find_first_of("/?#");  // where the authority ends
  const std::string_view authority = rest.substr(0, slash);
  if (authority.find('@') != std::string_view::npos) {
    why = "--go2rtc-stream: a user name or password in the URL is not supported";
    return std::nullopt;
  }
  Go2rtcStreamUrl out;
  if (!parse_authority(authority, out, why)) return std::nullopt;
  if (slash == std::string_view::npos || rest[slash] != '/') {
    why = "--go2rtc-stream: the URL needs a path, " + std::string(k_example);
    return std::nullopt;
  }
  out.target = std::string(rest.substr(slash));
  const auto question = out.target.find('?');
  if (question == std::string::npos || question + 1 == out.target.size()) {
    why = "--go2rtc-stream: the URL needs the stream's query, " + std::string(k_example);
    return std::nullopt;
  }
  if (out.target.find('#') != std::string::npos) {
    why = "--go2rtc-stream: a fragment ('#') is not supported";
    return std::nullopt;
  }
  return out;
}

std::string to_string(const Go2rtcStreamUrl& url) {
  return std::string(k_scheme) + format_endpoint(url.host, url.port) + url.target;
}

}  // namespace bambu
