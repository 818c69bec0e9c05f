#include "config/source_choice.h"

#include <fmt/format.h>

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

bool printer_report_decides(const StreamConfig& config) {
  if (!config.mqtt || config.demo) return false;
  if (config.source == SourceChoice::rtsps) return true;
  return config.source == SourceChoice::automatic && config.source_basis == SourceBasis::probe &&
         !config.serial.empty();
}

CameraWord camera_word(const PrinterState& state) {
  if (state.rtsp_url == "disable") return CameraWord::liveview_off;
  if (state.rtsp_url && !state.rtsp_url->empty()) return CameraWord::rtsps;
  return state.full_report_seen ? CameraWord::jpeg : CameraWord::none;
}

std::string liveview_off_message(const PrinterState& state) {
  return fmt::format(
      "the printer says \"LAN Only Liveview\" is off (its MQTT report has print.ipcam.rtsp_url = \"{}\"), so "
      "its camera serves no one on the LAN: switch on \"LAN Only Liveview\" on the printer's screen (its network "
      "settings), then start the stream again; the camera was not dialled",
      state.rtsp_url.value_or(""));
}

void settle_source_by_report(StreamConfig& config, CameraWord word) {
  if (config.source != SourceChoice::automatic) return;
  if (word != CameraWord::rtsps && word != CameraWord::jpeg) return;
  settle_source(config, word == CameraWord::rtsps ? SourceChoice::rtsps : SourceChoice::jpeg);
  config.source_basis = SourceBasis::printer_report;
}

}  // namespace bambu
