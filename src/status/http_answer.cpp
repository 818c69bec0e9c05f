#include "status/http_answer.h"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <map>

#include <fmt/format.h>

namespace bambu {

namespace {

// cpp-httplib's header order: by name, ignoring case; equal names keep the
// order they were added in (a multimap).
struct CaseInsensitiveLess {
  bool operator()(const std::string& a, const std::string& b) const {
    return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end(), [](unsigned char x, unsigned char y) {
      return std::tolower(x) < std::tolower(y);
    });
  }
};
using Headers = std::multimap<std::string, std::string, CaseInsensitiveLess>;

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The `digits` hex digits at text[at...] as a number, or -1.
int hex_at(std::string_view text, std::size_t at, std::size_t digits) {
  if (at + digits > text.size()) return -1;
  int value = 0;
  for (std::size_t i = 0; i < digits; ++i) {
    const int d = hex_value(text[at + i]);
    if (d < 0) return -1;
    value = value * 16 + d;
  }
  return value;
}

void append_utf8(std::string& out, int code) {
  if (code < 0x80) {
    out += static_cast<char>(code);
  } else if (code < 0x800) {
    out += static_cast<char>(0xC0 | (code >> 6));
    out += static_cast<char>(0x80 | (code & 0x3F));
  } else if (code < 0xD800 || code >= 0xE000) {  // a lone surrogate gives nothing, as in cpp-httplib
    out += static_cast<char>(0xE0 | (code >> 12));
    out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code & 0x3F));
  }
}

// cpp-httplib's can_compress_content_type: text/* but event streams, and a
// few application types (of which we send JSON).
bool compressible(std::string_view type) {
  for (std::string_view t : {"image/svg+xml", "application/javascript", "application/json", "application/xml",
                             "application/protobuf", "application/xhtml+xml"}) {
    if (type == t) return true;
  }
  return type.starts_with("text/") && type != "text/event-stream";
}

// `body` as one gzip member, made as cpp-httplib's gzip_compressor made it
// (default level, window 15 with the gzip wrapper, memLevel 8), so the bytes
// are the same. False (body unchanged) if zlib fails.
bool gzip(std::string& body) {
  z_stream z{};
  if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY) != Z_OK) return false;
  std::string out;
  std::array<char, 16384> chunk{};
  z.next_in = reinterpret_cast<Bytef*>(body.data());
  z.avail_in = static_cast<uInt>(body.size());  // bodies are far below 4 GiB
  int ret = Z_OK;
  do {
    z.next_out = reinterpret_cast<Bytef*>(chunk.data());
    z.avail_out = static_cast<uInt>(chunk.size());
    ret = deflate(&z, Z_FINISH);
    out.append(chunk.data(), chunk.size() - z.avail_out);
  } while (ret == Z_OK);
  deflateEnd(&z);
  if (ret != Z_STREAM_END) return false;
  body = std::move(out);
  return true;
}

}  // namespace

std::string decode_target_path(std::string_view target) {
  target = target.substr(0, target.find('#'));
  target = target.substr(0, target.find('?'));
  std::string path;
  path.reserve(target.size());
  for (std::size_t i = 0; i < target.size(); ++i) {
    const bool unicode = target[i] == '%' && i + 1 < target.size() && target[i + 1] == 'u';
    const int value = target[i] != '%' ? -1 : unicode ? hex_at(target, i + 2, 4) : hex_at(target, i + 1, 2);
    if (value < 0) {
      path += target[i];
    } else if (unicode) {
      append_utf8(path, value);
      i += 5;
    } else {
      path += static_cast<char>(value);
      i += 2;
    }
  }
  return path;
}

bool known_http_method(std::string_view method) {
  return routable_http_method(method) || method == "CONNECT" || method == "TRACE" || method == "PRI";
}

bool routable_http_method(std::string_view method) {
  for (std::string_view m : {"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"}) {
    if (method == m) return true;
  }
  return false;
}

std::string_view http_reason(int status) {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 413: return "Payload Too Large";
    case 414: return "URI Too Long";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "";
  }
}

std::string http_error_body(int status) {
  const char* text = status == 404 ? "Not Found" : status == 400 ? "Bad Request"
                     : status == 500 ? "Internal Server Error"
                                     : "Error";
  return fmt::format("{}\n", text);
}

std::string http_response_bytes(const HttpRequest& request, HttpAnswer answer, bool close) {
  if (answer.status >= 400) {
    answer.body = http_error_body(answer.status);
    answer.content_type = "text/plain";
  }
  Headers headers(answer.headers.begin(), answer.headers.end());
  if (compressible(answer.content_type) && request.accept_encoding.find("gzip") != std::string::npos &&
      !answer.body.empty() && gzip(answer.body)) {
    headers.emplace("Content-Encoding", "gzip");
  }
  if (!answer.content_type.empty()) headers.emplace("Content-Type", answer.content_type);
  headers.emplace("Content-Length", std::to_string(answer.body.size()));
  if (close) {
    headers.emplace("Connection", "close");
  } else {
    headers.emplace("Keep-Alive", fmt::format("timeout={}, max={}", k_http_keep_alive_s, k_http_requests_per_connection));
  }
  const bool head = request.method == "HEAD";
  if (head) headers.emplace("Accept-Ranges", "bytes");
  std::string out = fmt::format("HTTP/1.1 {} {}\r\n", answer.status, http_reason(answer.status));
  for (const auto& [name, value] : headers) out += fmt::format("{}: {}\r\n", name, value);
  out += "\r\n";
  if (!head) out += answer.body;
  return out;
}

}  // namespace bambu
