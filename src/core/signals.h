// Process-wide signal set-up: SIGPIPE ignored, SIGTERM/SIGINT turned into a StopFlag.
#pragma once

#include <memory>

#include "core/stop_flag.h"

namespace bambu {

/// Ignores SIGPIPE (so a closed stdout shows up as EPIPE from write(2)),
/// blocks SIGTERM, SIGINT and SIGHUP in the calling thread (and so in every
/// thread created after it), and starts a detached thread that waits for
/// them with sigwait(2) and calls stop->request_stop(StopReason::signal).
/// Call once, from main(), before any other thread starts.
/// Throws std::system_error if the thread or the signal mask cannot be set.
void stop_on_signals(std::shared_ptr<StopFlag> stop);

}  // namespace bambu
