// MqttBroker: Debian's mosquitto standing in for a printer's MQTT broker, for
// the tests of an MQTT client. A printer's broker listens on port 8883 with
// TLS, presents the same certificate as its camera (subject CN = the serial,
// no subjectAltName: ../shared/docs/port6000-protocol.md, "Connection"),
// takes user `bblp` with the access code as password and nobody anonymous,
// and carries JSON on device/SERIAL/report (printer to client) and
// device/SERIAL/request (client to printer) (Doridian/OpenBambuAPI mqtt.md,
// "Local MQTT server" and "Topics").
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>

#include "support/child_process.h"
#include "support/temp_dir.h"

namespace bambu::test {

/// What the broker serves.
struct MqttBrokerOptions {
  /// The certificate's CN and the topics' middle part: a P1S's serial prefix.
  std::string serial = "01P00A000000001";
  /// The password of user bblp.
  std::string access_code = "12345678";
};

/// One mosquitto process on 127.0.0.1, a free port, TLS only, with its own
/// folder (/tmp/bambu-mqtt-XXXXXX): a self-signed EC certificate with
/// CN = serial (src/simulator/certificate.h) and its key, a password file
/// (mosquitto_passwd) with `bblp` and a second user for the fake printer,
/// mosquitto.conf (allow_anonymous false, persistence false, every log type
/// into mosquitto.log). The constructor returns once a TLS handshake with
/// the broker succeeds and its certificate passes the CA-and-CN check
/// against certificate_path(); it tries up to three ports (another process
/// may take a free one first) and throws std::runtime_error, with the log,
/// if the broker never accepts. The destructor ends it by its pid (SIGTERM,
/// then SIGKILL after 5 s) and removes the folder. Not copyable or movable.
class MqttBroker {
 public:
  /// The printer's user name for local clients.
  static constexpr const char* k_user = "bblp";
  /// The fake printer's own user (tests/support/fake_printer.py).
  static constexpr const char* k_printer_user = "printer";

  explicit MqttBroker(MqttBrokerOptions options = {});
  ~MqttBroker();
  MqttBroker(const MqttBroker&) = delete;
  MqttBroker& operator=(const MqttBroker&) = delete;

  /// The TLS listener's port on 127.0.0.1.
  int port() const { return port_; }
  /// The broker's certificate (PEM): the CA file a client trusts (no
  /// hostname matches it; its CN is the serial, as on a printer).
  std::filesystem::path certificate_path() const { return dir_.path / "cert.pem"; }
  const std::string& serial() const { return options_.serial; }
  const std::string& access_code() const { return options_.access_code; }
  /// The password of k_printer_user (random per broker).
  const std::string& printer_password() const { return printer_password_; }
  /// device/SERIAL/report and device/SERIAL/request.
  std::string report_topic() const { return "device/" + options_.serial + "/report"; }
  std::string request_topic() const { return "device/" + options_.serial + "/request"; }
  /// mosquitto.log so far, then whatever it wrote to stderr (errors before
  /// its log file was open).
  std::string log() const;
  /// Waits until log() contains `needle`, at most `limit`; true if it does.
  bool wait_for_log(const std::string& needle, std::chrono::milliseconds limit) const;
  /// The broker's process id, while it runs.
  pid_t pid() const { return process_->pid(); }
  /// The broker's own folder (a test may put files of its own there).
  const std::filesystem::path& dir() const { return dir_.path; }

 private:
  void write_files() const;
  bool start();
  bool accepts_tls() const;

  MqttBrokerOptions options_;
  TempDir dir_{"mqtt"};
  std::string printer_password_;
  int port_ = 0;
  std::unique_ptr<ChildProcess> process_;
};

}  // namespace bambu::test
