#include "protocol/models.h"

#include <array>
#include <cctype>
#include <string>

namespace bambu {

namespace {
// Source: ../shared/docs/port6000-protocol.md. H2S is listed under both 093
// and 094 there; 094 is shared with H2D, so either name may show.
constexpr std::array k_models{
    PrinterModel{"039", "A1", CameraProtocol::jpeg},
    PrinterModel{"030", "A1 mini", CameraProtocol::jpeg},
    PrinterModel{"01S", "P1P", CameraProtocol::jpeg},
    PrinterModel{"01P", "P1S", CameraProtocol::jpeg},
    PrinterModel{"00M", "X1/X1C", CameraProtocol::rtsps},
    PrinterModel{"03W", "X1E", CameraProtocol::rtsps},
    PrinterModel{"22E", "P2S", CameraProtocol::rtsps},
    PrinterModel{"094", "H2D/H2S", CameraProtocol::rtsps},
    PrinterModel{"093", "H2S", CameraProtocol::rtsps},
    PrinterModel{"31B", "H2C", CameraProtocol::rtsps},
};
}  // namespace

std::optional<PrinterModel> model_for_serial(std::string_view serial) {
  if (serial.size() < 3) return std::nullopt;
  // Serials are printed in upper case, but people type them as they like.
  std::string prefix(serial.substr(0, 3));
  for (auto& c : prefix) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  for (const auto& model : k_models) {
    if (prefix == model.prefix) return model;
  }
  return std::nullopt;
}

}  // namespace bambu
