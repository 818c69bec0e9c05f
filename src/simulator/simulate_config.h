// SimulateConfig: the options of `bambu-stream simulate`, a plain value that
// the command line fills and the simulator reads.
#pragma once

#include <cstdint>
#include <string>

#include "core/log.h"

namespace bambu {

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
