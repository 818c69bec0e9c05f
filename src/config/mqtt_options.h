// MqttOptions: how to reach a printer's MQTT broker, a plain value that the
// command line fills and the MQTT client (src/mqtt) reads.
#pragma once

#include <cstdint>
#include <string>

#include "config/stream_config.h"
#include "transport/tls.h"

namespace bambu {

/// Options of one MQTT session with a printer.
struct MqttOptions {
  std::string host;                 ///< printer IP or name, as for the camera
  std::uint16_t port = k_mqtt_port;  ///< the broker's TCP port
  /// The printer's serial: the topics are device/SERIAL/report and
  /// device/SERIAL/request. Required: the broker publishes nothing else.
  std::string serial;
  /// The LAN access code, the broker's password for user "bblp"; never logged.
  std::string access_code;
  /// The certificate policy, the camera's own: --ca-file with the serial as
  /// expected CN, --tls-fingerprint, or none (any certificate).
  TlsPolicy tls;
  /// Seconds of quiet before a PINGREQ; a broker that does not answer it
  /// within as long again is taken as gone. At least 5 (libmosquitto's floor).
  int keepalive_s = 30;
};

/// The MQTT options of the printer a stream's options name: the same host,
/// serial, access code and certificate policy; --mqtt-port.
inline MqttOptions mqtt_options_for(const StreamConfig& stream) {
  MqttOptions options;
  options.port = stream.mqtt_port;
  options.host = stream.host;
  options.serial = stream.serial;
  options.access_code = stream.access_code;
  options.tls = stream.tls;
  return options;
}

}  // namespace bambu
