#include "media/output_format.h"

namespace bambu {

std::string_view to_string(OutputFormat format) {
  switch (format) {
    case OutputFormat::mjpeg: return "mjpeg";
    case OutputFormat::mpegts: return "mpegts";
    case OutputFormat::h264: return "h264";
    case OutputFormat::automatic: break;
  }
  return "auto";
}

}  // namespace bambu
