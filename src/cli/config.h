// Plain configuration structs filled by the command line and passed down.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "core/log.h"
#include "media/encoder_settings.h"
#include "media/output_format.h"
#include "transport/tls.h"

namespace bambu {

/// --source: which camera protocol to speak.
enum class SourceChoice { automatic, jpeg, rtsps };

/// Options of the stream command (`bambu-stream [options]`).
struct StreamConfig {
  std::string host;         ///< printer IP or name (--host / PRINTER_ADDRESS)
  std::string access_code;  ///< LAN access code; never logged
  std::string serial;       ///< optional printer serial (--serial / PRINTER_SERIAL)
  SourceChoice source = SourceChoice::automatic;
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
  SourceChoice requested_source = SourceChoice::automatic;  ///< --source as given, before resolution
};

/// Faults the simulator can inject into its first session, for tests.
enum class SimulatorFault {
  none,
  drop_mid_frame,  ///< send half a frame, then close the connection
  stall,           ///< stop sending but keep the connection open
  oversize,        ///< send a header whose size exceeds k_max_frame_size
  non_jpeg,        ///< send one payload that is not a JPEG, then carry on
  undecodable,     ///< send one payload that is FF D8 ... FF D9 but no decodable JPEG, then carry on
  undecodable_all, ///< from then on, send only such payloads (a stall for an encoding client)
  resize,          ///< from then on, send frames of half the width and height
  /// Every session: answer the login as Bambu's file-transfer tunnel does on
  /// port 6000 of the RTSPS models (a 24-byte frame with magic 0x0001013F,
  /// protocol/file_tunnel.h), then close. Access code not checked.
  tunnel,
  /// Every session: accept the login, then send nothing until the client
  /// leaves, as a P1S does while both camera slots are taken.
  slots_full,
};

/// Options of `bambu-stream simulate`.
struct SimulateConfig {
  std::string listen_host = "127.0.0.1";
  std::uint16_t listen_port = 6000;  ///< 0: an ephemeral port (printed on stderr)
  std::string access_code;
  std::string serial = "01P00A000000001";  ///< a P1S-style serial; the certificate's CN
  double fps = 1;                 ///< frames per second per session
  std::uint64_t frames = 0;       ///< exit after sending this many in all; 0 = never
  int max_sessions = 2;           ///< concurrent sessions served; more wait for a slot
  int width = 1280;
  int height = 720;
  SimulatorFault fault = SimulatorFault::none;
  std::uint64_t fault_after = 1;  ///< whole frames sent before the fault
  std::string record_path;        ///< every whole JPEG sent is written here (emptied at start)
  std::string cert_out;           ///< write the certificate (PEM) here
  std::string cert_file;          ///< serve this certificate (PEM) instead of a fresh self-signed one
  std::string key_file;           ///< the private key (PEM) of cert_file
  std::string timing_path;        ///< per-frame send times are written here (emptied at start); bench/
  std::string frames_dir;         ///< serve the JPEGs of this folder in name order, looping, instead of a test pattern
  double jitter_ms = 0;           ///< each frame interval varies at random by up to this many ms either way
  LogLevel log_level = LogLevel::info;
};

}  // namespace bambu
