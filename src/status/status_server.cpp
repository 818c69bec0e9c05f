#include "status/status_server.h"

#include <httplib.h>
#include <poll.h>
#include <sys/socket.h>

#include <fmt/format.h>

#include <cerrno>
#include <chrono>
#include <thread>
#include <unistd.h>

#include "core/errors.h"
#include "status/farm_page.h"
#include "status/printers.h"
#include "status/stream_health.h"
#include "transport/endpoint.h"

namespace bambu {

namespace {

// Worker threads: requests are tiny and answered from one small file read.
constexpr std::size_t k_worker_threads = 4;
// A client gets this long to send its request (and to read the answer).
constexpr time_t k_io_timeout_s = 2;
// How long an idle keep-alive connection is held. Short, because stopping
// waits for it; pollers such as Home Assistant reconnect every time anyway.
constexpr time_t k_keep_alive_s = 1;
// Requests carry no body; anything larger is refused.
constexpr std::size_t k_max_request_body = 4096;

constexpr const char* k_json = "application/json";
constexpr const char* k_prometheus = "text/plain; version=0.0.4";
constexpr const char* k_jpeg = "image/jpeg";
constexpr const char* k_text = "text/plain";
constexpr const char* k_html = "text/html; charset=utf-8";

}  // namespace

struct StatusServer::Impl {
  StatusConfig config;
  const Logger& log;
  httplib::Server server;
  std::uint16_t port = 0;

  Impl(StatusConfig c, const Logger& l) : config(std::move(c)), log(l) {}

  StreamHealth health() const { return health_of(config.heartbeat_path); }
  StreamHealth health_of(const std::string& path) const {
    return read_stream_health(path, config.max_age_s, std::chrono::system_clock::now());
  }
  PrinterHealths printers() const {
    return read_printer_healths(config.heartbeat_dir, config.max_age_s, std::chrono::system_clock::now());
  }
  // Without --heartbeat, the one-printer endpoints speak for every printer of --heartbeat-dir.
  bool aggregate() const { return config.heartbeat_path.empty(); }

  void answer_snapshot(const StreamHealth& h, httplib::Response& res) const {
    SnapshotAnswer a = read_snapshot(h.heartbeat, config.max_age_s, std::chrono::system_clock::now());
    res.status = a.status;
    res.set_content(std::move(a.body), a.status == 200 ? k_jpeg : k_text);
  }

  // GET /printers/NAME/WHAT: the one-printer endpoints for one printer of --heartbeat-dir.
  void answer_printer(const std::string& name, const std::string& what, httplib::Response& res) const {
    const std::string path = printer_heartbeat_path(config.heartbeat_dir, name);
    if (config.heartbeat_dir.empty() || !valid_printer_name(name) || ::access(path.c_str(), F_OK) != 0) {
      res.status = 404;
      res.set_content(fmt::format("no printer {}\n", valid_printer_name(name) ? name : "of that name"), k_text);
      return;
    }
    StreamHealth h = health_of(path);
    if (what == "stream_started") {
      res.set_content(json_line(nlohmann::json{{"started", h.started}}), k_json);
    } else if (what == "status") {
      res.set_content(json_line(status_json(h)), k_json);
    } else if (what == "metrics") {
      const std::string names[] = {name};
      res.set_content(metrics_text(std::span(&h, 1), names), k_prometheus);
    } else {
      answer_snapshot(h, res);
    }
  }

  // Workers, timeouts, headers and socket options.
  void configure() {
    server.new_task_queue = [] { return new httplib::ThreadPool(k_worker_threads); };
    server.set_read_timeout(k_io_timeout_s, 0);
    server.set_write_timeout(k_io_timeout_s, 0);
    server.set_keep_alive_timeout(k_keep_alive_s);
    server.set_payload_max_length(k_max_request_body);
    server.set_default_headers({{"Cache-Control", "no-store"}, {"Access-Control-Allow-Origin", "*"}});
    // httplib's default also sets SO_REUSEPORT, which lets a second server
    // share a port already in use instead of failing: keep SO_REUSEADDR only
    // (a restart may bind while old connections sit in TIME_WAIT).
    server.set_socket_options([](int sock) {
      int yes = 1;
      ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    });
  }

  // The farm page and its JSON (status/farm_page.h).
  void farm_routes() {
    server.Get("/", [](const httplib::Request&, httplib::Response& res) {
      res.set_header("Content-Security-Policy", farm_page_security_policy());
      res.set_header("X-Content-Type-Options", "nosniff");
      res.set_header("Referrer-Policy", "no-referrer");
      const std::string_view page = farm_page_html();
      res.set_content(page.data(), page.size(), k_html);
    });
    server.Get("/farm", [this](const httplib::Request&, httplib::Response& res) {
      res.set_content(json_line(farm_json(config, std::chrono::system_clock::now())), k_json);
    });
  }

