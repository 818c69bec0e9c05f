// `bambu-stream status`: the stream's health from its heartbeat file, once
// (for scripts and Docker's HEALTHCHECK) or served over HTTP (--listen).
#pragma once

#include "status/status_config.h"
#include "core/errors.h"
#include "core/stop_flag.h"

namespace bambu {

/// Without --listen: reads config.heartbeat_path once, prints status_json()
/// (status/stream_health.h) as one line on stdout and returns ExitCode::ok if
/// started, else logs "status: not started: <reason>" on stderr and returns
/// ExitCode::not_started (1). With config.heartbeat_dir: prints
/// printers_json() of every printer there, and exit 0 needs all started.
///
/// With --listen: serves HTTP (status/status_server.h) after logging
/// "status: listening on HOST:PORT ..." (always, even with -q; scripts read
/// the port from it) until `stop`, then returns ExitCode::ok. Throws
/// FatalError(usage) if the address cannot be bound.
ExitCode run_status(const StatusConfig& config, StopFlag& stop);

}  // namespace bambu
