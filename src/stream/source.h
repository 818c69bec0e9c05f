// Choosing the camera protocol: --source, --format, --serial and, for
// --source auto without a known serial, a quick TCP probe of both ports.
#pragma once

#include <cstdint>
#include <string_view>

#include "cli/config.h"
#include "core/log.h"
#include "core/stop_flag.h"

namespace bambu {

/// Port of the P1/A1 JPEG camera (../shared/docs/port6000-protocol.md).
inline constexpr std::uint16_t k_jpeg_port = 6000;
/// Port of the X1/H2/P2S RTSPS camera (../shared/docs/rtsps.md).
inline constexpr std::uint16_t k_rtsps_port = 322;

/// "jpeg", "rtsps" or "auto".
std::string_view to_string(SourceChoice source);
/// "mjpeg", "mpegts", "h264" or "auto".
std::string_view to_string(OutputFormat format);

/// Resolves what can be resolved without the network: an explicit --source;
/// for auto, the serial's prefix (protocol/models.h), else an explicit
/// --format mjpeg (only the jpeg camera sends JPEGs; mpegts and h264 fit
/// both: remuxed for rtsps, encoded for jpeg). Leaves
/// SourceChoice::automatic when only a probe can tell. Then checks and fills
/// in the rest with settle_source(). Throws FatalError(usage) on a conflict.
void resolve_source_offline(StreamConfig& config);

/// For a known source: fills in the default --format (mjpeg for jpeg,
/// mpegts for rtsps) and port (6000 or 322). Throws FatalError(usage) if
/// --format does not fit the source (mjpeg from rtsps: we never re-encode
/// the camera's H.264).
void settle_source(StreamConfig& config, SourceChoice source);

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
