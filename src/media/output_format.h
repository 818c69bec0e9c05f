// OutputFormat: what bambu-stream writes on stdout. A media-layer type, so
// that the remuxer and the encoder need nothing from the command line.
#pragma once

#include <string_view>

namespace bambu {

/// --format: what goes to stdout.
enum class OutputFormat {
  automatic,  ///< the source's own: mjpeg for jpeg, mpegts for rtsps
  mjpeg,      ///< raw JPEG frames back to back (port 6000 only)
  mpegts,     ///< MPEG-TS carrying H.264: the RTSPS camera's, or the port-6000 JPEGs encoded
  h264,       ///< Annex-B H.264 elementary stream, from either camera
};

/// "mjpeg", "mpegts", "h264" or "auto": the --format word, and the heartbeat's `format`.
std::string_view to_string(OutputFormat format);

/// True for the H.264 formats (mpegts, h264).
constexpr bool is_h264(OutputFormat format) {
  return format == OutputFormat::mpegts || format == OutputFormat::h264;
}

}  // namespace bambu
