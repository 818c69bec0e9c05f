#include "app/status_command.h"

#include <unistd.h>

#include <fmt/format.h>

#include <chrono>

#include "core/log.h"
#include "status/status_server.h"
#include "status/stream_health.h"
#include "stream/camera_client.h"

namespace bambu {

ExitCode run_status(const StatusConfig& config, StopFlag& stop) {
  Logger log(config.log_level, "status: ");
  if (config.serve) {
    StatusServer server(config, log);
    log.always(fmt::format("listening on {} (heartbeat {}, max age {} s)",
                           format_endpoint(config.listen_host, server.port()), config.heartbeat_path,
                           config.max_age_s));
    server.run(stop);
    log.debug("stopped: {}", to_string(stop.reason()));
    return ExitCode::ok;
  }
  StreamHealth health =
      read_stream_health(config.heartbeat_path, config.max_age_s, std::chrono::system_clock::now());
  std::string line = json_line(status_json(health));
  // A closed stdout changes nothing: the exit code carries the verdict.
  write_all_fd(STDOUT_FILENO, line.data(), line.size());
  if (!health.started) {
    log.info("not started: {}", health.reason);
    return ExitCode::not_started;
  }
  return ExitCode::ok;
}

}  // namespace bambu
