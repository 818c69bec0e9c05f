// MqttBroker: its files, its start on a free port and the TLS check that
// says it is ready.
#include "support/mqtt_broker.h"

#include <openssl/rand.h>
#include <signal.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <vector>

#include "core/stop_flag.h"
#include "simulator/certificate.h"
#include "support/ports.h"
#include "support/wait.h"
#include "transport/tls.h"

namespace bambu::test {

namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

/// Debian's broker and its password tool (package mosquitto).
constexpr const char* k_mosquitto = "/usr/sbin/mosquitto";
constexpr const char* k_mosquitto_passwd = "/usr/bin/mosquitto_passwd";
/// How long one start may take to accept TLS: generous for ASan and qemu.
constexpr auto k_start_limit = 20s;
/// Ports tried before giving up (a free port may be taken meanwhile).
constexpr int k_start_attempts = 3;

void write_text(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  if (!out.good()) throw std::runtime_error("cannot write " + path.string());
}

std::string read_text_or_empty(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

/// 16 random hex digits.
std::string random_password() {
  unsigned char bytes[8];
  if (RAND_bytes(bytes, sizeof bytes) != 1) throw std::runtime_error("RAND_bytes failed");
  static constexpr char k_hex[] = "0123456789abcdef";
  std::string text;
  for (unsigned char b : bytes) {
    text += k_hex[b >> 4];
    text += k_hex[b & 15];
  }
  return text;
}

/// Runs mosquitto_passwd with `arguments`; throws with its stderr if it fails.
void run_passwd(std::vector<std::string> arguments) {
  arguments.insert(arguments.begin(), k_mosquitto_passwd);
  ChildProcess tool(ChildOptions{arguments, {}, {}, false});
  const auto status = tool.wait_for_exit(10s);
  if (status != 0) throw std::runtime_error("mosquitto_passwd failed: " + tool.stderr_text());
}

}  // namespace

MqttBroker::MqttBroker(MqttBrokerOptions options)
    : options_(std::move(options)), printer_password_(random_password()) {
  write_files();
  for (int attempt = 0; attempt < k_start_attempts; ++attempt) {
    if (start()) return;
  }
  throw std::runtime_error("mosquitto did not accept TLS on 127.0.0.1; its log:\n" + log());
}

MqttBroker::~MqttBroker() {
  if (!process_) return;
  try {
    process_->signal(SIGTERM);
    process_->wait_for_exit(5s);
  } catch (...) {
    // The ChildProcess destructor still kills and reaps it by its pid.
  }
}

// The certificate, the password file; mosquitto.conf is written per port.
void MqttBroker::write_files() const {
  const auto now = std::chrono::system_clock::now();
  const Certificate certificate = make_self_signed_certificate(options_.serial, now - 1h, now + 24h);
  write_text(certificate_path(), certificate_pem(certificate.cert.get()));
  write_text(dir_.path / "key.pem", private_key_pem(certificate.key.get()));
  const std::string passwords = (dir_.path / "passwd").string();
  run_passwd({"-c", "-b", passwords, k_user, options_.access_code});
  run_passwd({"-b", passwords, k_printer_user, printer_password_});
}

// One start on a new free port: true once it accepts TLS; false (the
// broker ended) if it exited or never accepted by k_start_limit.
bool MqttBroker::start() {
  port_ = free_port();
  const fs::path& d = dir_.path;
  std::string conf = "# A printer's broker for tests (tests/support/mqtt_broker.h)\n";
  conf += "per_listener_settings false\nallow_anonymous false\n";
  conf += "password_file " + (d / "passwd").string() + "\n";
  conf += "persistence false\n";
  conf += "log_dest file " + (d / "mosquitto.log").string() + "\n";
  conf += "log_type all\nconnection_messages true\nlog_timestamp_format %Y-%m-%dT%H:%M:%S\n";
  // As root, mosquitto would switch to user mosquitto, who cannot read
  // this 0700 folder; "root" keeps it as it is. Ignored when not root.
  if (::geteuid() == 0) conf += "user root\n";
  conf += "listener " + std::to_string(port_) + " 127.0.0.1\n";
  conf += "certfile " + certificate_path().string() + "\nkeyfile " + (d / "key.pem").string() + "\n";
  write_text(d / "mosquitto.conf", conf);

  process_ = std::make_unique<ChildProcess>(
      ChildOptions{{k_mosquitto, "-c", (d / "mosquitto.conf").string()}, {}, {}, false});
  bool ready = false;
  wait_until([&] { return (ready = accepts_tls()) || process_->exited_at().has_value(); }, k_start_limit, 20ms);
  if (ready) return true;
  process_->signal(SIGKILL);
  process_->wait_for_exit(5s);
  return false;
}

// A TLS handshake with the broker, and its certificate checked as a client
// given certificate_path() and the serial would check it.
bool MqttBroker::accepts_tls() const {
  const StopFlag stop;
  const Deadline deadline = Clock::now() + 2s;
  auto connection = tcp_connect("127.0.0.1", static_cast<std::uint16_t>(port_), deadline, stop);
  if (connection.status != ConnectStatus::connected) return false;
  TlsPolicy policy;
  policy.ca_file = certificate_path().string();
  policy.expected_cn = options_.serial;
  const TlsContext context = TlsContext::client(policy);
  TlsStream tls(context, std::move(connection.fd), TlsStream::Role::client);
  if (tls.handshake(deadline, stop).status != TlsStatus::ok) return false;
  const bool trusted = !tls.check_peer(policy).has_value();
  tls.close(deadline);
  return trusted;
}

std::string MqttBroker::log() const {
  return read_text_or_empty(dir_.path / "mosquitto.log") + (process_ ? process_->stderr_text() : "");
}

bool MqttBroker::wait_for_log(const std::string& needle, std::chrono::milliseconds limit) const {
  return wait_until([&] { return log().find(needle) != std::string::npos; }, limit, 10ms);
}

}  // namespace bambu::test
