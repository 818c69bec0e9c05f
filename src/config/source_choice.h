// Choosing the camera protocol from what the user gave, before anything is
// contacted: --source, --serial, --format and --wallclock-timestamps. Pure:
// no I/O and no logging. The port probe that settles what is left is
// stream/source_probe.h; --check reports the same decision.
#pragma once

#include <cstdint>
#include <string_view>

#include "config/stream_config.h"

namespace bambu {

/// Port of the P1/A1 JPEG camera (../shared/docs/port6000-protocol.md).
inline constexpr std::uint16_t k_jpeg_port = 6000;
/// Port of the X1/H2/P2S RTSPS camera (../shared/docs/rtsps.md).
inline constexpr std::uint16_t k_rtsps_port = 322;

/// "jpeg", "rtsps" or "auto".
std::string_view to_string(SourceChoice source);

/// The source that a run would use, decided offline, and why.
struct SourceDecision {
  SourceChoice source = SourceChoice::automatic;  ///< automatic only with basis probe
  SourceBasis basis = SourceBasis::probe;
};

/// Decides from `config` as the user gave it (config.source, serial,
/// format, wallclock_timestamps), in this order: an explicit --source; the
/// serial's prefix (protocol/models.h); --format mjpeg (mpegts and h264 fit
/// both cameras: remuxed for rtsps, encoded for jpeg);
/// --wallclock-timestamps; else a probe. Never throws.
SourceDecision decide_source(const StreamConfig& config);

/// Applies decide_source() to `config`: records the basis in
/// config.source_basis and, for a decided source, checks and fills in the
/// rest with settle_source(). Leaves config.source automatic and port 0 when
/// only a probe can tell. Throws FatalError(usage) on a conflict (--port
/// without a decided source; see settle_source()).
void resolve_source_offline(StreamConfig& config);

/// For a known source: sets config.source and fills in the default
/// --format (mjpeg for jpeg, mpegts for rtsps) and port (6000 or 322).
/// Throws FatalError(usage) if --format does not fit the source (mjpeg from
/// rtsps: we never re-encode the camera's H.264) or --wallclock-timestamps
/// is given for the jpeg camera (MJPEG has no timestamps).
void settle_source(StreamConfig& config, SourceChoice source);

}  // namespace bambu
