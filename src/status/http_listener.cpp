// Why Boost.Beast: the server must bound the whole time a request's headers
// take to arrive, whatever the client trickles, and must not give each
// waiting client a thread. cpp-httplib 0.11 bounds each read(2) only and
// hands every accepted socket to a fixed pool, so 50 silent clients held
// all of it. Beast (Debian 12's libboost1.74-dev, header-only with Asio)
// reads a request with one async_read on a tcp_stream whose expiry is the
// request's deadline, and its parser bounds the header and body sizes; one
// io_context thread serves every connection, each costing a socket and its
// buffers. libmicrohttpd would also do (connection timeouts, a
// connection cap) but bounds idle time, not the total time of a request.
#include "status/http_listener.h"

#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <list>
#include <optional>
#include <stdexcept>

#include "core/errors.h"
#include "transport/endpoint.h"

namespace bambu {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using steady = std::chrono::steady_clock;

// What a failed accept waits before the next try (out of descriptors: a
// connection must close first).
constexpr std::chrono::milliseconds k_accept_retry{100};

class Connection;

// The open connections, oldest first: for the cap and for stopping. Only
// the io_context's thread touches it.
struct Registry {
  HttpHeaders common_headers;  // on every answer
  std::list<Connection*> open;
  std::size_t live = 0;  // open ones not yet told to close
  std::atomic<std::size_t> peak{0};  // the most `live` ever was
  bool stopping = false;

  bool shed_oldest_waiting();
  void stop_all();
};

// One accepted connection: reads requests one at a time under the
// deadlines, answers each with the handler, closes on any error. Owned by
// the completion handlers in flight (shared_from_this).
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(tcp::socket socket, const HttpHandler& handler, const Logger& log, Registry& registry)
      : stream_(std::move(socket)), handler_(handler), log_(log), registry_(registry) {
    error_code ec;
    const auto peer = stream_.socket().remote_endpoint(ec);
    if (!ec) remote_ = peer.address().to_string();
    self_ = registry_.open.insert(registry_.open.end(), this);
    ++registry_.live;
    if (registry_.live > registry_.peak) registry_.peak = registry_.live;
  }
  ~Connection() {
    if (!aborted_) --registry_.live;
    registry_.open.erase(self_);
  }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  void start() {
    deadline_ = steady::now() + k_http_request_deadline;
    wait_for_request();
  }
  // Between requests (or before the first): may be closed to make room.
  bool waiting() const { return waiting_ && !aborted_; }
  // Closes the socket; the operation in flight ends with an error.
  void abort() {
    if (aborted_) return;
    aborted_ = true;
    --registry_.live;
    stream_.close();
  }

 private:
  void wait_for_request();
  void read_request();
  void on_request(error_code ec);
  HttpAnswer answer(const HttpRequest& request);
  void send(const HttpRequest& request, HttpAnswer answer, bool close_header, bool close_after);

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_{k_http_header_limit + k_http_body_limit};
  std::optional<http::request_parser<http::string_body>> parser_;
  std::string out_;
  const HttpHandler& handler_;
  const Logger& log_;
  Registry& registry_;
  std::list<Connection*>::iterator self_;
  std::string remote_;
  steady::time_point deadline_;
  int answered_ = 0;
  bool waiting_ = true;
  bool aborted_ = false;
};

bool Registry::shed_oldest_waiting() {
  for (Connection* c : open) {
    if (c->waiting()) {
      c->abort();
      return true;
    }
  }
  return false;
}

void Registry::stop_all() {
  stopping = true;
  for (Connection* c : open) {
    if (c->waiting()) c->abort();  // one being answered closes after its answer
  }
}

