// The program's commands, run by main() after parsing.
#pragma once

#include "config/stream_config.h"
#include "simulator/simulate_config.h"
#include "core/errors.h"
#include "core/stop_flag.h"

namespace bambu {

/// Streams the camera described by `config` (or, with config.demo, the
/// in-process simulator) to stdout until `stop` or a fatal condition.
/// Logs to stderr. Returns the exit code; on failure, the reason was already
/// logged as the first error line. Throws FatalError for set-up failures
/// (an unwritable --heartbeat, an unreadable --ca-file) and
/// std::exception for internal errors.
ExitCode run_stream(StreamConfig config, StopFlag& stop);

/// Runs the printer simulator until `stop` or --frames. Logs
/// "listening on HOST:PORT" first. Returns ExitCode::ok. Throws
/// FatalError(usage) if it cannot listen or write its --record/--cert-out files.
ExitCode run_simulate(const SimulateConfig& config, StopFlag& stop);

}  // namespace bambu
