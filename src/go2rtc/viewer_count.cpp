// Why Boost.Beast over Asio: one request must be bounded as a whole (the
// connect, the request and the whole answer within 1 s, however go2rtc
// trickles it) and dropped at once when the stream stops. One io_context
// on the watch's thread runs the request with a single deadline timer and
// watches both stop flags' eventfds, as src/status/http_listener.cpp does;
// cpp-httplib's client bounds each read(2) only.
#include "go2rtc/viewer_count.h"

#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <nlohmann/json.hpp>

#include <array>
#include <stdexcept>

#include "core/bounded_json.h"
#include "transport/endpoint.h"

namespace bambu {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using json = nlohmann::json;

// Most header bytes read from go2rtc (its answers carry about 150).
constexpr std::uint32_t k_max_header = 16 * 1024;

// True if `value` is an array or null: how go2rtc writes an empty list.
bool is_list(const json& value) { return value.is_array() || value.is_null(); }

}  // namespace

std::optional<int> count_viewers(std::string_view answer_json) {
  if (answer_json.size() > k_max_go2rtc_answer) return std::nullopt;
  JsonRefusal refusal;
  const auto root = parse_json_bounded(answer_json, k_max_go2rtc_answer_depth, refusal);
  if (!root || !root->is_object()) return std::nullopt;
  const auto producers = root->find("producers");
  const auto consumers = root->find("consumers");
  if (producers == root->end() || consumers == root->end()) return std::nullopt;
  if (!is_list(*producers) || !is_list(*consumers)) return std::nullopt;
  if (consumers->is_null()) return 0;
  int viewers = 0;
  for (const auto& consumer : *consumers) {
    if (!consumer.is_object()) return std::nullopt;
    const auto name = consumer.find("format_name");
    const bool preload = name != consumer.end() && name->is_string() && *name == "preload";
    if (!preload) ++viewers;
  }
  return viewers;
}

// One request after another on the watch's io_context: resolve (names
// only), connect, write, read, then report and wait for the next tick. A
// single deadline timer bounds each request; `generation` tells a late
// completion of an older request from the current one's.
struct ViewerWatch::Poller {
  ViewerWatch& watch;
  asio::io_context& io;
  asio::steady_timer tick{io};
  asio::steady_timer deadline{io};
  tcp::resolver resolver{io};
  tcp::socket socket{io};
  beast::flat_buffer buffer{k_max_header + k_max_go2rtc_answer};
  std::optional<http::response_parser<http::string_body>> parser;
  http::request<http::empty_body> request;
  unsigned generation = 0;
  bool timed_out = false;

  Poller(ViewerWatch& w, asio::io_context& context) : watch(w), io(context) {
    request = {http::verb::get, watch.url_.target, 11};
    request.set(http::field::host, format_endpoint(watch.url_.host, watch.url_.port));
    request.set(http::field::user_agent, "bambu-stream/" BAMBU_VERSION);
    request.set(http::field::connection, "close");
  }

  void start() {
    ++generation;
    timed_out = false;
    tick.expires_after(k_poll_interval);
    deadline.expires_after(k_request_timeout);
    deadline.async_wait([this, g = generation](error_code ec) {
      if (ec || g != generation) return;
      timed_out = true;
      resolver.cancel();
      error_code ignored;
      socket.close(ignored);
    });
    error_code not_literal;
    const auto address = asio::ip::make_address(watch.url_.host, not_literal);
    if (!not_literal) return connect(std::array{tcp::endpoint(address, watch.url_.port)});
    resolver.async_resolve(watch.url_.host, std::to_string(watch.url_.port),
                           [this](error_code ec, const tcp::resolver::results_type& results) {
                             if (ec) return fail(ec);
                             connect(results);
                           });
  }

  template <typename Endpoints>
  void connect(const Endpoints& endpoints) {
    asio::async_connect(socket, endpoints, [this](error_code ec, const tcp::endpoint&) {
      if (ec) return fail(ec);
      http::async_write(socket, request, [this](error_code e, std::size_t) {
        if (e) return fail(e);
        receive();
      });
    });
  }