// The first bytes of the next request: at most k_http_keep_alive_s idle
// (and never past the request's deadline).
void Connection::wait_for_request() {
  waiting_ = true;
  parser_.emplace();
  parser_->header_limit(static_cast<std::uint32_t>(k_http_header_limit));
  parser_->body_limit(k_http_body_limit);
  if (buffer_.size() > 0) {  // a pipelined request already here
    read_request();
    return;
  }
  stream_.expires_at(std::min(deadline_, steady::now() + std::chrono::seconds(k_http_keep_alive_s)));
  stream_.async_read_some(buffer_.prepare(1024), [self = shared_from_this()](error_code ec, std::size_t n) {
    if (ec || self->aborted_) return;  // idle too long, closed by the client, or shed
    self->buffer_.commit(n);
    self->read_request();
  });
}

// The rest of the request, all of it by the deadline.
void Connection::read_request() {
  stream_.expires_at(deadline_);
  http::async_read(stream_, buffer_, *parser_,
                   [self = shared_from_this()](error_code ec, std::size_t) { self->on_request(ec); });
}

void Connection::on_request(error_code ec) {
  if (aborted_) return;
  waiting_ = false;
  HttpRequest request;
  request.remote_addr = remote_;
  if (ec) {
    // Timed out or closed mid-request: nothing to answer. A request that
    // is not HTTP, or too large, gets its status and the connection ends.
    if (ec.category() != http::make_error_code(http::error::bad_target).category() ||
        ec == http::error::end_of_stream || ec == http::error::partial_message) {
      return;
    }
    const int status = ec == http::error::header_limit ? 431 : ec == http::error::body_limit ? 413 : 400;
    // cpp-httplib's 400 said Keep-Alive all the same; the connection ends
    // here in any case, since where the next request starts is unknown.
    send(request, http_status_answer(status), status != 400, true);
    return;
  }
  const auto& req = parser_->get();
  request.method = std::string(req.method_string());
  request.path = decode_target_path(req.target());
  request.accept_encoding = std::string(req[http::field::accept_encoding]);
  const auto connection = req[http::field::connection];
  ++answered_;
  // As cpp-httplib: the header says close on the last allowed request and
  // when the client asked; an HTTP/1.0 client without Keep-Alive is closed
  // after its answer all the same.
  const bool last = answered_ >= k_http_requests_per_connection;
  // A request line cpp-httplib refused before reading the headers: its
  // answer ignored them (Connection among them).
  if (!known_http_method(request.method) || req.target().size() > k_http_target_limit) {
    send(request, http_status_answer(known_http_method(request.method) ? 414 : 400), last, true);
    return;
  }
  const bool close_header = last || connection == "close";
  const bool close_after = close_header || (req.version() == 10 && connection != "Keep-Alive");
  send(request, answer(request), close_header, close_after);
}

HttpAnswer Connection::answer(const HttpRequest& request) {
  if (!routable_http_method(request.method)) return http_status_answer(400);
  try {
    return handler_(request);
  } catch (const std::exception& e) {
    log_.error("internal error while answering a request: {}", e.what());
  } catch (...) {
    log_.error("internal error while answering a request: unknown exception");
  }
  return http_status_answer(500);
}

void Connection::send(const HttpRequest& request, HttpAnswer answer, bool close_header, bool close_after) {
  log_.debug("{} {} from {} -> {}", request.method, request.path, request.remote_addr, answer.status);
  answer.headers.insert(answer.headers.end(), registry_.common_headers.begin(), registry_.common_headers.end());
  out_ = http_response_bytes(request, std::move(answer), close_header);
  stream_.expires_after(k_http_write_deadline);
  asio::async_write(stream_, asio::buffer(out_),
                    [self = shared_from_this(), close_after](error_code ec, std::size_t) {
                      if (ec || self->aborted_) return;
                      std::string().swap(self->out_);  // hold no answer between requests
                      if (close_after || self->registry_.stopping) {
                        self->stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
                        return;
                      }
                      self->deadline_ = steady::now() + k_http_request_deadline;
                      self->wait_for_request();
                    });
}

}  // namespace

