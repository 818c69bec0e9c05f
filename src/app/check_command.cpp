#include "app/check_command.h"

#include <fmt/format.h>

#include "core/log.h"
#include "protocol/models.h"
#include "stream/session.h"
#include "stream/source.h"
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

std::string describe_source(const StreamConfig& config) {
  switch (config.requested_source) {
    case SourceChoice::jpeg: return fmt::format("source {}, as given", protocol_words(CameraProtocol::jpeg));
    case SourceChoice::rtsps: return fmt::format("source {}, as given", protocol_words(CameraProtocol::rtsps));
    case SourceChoice::automatic: break;
  }
  if (!model_for_serial(config.serial) && config.source != SourceChoice::automatic) {
    return fmt::format("source auto: --format {} means {}", to_string(config.format),
                       protocol_words(config.source == SourceChoice::rtsps ? CameraProtocol::rtsps
                                                                           : CameraProtocol::jpeg));
  }
  if (config.serial.empty()) {
    return "source auto: no --serial, so the camera protocol is probed at run time";
  }
  std::string prefix = config.serial.substr(0, 3);
  auto model = model_for_serial(config.serial);
  if (!model) {
    return fmt::format("source auto: serial prefix {} is not a known model, so the camera protocol is "
                       "probed at run time",
                       prefix);
  }
  return fmt::format("source auto: serial prefix {} is model {}, so {}", prefix, model->name,
                     protocol_words(model->protocol));
}

}  // namespace

std::string describe_check(const StreamConfig& config) {
  if (config.demo) return "--demo: the built-in printer simulator, source jpeg";
  // When the protocol is probed at run time, so is the port: name the host only.
  bool probed = config.requested_source == SourceChoice::automatic && !model_for_serial(config.serial);
  std::string where = probed || config.port == 0 ? config.host : format_endpoint(config.host, config.port);
  return fmt::format("{}, {}", where, describe_source(config));
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
