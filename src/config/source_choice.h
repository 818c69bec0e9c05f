// Choosing the camera protocol from what the user gave, before anything is
// contacted: --source, --serial, --format and --wallclock-timestamps. Pure:
// no I/O and no logging. The port probe that settles what is left is
// stream/source_probe.h; --check reports the same decision.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "config/stream_config.h"
#include "pipeline/printer_state.h"

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

/// With --mqtt, the longest wait for the printer's full report before the
/// camera is dialled, where that report can change the run.
inline constexpr std::chrono::seconds k_report_wait{3};

/// Whether the printer's MQTT report can change this run (with --mqtt): an
/// RTSPS camera, whose `print.ipcam.rtsp_url` says whether LAN Only
/// Liveview is on, or --source auto with a serial of no known model, where
/// `rtsp_url` tells the source. Elsewhere (a P1/A1 by its serial, --demo)
/// the camera is dialled at once.
bool printer_report_decides(const StreamConfig& config);

/// What the printer's report says about its camera.
enum class CameraWord {
  none,          ///< no full report yet: nothing to go on
  liveview_off,  ///< rtsp_url is "disable": LAN Only Liveview is off
  rtsps,         ///< rtsp_url holds a URL: the RTSPS camera (its address is ignored: firmware puts a stale one there)
  jpeg,          ///< a full report without rtsp_url: the port-6000 camera
};

/// The camera word of `state` (pipeline/printer_state.h): rtsp_url "disable"
/// (Doridian/OpenBambuAPI#68; Home Assistant's Bambu Lab integration raises
/// a repair issue from the same field, greghesp/ha-bambulab#1911),
/// any other non-empty rtsp_url, or a full report without one.
CameraWord camera_word(const PrinterState& state);

/// The first stderr line of a run that ends because the printer's report
/// says LAN Only Liveview is off: the setting in the printer's own words,
/// the report quoted, and how to switch it on.
std::string liveview_off_message(const PrinterState& state);

/// Applies the printer's word to a run whose source --source auto left to a
/// probe (printer_report_decides()): rtsps or jpeg settle the source
/// (basis printer_report); none and liveview_off change nothing. Throws
/// as settle_source().
void settle_source_by_report(StreamConfig& config, CameraWord word);

}  // namespace bambu