struct HttpListener::Impl {
  // Connections refer to these three: they outlive the io_context, whose
  // destructor drops any connection still held by a handler.
  HttpHandler handler;
  const Logger& log;
  Registry registry;
  asio::io_context io{1};
  tcp::acceptor acceptor{io};
  asio::steady_timer retry{io};
  asio::posix::stream_descriptor stop_watch{io};

  Impl(HttpHeaders common_headers, HttpHandler h, const Logger& l) : handler(std::move(h)), log(l) {
    registry.common_headers = std::move(common_headers);
  }

  // The first address of `host` that binds and listens.
  bool bind(const std::string& host, std::uint16_t port) {
    error_code ec;
    tcp::resolver resolver(io);
    const auto found = resolver.resolve(host, std::to_string(port), tcp::resolver::passive | tcp::resolver::numeric_service, ec);
    if (ec) return false;
    for (const auto& entry : found) {
      const tcp::endpoint at = entry.endpoint();
      tcp::acceptor a(io);
      a.open(at.protocol(), ec);
      if (ec) continue;
      // SO_REUSEADDR only: a restart binds while old connections sit in
      // TIME_WAIT, but a second server cannot share the port (SO_REUSEPORT).
      a.set_option(tcp::acceptor::reuse_address(true), ec);
      if (at.address().is_v6()) a.set_option(asio::ip::v6_only(false), ec);  // "::" takes IPv4 too
      a.bind(at, ec);
      if (!ec) a.listen(asio::socket_base::max_listen_connections, ec);
      if (ec) continue;
      acceptor = std::move(a);
      return true;
    }
    return false;
  }

  void accept() {
    acceptor.async_accept([this](error_code ec, tcp::socket socket) {
      if (ec == asio::error::operation_aborted || registry.stopping) return;
      if (ec) {  // out of descriptors, most likely: make room and try again shortly
        registry.shed_oldest_waiting();
        retry.expires_after(k_accept_retry);
        retry.async_wait([this](error_code e) {
          if (!e && !registry.stopping) accept();
        });
        return;
      }
      admit(std::move(socket));
      accept();
    });
  }

  // At the cap, an idle or slow connection makes room; if none is, the new
  // one is closed (its client sees the connection end without an answer).
  void admit(tcp::socket socket) {
    if (registry.live >= k_http_max_connections && !registry.shed_oldest_waiting()) return;
    std::make_shared<Connection>(std::move(socket), handler, log, registry)->start();
  }

  void stop() {
    error_code ignored;
    acceptor.close(ignored);
    retry.cancel();
    registry.stop_all();
  }
};

HttpListener::HttpListener(const std::string& host, std::uint16_t port, HttpHeaders common_headers,
                           HttpHandler handler, const Logger& log)
    : impl_(std::make_unique<Impl>(std::move(common_headers), std::move(handler), log)) {
  if (!impl_->bind(host, port)) {
    throw FatalError(ExitCode::usage,
                     fmt::format("cannot listen on {}: the address is taken or not local", format_endpoint(host, port)));
  }
}

HttpListener::~HttpListener() = default;

std::uint16_t HttpListener::port() const { return impl_->acceptor.local_endpoint().port(); }

std::size_t HttpListener::peak_connections() const { return impl_->registry.peak; }

void HttpListener::run(const StopFlag& stop) {
  const int fd = ::dup(stop.fd());  // the stream_descriptor closes its own
  if (fd < 0) throw std::runtime_error("the status server cannot watch its stop flag");
  impl_->stop_watch.assign(fd);
  impl_->stop_watch.async_wait(asio::posix::stream_descriptor::wait_read, [this](error_code ec) {
    if (!ec) impl_->stop();
  });
  impl_->accept();
  try {
    impl_->io.run();
  } catch (const std::exception& e) {
    throw std::runtime_error(fmt::format("the status server failed: {}", e.what()));
  }
}

}  // namespace bambu