  // The endpoints (status_server.h lists them).
  void routes() {
    // BambuP1Streamer's two endpoints, same bodies, so existing Home
    // Assistant sensors keep working.
    server.Get("/stream_started", [this](const httplib::Request&, httplib::Response& res) {
      nlohmann::json body{{"started", aggregate() ? printers().all_started() : health().started}};
      res.set_content(json_line(body), k_json);
    });
    server.Get("/health", [](const httplib::Request&, httplib::Response& res) {
      res.set_content("{\"ok\":true}\n", k_json);
    });
    server.Get("/status", [this](const httplib::Request&, httplib::Response& res) {
      res.set_content(json_line(aggregate() ? printers_json(printers()) : status_json(health())), k_json);
    });
    server.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
      if (config.heartbeat_dir.empty()) {
        res.set_content(metrics_text(health()), k_prometheus);
        return;
      }
      PrinterHealths p = printers();
      res.set_content(metrics_text(p.healths, p.names), k_prometheus);
    });
    server.Get("/snapshot.jpg", [this](const httplib::Request&, httplib::Response& res) {
      if (aggregate()) {
        res.status = 404;
        res.set_content("no snapshot here: ask /printers/NAME/snapshot.jpg\n", k_text);
        return;
      }
      answer_snapshot(health(), res);
    });
    server.Get("/printers", [this](const httplib::Request&, httplib::Response& res) {
      res.set_content(json_line(printers_json(printers())), k_json);
    });
    server.Get(R"(/printers/([^/]+)/(stream_started|status|metrics|snapshot\.jpg))",
               [this](const httplib::Request& req, httplib::Response& res) {
                 answer_printer(req.matches[1].str(), req.matches[2].str(), res);
               });
  }

  // Readable bodies for errors, a logged 500 for an exception, and a debug
  // line per request.
  void error_handlers() {
    // Unknown paths and methods: httplib answers 404 (or 400 for a bad
    // request); give those a readable body.
    server.set_error_handler([](const httplib::Request&, httplib::Response& res) {
      const char* text = res.status == 404 ? "Not Found" : res.status == 400 ? "Bad Request"
                         : res.status == 500 ? "Internal Server Error"
                                             : "Error";
      res.set_content(fmt::format("{}\n", text), "text/plain");
    });
    server.set_exception_handler([this](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
      std::string what = "unknown exception";
      try {
        std::rethrow_exception(ep);
      } catch (const std::exception& e) {
        what = e.what();
      } catch (...) {
      }
      log.error("internal error while answering a request: {}", what);
      res.status = 500;
      res.set_content("Internal Server Error\n", "text/plain");
    });
    server.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
      log.debug("{} {} from {} -> {}", req.method, req.path, req.remote_addr, res.status);
    });
  }
};

StatusServer::StatusServer(StatusConfig config, const Logger& log)
    : impl_(std::make_unique<Impl>(std::move(config), log)) {
  impl_->configure();
  impl_->routes();
  impl_->farm_routes();
  farm_page_security_policy();  // a page without its one <script> and <style> fails here, at start
  impl_->error_handlers();
  const auto& c = impl_->config;
  int port = c.listen_port == 0 ? impl_->server.bind_to_any_port(c.listen_host)
                                : (impl_->server.bind_to_port(c.listen_host, c.listen_port) ? c.listen_port : -1);
  if (port <= 0) {
    throw FatalError(ExitCode::usage, fmt::format("cannot listen on {}: the address is taken or not local",
                                                  format_endpoint(c.listen_host, c.listen_port)));
  }
  impl_->port = static_cast<std::uint16_t>(port);
}

StatusServer::~StatusServer() = default;

std::uint16_t StatusServer::port() const { return impl_->port; }

void StatusServer::run(const StopFlag& stop) {
  httplib::Server& server = impl_->server;
  StopFlag finished;  // raised when listen_after_bind() returns, for whatever reason
  // httplib's stop() only acts once the accept loop runs (is_running()), and
  // must be called only once; so wait for both before calling it.
  std::thread stopper([&] {
    pollfd fds[2] = {{stop.fd(), POLLIN, 0}, {finished.fd(), POLLIN, 0}};
    while (::poll(fds, 2, -1) < 0 && errno == EINTR) {
    }
    while (!finished.stop_requested()) {
      if (server.is_running()) {
        server.stop();
        break;
      }
      finished.wait_until(Clock::now() + std::chrono::milliseconds(5));
    }
  });
  bool ok = server.listen_after_bind();
  finished.request_stop(StopReason::requested);
  stopper.join();
  if (!ok && !stop.stop_requested()) throw std::runtime_error("the status server stopped accepting connections");
}

}  // namespace bambu