  // The head first: Boost 1.74's parser lets a Content-Length over
  // body_limit through when the head and body arrive in one read (its
  // finish_header error is overwritten), so the length is checked here;
  // body_limit still bounds a chunked or close-delimited body.
  void receive() {
    buffer.clear();
    parser.emplace();
    parser->header_limit(k_max_header);
    parser->body_limit(k_max_go2rtc_answer);
    http::async_read_header(socket, buffer, *parser, [this](error_code ec, std::size_t) {
      if (ec && ec != http::error::body_limit) return fail(ec);
      const auto status = parser->get().result_int();
      if (status != 200) {
        return finish(std::nullopt, fmt::format("go2rtc answered HTTP {}{}", status,
                                                status == 404 ? " (it has no stream of that name)" : ""));
      }
      const auto length = parser->content_length();
      if (ec || (length && *length > k_max_go2rtc_answer)) return fail(http::error::body_limit);
      http::async_read(socket, buffer, *parser, [this](error_code e, std::size_t) {
        if (e) return fail(e);
        const auto viewers = count_viewers(parser->get().body());
        if (!viewers) return finish(std::nullopt, "go2rtc's answer is not one stream's JSON");
        finish(viewers, {});
      });
    });
  }

  void fail(error_code ec) {
    if (timed_out) {
      return finish(std::nullopt, fmt::format("no whole answer within {} ms", k_request_timeout.count()));
    }
    if (ec == http::error::body_limit) {
      return finish(std::nullopt, fmt::format("go2rtc's answer is over {} bytes", k_max_go2rtc_answer));
    }
    finish(std::nullopt, ec.message());
  }

  void finish(std::optional<int> viewers, const std::string& failure) {
    ++generation;  // the deadline's handler, if already queued, does nothing
    deadline.cancel();
    error_code ignored;
    socket.close(ignored);
    watch.report(viewers, failure);
    tick.async_wait([this](error_code ec) {
      if (!ec) start();
    });
  }
};

ViewerWatch::ViewerWatch(Go2rtcStreamUrl url, const Logger& log, const StopFlag& stop, OnChange on_change)
    : url_(std::move(url)), log_(log), stop_(stop), on_change_(std::move(on_change)), thread_([this] { run(); }) {}

ViewerWatch::~ViewerWatch() { close(); }

void ViewerWatch::close() {
  closing_.request_stop(StopReason::requested);
  if (thread_.joinable()) thread_.join();
}

std::optional<int> ViewerWatch::viewers() const {
  std::lock_guard lock(mutex_);
  return viewers_;
}

void ViewerWatch::run() noexcept {
  try {
    asio::io_context io;
    // Each descriptor a dup: the stream_descriptor closes its own.
    asio::posix::stream_descriptor stop_watch(io), close_watch(io);
    for (auto [watcher, fd] : {std::pair{&stop_watch, stop_.fd()}, std::pair{&close_watch, closing_.fd()}}) {
      const int copy = ::dup(fd);
      if (copy < 0) throw std::runtime_error("cannot watch its stop flag");
      watcher->assign(copy);
      watcher->async_wait(asio::posix::stream_descriptor::wait_read, [&io](error_code ec) {
        if (!ec) io.stop();
      });
    }
    Poller poller(*this, io);
    poller.start();
    io.run();
  } catch (const std::exception& e) {
    log_.error("go2rtc stream {}: the viewer watch stopped: {}", to_string(url_), e.what());
  }
}

void ViewerWatch::report(std::optional<int> viewers, const std::string& failure) {
  if (stop_.stop_requested() || closing_.stop_requested()) return;
  {
    std::lock_guard lock(mutex_);
    viewers_ = viewers;
  }
  if (!viewers) {
    if (const auto count = throttle_.pass(Clock::now())) {
      warned_ = true;
      const std::string times = count > 1 ? fmt::format(" ({} times since the last line)", count) : "";
      log_.warning("go2rtc stream {}: cannot tell its viewers: {}{}", to_string(url_), failure, times);
    }
  } else if (warned_) {
    warned_ = false;
    log_.info("go2rtc stream {}: answers again, {} viewer(s)", to_string(url_), *viewers);
  }
  if (reported_ && viewers == last_reported_) return;
  reported_ = true;
  last_reported_ = viewers;
  if (on_change_) on_change_(viewers);
}

}  // namespace bambu
