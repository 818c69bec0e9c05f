#include "app/check_command.h"

#include <fmt/format.h>

#include "config/source_choice.h"
#include "core/log.h"
#include "protocol/models.h"
#include "transport/endpoint.h"
#include "transport/tls.h"

namespace bambu {

namespace {

std::string_view protocol_words(CameraProtocol protocol) {
  switch (protocol) {
    case CameraProtocol::jpeg: return "jpeg (TLS, JPEG frames)";
    case CameraProtocol::rtsps: return "rtsps (RTSP over TLS, H.264)";
  }
  return "unknown";
}

CameraProtocol protocol_of(SourceChoice source) {
  return source == SourceChoice::rtsps ? CameraProtocol::rtsps : CameraProtocol::jpeg;
}

// The decision resolve_source_offline() recorded, in the user's terms: each
// basis names only the option that decided it.
std::string describe_source(const StreamConfig& config) {
  const std::string words{protocol_words(protocol_of(config.source))};
  const std::string prefix = config.serial.substr(0, 3);
  switch (config.source_basis) {
    case SourceBasis::given: return fmt::format("source {}, as given", words);
    case SourceBasis::serial_model: {
      const auto model = model_for_serial(config.serial);
      return fmt::format("source auto: serial prefix {} is model {}, so {}", prefix,
                         model ? model->name : "unknown", words);
    }
    case SourceBasis::format_mjpeg: return fmt::format("source auto: --format mjpeg means {}", words);
    case SourceBasis::wallclock_timestamps:
      return fmt::format("source auto: --wallclock-timestamps means {}", words);
    case SourceBasis::printer_report: return fmt::format("source auto: the printer's report says {}", words);
    case SourceBasis::probe: break;
  }
  if (config.serial.empty()) return "source auto: no --serial, so the camera protocol is probed at run time";
  if (config.mqtt) {
    return fmt::format("source auto: serial prefix {} is not a known model, so the printer's MQTT report decides "
                       "at run time (the ports are probed if it has not come within {} s)",
                       prefix, k_report_wait.count());
  }
  return fmt::format("source auto: serial prefix {} is not a known model, so the camera protocol is probed at "
                     "run time",
                     prefix);
}

// What --mqtt adds to the run, for the check's line; empty without it.
std::string describe_mqtt(const StreamConfig& config) {
  if (!config.mqtt) return "";
  std::string words = fmt::format("; the printer's MQTT broker on port {} is read", config.mqtt_port);
  if (config.source == SourceChoice::rtsps) {
    words += fmt::format(" first (up to {} s): if its report says LAN Only Liveview is off, the run ends there "
                         "(exit 4)",
                         k_report_wait.count());
  }
  if (config.chamber_light) {
    words += !config.go2rtc_stream ? "; the chamber light is on while the stream runs"
                                          : "; the chamber light is on while go2rtc's stream has viewers";
  }
  return words;
}

}  // namespace

std::string describe_check(const StreamConfig& config) {
  if (config.demo) return "--demo: the built-in printer simulator, source jpeg";
  // When the protocol is probed at run time, so is the port: name the host only.
  const bool probed = config.source_basis == SourceBasis::probe;
  std::string where = probed || config.port == 0 ? config.host : format_endpoint(config.host, config.port);
  return fmt::format("{}, {}{}", where, describe_source(config), describe_mqtt(config));
}

ExitCode run_check(const StreamConfig& config) {
  Logger log(config.log_level);
  log.add_secret(config.access_code);
  // Loading the CA file is local; building the context contacts nobody.
  if (!config.tls.ca_file.empty()) TlsContext::client(config.tls);
  log.info("check: ok: {}; nothing was contacted", describe_check(config));
  return ExitCode::ok;
}

}  // namespace bambu
