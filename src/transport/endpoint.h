// How a printer's or a listener's address is written in log lines, errors
// and the heartbeat.
#pragma once

#include <cstdint>
#include <string>

namespace bambu {

/// "host:port", with an IPv6 literal in brackets ("[::1]:322"), as in a URL
/// (RFC 3986, section 3.2.2). `host` is written as given.
std::string format_endpoint(const std::string& host, std::uint16_t port);

}  // namespace bambu
