// Which camera protocol a printer uses, from its serial number's prefix.
#pragma once

#include <optional>
#include <string_view>

namespace bambu {

/// The two camera protocols of Bambu Lab printers.
enum class CameraProtocol {
  jpeg,   ///< TLS on port 6000, JPEG frames (P1P, P1S, A1, A1 mini)
  rtsps,  ///< RTSP over TLS on port 322, H.264 (X1, X1E, P2S, H2 family)
};

/// One row of the serial-prefix table.
struct PrinterModel {
  std::string_view prefix;  ///< first three characters of the serial
  std::string_view name;    ///< e.g. "P1S"
  CameraProtocol protocol;
};

/// Looks up a serial's prefix in the table from
/// ../shared/docs/port6000-protocol.md ("Which printers use it"). The prefix
/// is a hint, not proof (the printer's MQTT field print.ipcam.liveview.local
/// is authoritative). Returns nullopt for an unknown or too short serial.
std::optional<PrinterModel> model_for_serial(std::string_view serial);

}  // namespace bambu
