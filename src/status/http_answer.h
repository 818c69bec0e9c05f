// The status server's HTTP/1.1 answers as bytes on the wire: a parsed
// request's few facts in, the status line, headers and body out. Pure (no
// I/O, no logging); http_listener.h does the sockets.
//
// The bytes are those cpp-httplib 0.11 wrote when it served `status
// --listen` (its Server::write_response_core and apply_ranges), so that
// pollers and browsers see no change: headers sorted by name without regard
// to case, `Keep-Alive: timeout=1, max=5` or `Connection: close`,
// `Accept-Ranges: bytes` on HEAD, gzip (zlib, as cpp-httplib made it) for
// text and JSON when the client accepts it.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace bambu {

/// What an answer depends on in a request.
struct HttpRequest {
  std::string method;           ///< as sent, e.g. "GET"
  std::string path;             ///< the target's path, percent-decoded (decode_target_path)
  std::string remote_addr;      ///< the client's address, for the debug log
  std::string accept_encoding;  ///< the Accept-Encoding header's value, "" when absent
};

/// Response headers, name and value, in the order added.
using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

/// An answer before it is written: status, body, Content-Type and any other
/// headers (Cache-Control and the like; never Content-Length, which
/// http_response_bytes computes).
struct HttpAnswer {
  int status = 200;
  std::string body;
  std::string content_type;
  HttpHeaders headers;
};

/// An answer of `status` alone (an error: its body is http_error_body()).
inline HttpAnswer http_status_answer(int status) { return HttpAnswer{status, {}, {}, {}}; }

/// How many requests one connection may carry; the last answer says
/// `Connection: close` (cpp-httplib's keep-alive count).
constexpr int k_http_requests_per_connection = 5;
/// The idle time allowed before a request on a kept-alive connection, in
/// seconds (also the `timeout=` of the Keep-Alive header).
constexpr int k_http_keep_alive_s = 1;

/// The target's path as cpp-httplib routed it: the fragment and the query
/// dropped, then %XX and %uXXXX (as UTF-8) decoded; a malformed escape is
/// kept as it is. Never throws but std::bad_alloc.
std::string decode_target_path(std::string_view target);

/// True for the methods cpp-httplib read a request line with (GET, HEAD,
/// POST, PUT, DELETE, CONNECT, OPTIONS, TRACE, PATCH, PRI); with any other
/// word it answered 400 before reading the headers.
bool known_http_method(std::string_view method);

/// True for the methods a handler is asked about (GET, HEAD, POST, PUT,
/// DELETE, OPTIONS, PATCH: those cpp-httplib routed, a 404 when no route
/// takes them); any other (CONNECT, TRACE, PRI, an unknown word) is a 400.
bool routable_http_method(std::string_view method);

/// The reason phrase of `status` ("Not Found"), "" for one we never send.
std::string_view http_reason(int status);

/// The text/plain body an error answer carries: "Not Found\n",
/// "Bad Request\n", "Internal Server Error\n", or "Error\n" for any other
/// status.
std::string http_error_body(int status);

/// The whole response to `request`: status line, headers (`answer`'s,
/// Content-Length, the connection's: `Connection: close` when `close`, else
/// `Keep-Alive: timeout=1, max=5`; `Accept-Ranges: bytes` for HEAD), then
/// the body, left out for HEAD. A status of 400 or more carries
/// http_error_body() as text/plain in place of `answer`'s body and type (as
/// cpp-httplib's error handler made every error answer). Text and JSON
/// bodies are gzip-compressed (with `Content-Encoding: gzip`) when
/// Accept-Encoding names gzip.
std::string http_response_bytes(const HttpRequest& request, HttpAnswer answer, bool close);

}  // namespace bambu
