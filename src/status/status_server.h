// The status HTTP server of `bambu-stream status --listen`: the heartbeat
// file as JSON and Prometheus metrics, for Home Assistant, Docker and
// monitoring. Compatible with BambuP1Streamer's /stream_started and /health.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "status/status_config.h"
#include "core/log.h"
#include "core/stop_flag.h"

namespace bambu {

/// Serves, for GET (and HEAD):
///   /                the farm page, farm_page_html()            text/html; charset=utf-8
///                    (with farm_page_security_policy() as its Content-Security-Policy)
///   /farm            farm_json(): what the page shows           application/json
///   /stream_started  {"started":true|false}            application/json
///   /health          {"ok":true} (the server is up)     application/json
///   /status          status_json() of the heartbeat     application/json
///   /metrics         metrics_text() of the heartbeat    text/plain; version=0.0.4
///                    (with --heartbeat-dir: of every printer there, labelled printer="NAME")
///   /snapshot.jpg    read_snapshot() of the file the heartbeat names: image/jpeg,
///                    404 while there is none, 503 when older than --max-age
/// With --heartbeat-dir (status/printers.h), also:
///   /printers        printers_json() of every NAME.json there  application/json
///   /printers/NAME/stream_started, /status, /metrics, /snapshot.jpg: as above,
///                    for DIR/NAME.json; 404 if there is no such file
/// Without --heartbeat, /stream_started and /status speak for all printers
/// (started only while every one streams) and /snapshot.jpg is 404.
/// Any other path or method: 404. An error answer's body is one line of
/// text (http_error_body()). Every JSON answer is 200 except those 404s, so a poller always gets the JSON; the verdict is in its fields. The
/// heartbeat file is read again for every request (nothing is cached), so
/// any number of servers may watch one file. Bodies end with '\n' and carry
/// `Cache-Control: no-store` and `Access-Control-Allow-Origin: *` (a
/// dashboard card in a browser may poll it; nothing here is secret, and the
/// server never has the access code).
///
/// Served by an HttpListener (status/http_listener.h) on the thread that
/// calls run(): a request's headers must arrive within 5 s, a kept-alive
/// connection may idle 1 s, at most 512 connections are open, so slow or
/// silent clients neither hold up other answers nor delay shutdown.
class StatusServer {
 public:
  /// Binds config.listen_host:config.listen_port (port 0: a free port).
  /// Throws FatalError(usage) if the address cannot be bound, naming it.
  StatusServer(StatusConfig config, const Logger& log);
  ~StatusServer();
  StatusServer(const StatusServer&) = delete;
  StatusServer& operator=(const StatusServer&) = delete;

  /// The port bound (the chosen one when port 0 was asked for).
  std::uint16_t port() const;

  /// Serves until `stop` is requested, then stops accepting, lets requests
  /// in progress finish (within the timeouts) and returns. Blocking; call
  /// once. Throws std::runtime_error if the server fails while serving.
  void run(const StopFlag& stop);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace bambu
