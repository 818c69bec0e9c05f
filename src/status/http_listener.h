// The status server's sockets: an HTTP/1.1 listener that slow, silent or
// hostile clients cannot use up (Boost.Beast over Asio, one thread).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "core/log.h"
#include "core/stop_flag.h"
#include "status/http_answer.h"

namespace bambu {

/// The limits one connection lives under. Every wait has a deadline, every
/// buffer a size, so a client can hold no more than one connection slot and
/// k_http_header_limit + k_http_body_limit bytes, for a bounded time.
/// How long a request's line and headers (and its body) may take to
/// arrive, counted from the accept or from the end of the previous answer,
/// however the client trickles them; then the connection is closed. (Its
/// first bytes must come within k_http_keep_alive_s of the same moment.)
constexpr std::chrono::seconds k_http_request_deadline{5};
/// How long writing one answer may take (a client that does not read).
constexpr std::chrono::seconds k_http_write_deadline{2};
/// The request line and headers together, in bytes: more is a 431 and the
/// connection is closed.
constexpr std::size_t k_http_header_limit = 16 * 1024;
/// A request body, in bytes (requests here carry none): more is a 413.
constexpr std::size_t k_http_body_limit = 4096;
/// A request target longer than this, in bytes, is a 414 (cpp-httplib's
/// limit).
constexpr std::size_t k_http_target_limit = 8192;
/// Connections open at once. At the cap, a new connection replaces the
/// oldest one that has not sent a whole request yet; if every one is being
/// answered, the new one is closed at once. Below the default limit of
/// 1024 open files.
constexpr std::size_t k_http_max_connections = 512;

/// Answers one request. May throw: the client then gets a 500 and the
/// exception's what() is logged as an error.
using HttpHandler = std::function<HttpAnswer(const HttpRequest&)>;

/// Accepts connections on one address and answers each request with the
/// handler's HttpAnswer, written as http_response_bytes(). Up to
/// k_http_requests_per_connection requests per connection; the next must
/// begin within k_http_keep_alive_s of the previous answer. One thread (the
/// caller of run()) does all the I/O and calls the handler, so the handler
/// must be quick (a small file read). Logs a debug line per answer:
/// "METHOD PATH from ADDRESS -> STATUS".
class HttpListener {
 public:
  /// Binds host:port (port 0: a free port) with SO_REUSEADDR and without
  /// SO_REUSEPORT, so a port already in use fails. `host` is an address or
  /// a name (the first of its addresses that binds is used). Throws
  /// FatalError(usage) naming host:port if none can be bound.
  /// `common_headers` go on every answer, the listener's own 400, 413, 414
  /// and 431 included.
  HttpListener(const std::string& host, std::uint16_t port, HttpHeaders common_headers, HttpHandler handler,
               const Logger& log);
  ~HttpListener();
  HttpListener(const HttpListener&) = delete;
  HttpListener& operator=(const HttpListener&) = delete;

  /// The port bound.
  std::uint16_t port() const;

  /// The most connections that were open at once so far, never above
  /// k_http_max_connections. Safe from any thread.
  std::size_t peak_connections() const;

  /// Serves until `stop` is requested. Then it stops accepting, closes the
  /// connections waiting for a request, lets each answer being written
  /// finish (at most k_http_write_deadline) and returns. Blocking; call
  /// once. Throws std::runtime_error if the event loop fails.
  void run(const StopFlag& stop);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace bambu
