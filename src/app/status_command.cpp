#include "app/status_command.h"

#include <unistd.h>

#include <fmt/format.h>

#include <chrono>

#include "core/log.h"
#include "status/printers.h"
#include "status/status_server.h"
#include "status/stream_health.h"
#include "transport/endpoint.h"

namespace bambu {

ExitCode run_status(const StatusConfig& config, StopFlag& stop) {
  Logger log(config.log_level, "status: ");
  if (config.serve) {
    StatusServer server(config, log);
    log.always(fmt::format("listening on {} (heartbeat {}{}, max age {} s)",
                           format_endpoint(config.listen_host, server.port()),
                           config.heartbeat_path.empty() ? "none" : config.heartbeat_path,
                           config.heartbeat_dir.empty() ? "" : ", printers in " + config.heartbeat_dir,
                           config.max_age_s));
    server.run(stop);
    log.debug("stopped: {}", to_string(stop.reason()));
    return ExitCode::ok;
  }
  const auto now = std::chrono::system_clock::now();
  bool started = false;
  std::string line, reason;
  if (!config.heartbeat_dir.empty()) {
    PrinterHealths printers = read_printer_healths(config.heartbeat_dir, config.max_age_s, now);
    started = printers.all_started();
    line = json_line(printers_json(printers));
    reason = printers.reason;
  } else {
    StreamHealth health = read_stream_health(config.heartbeat_path, config.max_age_s, now);
    started = health.started;
    line = json_line(status_json(health));
    reason = health.reason;
  }
  // A closed stdout changes nothing: the exit code carries the verdict.
  write_all_fd(STDOUT_FILENO, line.data(), line.size());
  if (!started) {
    log.info("not started: {}", reason);
    return ExitCode::not_started;
  }
  return ExitCode::ok;
}

}  // namespace bambu
