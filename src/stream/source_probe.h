// The port probe of --source auto: for a printer whose source nothing the
// user gave can tell (config/source_choice.h), a quick TCP connect to both
// camera ports.
#pragma once

#include <cstdint>
#include <string_view>

#include "config/source_choice.h"
#include "config/stream_config.h"
#include "core/log.h"
#include "core/stop_flag.h"

namespace bambu {

/// The ports probe_source() tries; tests use their own.
struct ProbePorts {
  std::uint16_t rtsps = k_rtsps_port;
  std::uint16_t jpeg = k_jpeg_port;
};

/// For --source auto with nothing else to go on: connects to TCP port 322,
/// then 6000, of config.host, each for at most `per_port` (closing at once;
/// no TLS, so no camera slot is used), and settles on the first that
/// accepts (config.port becomes that port). An accepted port 322 is watched
/// for up to 250 ms more: a printer with "LAN Only Liveview" off closes it at
/// once, and then 6000 is tried (where such a printer has its file-transfer
/// tunnel, which CameraClient recognises). Logs the choice at -v, and that a
/// given --serial has an unknown prefix. Returns false with `error` set (one
/// line) if neither port serves: the name does not resolve, 322 closes at
/// once (naming the liveview setting), or neither answers (naming both);
/// false with `error` empty if stopped.
bool probe_source(StreamConfig& config, Clock::duration per_port, const StopFlag& stop, const Logger& log,
                  std::string& error, ProbePorts ports = {});

}  // namespace bambu
