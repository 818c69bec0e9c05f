#include "config/source_choice.h"

#include "core/errors.h"
#include "protocol/models.h"

namespace bambu {

std::string_view to_string(SourceChoice source) {
  switch (source) {
    case SourceChoice::jpeg: return "jpeg";
    case SourceChoice::rtsps: return "rtsps";
    case SourceChoice::automatic: break;
  }
  return "auto";
}

SourceDecision decide_source(const StreamConfig& config) {
  SourceDecision d;
  const auto model = model_for_serial(config.serial);
  if (config.source != SourceChoice::automatic) {
    d.source = config.source;
    d.basis = SourceBasis::given;
  } else if (model) {
    d.source = model->protocol == CameraProtocol::rtsps ? SourceChoice::rtsps : SourceChoice::jpeg;
    d.basis = SourceBasis::serial_model;
  } else if (config.format == OutputFormat::mjpeg) {
    d.source = SourceChoice::jpeg;
    d.basis = SourceBasis::format_mjpeg;
  } else if (config.wallclock_timestamps) {
    d.source = SourceChoice::rtsps;
    d.basis = SourceBasis::wallclock_timestamps;
  }
  return d;
}

void settle_source(StreamConfig& config, SourceChoice source) {
  config.source = source;
  const bool video = is_h264(config.format);
  if (source == SourceChoice::jpeg) {
    // mpegts and h264: the JPEGs are encoded in-process (media/h264_encoder.h).
    if (!video) config.format = OutputFormat::mjpeg;
    if (config.port == 0) config.port = k_jpeg_port;
  } else {
    if (config.format == OutputFormat::mjpeg) {
      throw FatalError(ExitCode::usage,
                       "--format mjpeg: the RTSPS camera (X1, H2, P2S) sends H.264, and bambu-stream never "
                       "re-encodes; use --format mpegts or h264 (go2rtc can transcode with its ffmpeg: source)");
    }
    if (!video) config.format = OutputFormat::mpegts;
    if (config.port == 0) config.port = k_rtsps_port;
  }
  if (config.wallclock_timestamps && source == SourceChoice::jpeg) {
    throw FatalError(ExitCode::usage, "--wallclock-timestamps is for the RTSPS camera; MJPEG has no timestamps");
  }
}

void resolve_source_offline(StreamConfig& config) {
  const SourceDecision decision = decide_source(config);
  config.source_basis = decision.basis;
  if (decision.source != SourceChoice::automatic) {
    settle_source(config, decision.source);
  } else if (config.port != 0) {
    throw FatalError(ExitCode::usage,
                     "--port needs --source jpeg or rtsps (or a --serial): with --source auto the port follows "
                     "from the source");
  }
}

}  // namespace bambu
