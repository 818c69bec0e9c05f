#include "status/status_server.h"

#include <fmt/format.h>

#include <chrono>
#include <optional>
#include <span>
#include <string_view>
#include <unistd.h>

#include "status/farm_page.h"
#include "status/http_listener.h"
#include "status/printers.h"
#include "status/stream_health.h"

namespace bambu {

namespace {

constexpr const char* k_json = "application/json";
constexpr const char* k_prometheus = "text/plain; version=0.0.4";
constexpr const char* k_jpeg = "image/jpeg";
constexpr const char* k_text = "text/plain";
constexpr const char* k_html = "text/html; charset=utf-8";

HttpAnswer content(std::string body, const char* type) { return HttpAnswer{200, std::move(body), type, {}}; }

// Every answer's headers, errors included: a poller always gets a fresh
// reading, and a dashboard card in a browser may ask from another origin.
const HttpHeaders k_common_headers = {{"Cache-Control", "no-store"}, {"Access-Control-Allow-Origin", "*"}};

// "/printers/NAME/WHAT" with WHAT one of the per-printer endpoints: NAME
// and WHAT, else nothing.
std::optional<std::pair<std::string, std::string>> printer_route(std::string_view path) {
  constexpr std::string_view prefix = "/printers/";
  if (!path.starts_with(prefix)) return std::nullopt;
  path.remove_prefix(prefix.size());
  const auto slash = path.find('/');
  if (slash == 0 || slash == std::string_view::npos) return std::nullopt;
  const std::string_view what = path.substr(slash + 1);
  for (std::string_view w : {"stream_started", "status", "metrics", "snapshot.jpg"}) {
    if (what == w) return std::pair{std::string(path.substr(0, slash)), std::string(what)};
  }
  return std::nullopt;
}

}  // namespace

struct StatusServer::Impl {
  StatusConfig config;
  const Logger& log;
  std::optional<HttpListener> listener;

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

  // An error status's body is http_error_body() (http_answer.h), whatever
  // the route says; so the routes below give only the status.
  HttpAnswer answer_snapshot(const StreamHealth& h) const {
    SnapshotAnswer a = read_snapshot(h.heartbeat, config.max_age_s, std::chrono::system_clock::now());
    return HttpAnswer{a.status, std::move(a.body), a.status == 200 ? k_jpeg : k_text, {}};
  }

  // GET /printers/NAME/WHAT: the one-printer endpoints for one printer of --heartbeat-dir.
  HttpAnswer answer_printer(const std::string& name, const std::string& what) const {
    const std::string path = printer_heartbeat_path(config.heartbeat_dir, name);
    if (config.heartbeat_dir.empty() || !valid_printer_name(name) || ::access(path.c_str(), F_OK) != 0) {
      return http_status_answer(404);
    }
    StreamHealth h = health_of(path);
    if (what == "stream_started") return content(json_line(nlohmann::json{{"started", h.started}}), k_json);
    if (what == "status") return content(json_line(status_json(h)), k_json);
    if (what == "metrics") {
      const std::string names[] = {name};
      return content(metrics_text(std::span(&h, 1), names), k_prometheus);
    }
    return answer_snapshot(h);
  }

  // The farm page (status/farm_page.h), with the headers that keep it to
  // its own script and style.
  static HttpAnswer farm_page() {
    const std::string_view page = farm_page_html();
    HttpAnswer a = content(std::string(page), k_html);
    a.headers = {{"Content-Security-Policy", farm_page_security_policy()},
                 {"X-Content-Type-Options", "nosniff"},
                 {"Referrer-Policy", "no-referrer"}};
    return a;
  }

  HttpAnswer metrics() const {
    if (config.heartbeat_dir.empty()) return content(metrics_text(health()), k_prometheus);
    PrinterHealths p = printers();
    return content(metrics_text(p.healths, p.names), k_prometheus);
  }

  // The endpoints (status_server.h lists them), for GET and HEAD; 404 for
  // anything else.
  HttpAnswer route(const HttpRequest& req) const {
    if (req.method != "GET" && req.method != "HEAD") return http_status_answer(404);
    const std::string& p = req.path;
    if (p == "/") return farm_page();
    if (p == "/farm") return content(json_line(farm_json(config, std::chrono::system_clock::now())), k_json);
    // BambuP1Streamer's two endpoints, same bodies, so existing Home
    // Assistant sensors keep working.
    if (p == "/stream_started") {
      nlohmann::json body{{"started", aggregate() ? printers().all_started() : health().started}};
      return content(json_line(body), k_json);
    }
    if (p == "/health") return content("{\"ok\":true}\n", k_json);
    if (p == "/status") {
      return content(json_line(aggregate() ? printers_json(printers()) : status_json(health())), k_json);
    }
    if (p == "/metrics") return metrics();
    if (p == "/snapshot.jpg") return aggregate() ? http_status_answer(404) : answer_snapshot(health());
    if (p == "/printers") return content(json_line(printers_json(printers())), k_json);
    if (auto printer = printer_route(p)) return answer_printer(printer->first, printer->second);
    return http_status_answer(404);
  }
};

StatusServer::StatusServer(StatusConfig config, const Logger& log)
    : impl_(std::make_unique<Impl>(std::move(config), log)) {
  farm_page_security_policy();  // a page without its one <script> and <style> fails here, at start
  const auto& c = impl_->config;
  impl_->listener.emplace(c.listen_host, c.listen_port, k_common_headers,
                          [impl = impl_.get()](const HttpRequest& r) { return impl->route(r); }, log);
}

StatusServer::~StatusServer() = default;

std::uint16_t StatusServer::port() const { return impl_->listener->port(); }

void StatusServer::run(const StopFlag& stop) { impl_->listener->run(stop); }

}  // namespace bambu
