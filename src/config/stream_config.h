// StreamConfig: the options of the stream command, a plain value that the
// command line fills and the camera sources read. Below `stream` so that the
// sources need nothing from the CLI.
#pragma once

#include <cstdint>
#include <string>

#include "config/go2rtc_stream_url.h"
#include "core/log.h"
#include "media/encoder_settings.h"
#include "media/output_format.h"
#include "transport/tls.h"

namespace bambu {

/// Port of every Bambu printer's MQTT broker: MQTT 3.1.1 over TLS, with the
/// camera's certificate (https://github.com/Doridian/OpenBambuAPI/blob/main/mqtt.md,
/// "Local MQTT server").
inline constexpr std::uint16_t k_mqtt_port = 8883;

/// --source: which camera protocol to speak.
enum class SourceChoice { automatic, jpeg, rtsps };

/// What a source decision rests on. Before a run contacts the printer these
/// are the only grounds; a `probe` decision is completed at run time.
enum class SourceBasis {
  given,                 ///< --source jpeg or rtsps
  serial_model,          ///< --source auto, and the serial's prefix names a model
  format_mjpeg,          ///< --source auto, --format mjpeg: only the port-6000 camera sends JPEGs
  wallclock_timestamps,  ///< --source auto, --wallclock-timestamps: an RTSPS-only option
  probe,                 ///< --source auto and nothing else to go on: the ports are probed at run time
  printer_report,        ///< --source auto, --mqtt: the printer's report said (at run time, instead of a probe)
};

/// Options of the stream command (`bambu-stream [options]`).
struct StreamConfig {
  std::string host;         ///< printer IP or name (--host / PRINTER_ADDRESS)
  std::string access_code;  ///< LAN access code; never logged
  std::string serial;       ///< optional printer serial (--serial / PRINTER_SERIAL)
  SourceChoice source = SourceChoice::automatic;  ///< --source as given, then as resolved
  std::uint16_t port = 0;  ///< 0: the source's default (6000 for jpeg, 322 for rtsps)
  OutputFormat format = OutputFormat::automatic;
  bool wallclock_timestamps = false;  ///< rtsps: stamp packets on arrival (--wallclock-timestamps)
  EncoderSettings encoder;            ///< jpeg source with --format mpegts or h264: the H.264 encoder
  bool empty_pes = true;              ///< mpegts: an empty PES after each access unit (off: --no-empty-pes)
  std::string timing_path;            ///< testing: one line per unit written to stdout (--timing)
  std::uint64_t frames = 0;       ///< stop after this many frames; 0 = never
  std::string heartbeat_path;     ///< empty: no heartbeat file
  std::string snapshot_path;      ///< --snapshot: the newest picture as a JPEG file, absolute; empty: none
  double snapshot_interval_s = 1; ///< --snapshot-interval: seconds between snapshots, at least
  double start_timeout_s = 15;    ///< seconds to the first frame
  double stall_timeout_s = 20;    ///< seconds without a frame before reconnecting
  double retry_for_s = 120;       ///< seconds of reconnecting before exit 5
  double backoff_initial_s = 1;   ///< first wait before a reconnect
  double backoff_max_s = 15;      ///< longest wait between reconnects
  TlsPolicy tls;                  ///< --tls-fingerprint, --ca-file (+ --serial)
  LogLevel log_level = LogLevel::info;
  bool demo = false;  ///< stream from the in-process simulator
  bool check = false;  ///< --check: validate and report, never connect (app/check_command.h)
  /// --mqtt: read the printer's state from its MQTT broker (needs serial);
  /// set by --chamber-light too.
  bool mqtt = false;
  std::uint16_t mqtt_port = k_mqtt_port;  ///< --mqtt-port: the broker's TCP port
  /// --chamber-light: the chamber light on while the stream runs (or while
  /// go2rtc_stream has viewers), its previous state back after.
  bool chamber_light = false;
  /// --go2rtc-stream: go2rtc's API answer for this stream
  /// (http://HOST:PORT/api/streams?src=NAME), whose consumers, go2rtc's
  /// preload left out, decide when the chamber light is on; empty: the
  /// stream's own life decides.
  std::optional<Go2rtcStreamUrl> go2rtc_stream;
  /// What the offline source decision rested on (config/source_choice.h: resolve_source_offline).
  SourceBasis source_basis = SourceBasis::given;
};

}  // namespace bambu
