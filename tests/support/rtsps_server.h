// The RTSPS test server (tests/support/rtsps_server.py, gst-rtsp-server over
// TLS with Digest auth, as the X1's LIVE555 camera) as a child process, for
// the end-to-end tests of the RTSPS source.
#pragma once

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "simulator/certificate.h"
#include "support/child_process.h"
#include "support/e2e.h"
#include "support/temp_dir.h"
#include "support/wait.h"
#include "transport/tls.h"

namespace bambu::test {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

/// The access code the server takes (user bblp).
inline constexpr const char* k_rtsps_code = "27182818";
inline constexpr const char* k_rtsps_server_script = BAMBU_TESTS_DIR "/support/rtsps_server.py";

inline void write_text(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  REQUIRE(out.good());
}

// A certificate and key (PEM files) for the server to present instead of
// its own self-signed one.
struct ServedCertificate {
  fs::path cert, key;
};

// The test RTSPS server: a certificate made here, a port picked by the
// kernel, and restartable on the same port. `extra`: its options
// (rtsps_server.py --help), e.g. --fps, --frames-dir.
class RtspsServer {
 public:
  explicit RtspsServer(std::vector<std::string> extra = {}, std::optional<ServedCertificate> served = std::nullopt)
      : extra_(std::move(extra)) {
    auto now = std::chrono::system_clock::now();
    auto cert = served ? bambu::load_certificate(served->cert.string(), served->key.string())
                       : bambu::make_self_signed_certificate("00M09A350100001", now - 1h, now + 24h);
    write_text(dir_.path / "cert.pem", bambu::certificate_pem(cert.cert.get()));
    write_text(dir_.path / "key.pem", bambu::private_key_pem(cert.key.get()));
    unsigned char md[32];
    unsigned int len = 0;
    REQUIRE(X509_digest(cert.cert.get(), EVP_sha256(), md, &len) == 1);
    bambu::Fingerprint fp{};
    std::copy(md, md + 32, fp.begin());
    fingerprint_ = bambu::format_fingerprint(fp);
    start();
  }

  // Starts the server (again), on the same port after the first time.
  void start() {
    std::vector<std::string> argv = {e2e::k_python, k_rtsps_server_script, "--port", std::to_string(port_),
                                     "--cert", (dir_.path / "cert.pem").string(),
                                     "--key", (dir_.path / "key.pem").string(), "--access-code", k_rtsps_code};
    argv.insert(argv.end(), extra_.begin(), extra_.end());
    if (process_) logs_ += process_->stderr_text();
    process_ = std::make_unique<ChildProcess>(ChildOptions{argv, {}, {}, true});
    // Its whole "listening on" line, or its exit: waiting on cannot help then.
    int port = 0;
    const bool ended = wait_until(
        [&] {
          std::vector<std::uint8_t> out = process_->stdout_bytes();
          std::string text(out.begin(), out.end());
          if (auto pos = text.find("listening on 127.0.0.1:");
              pos != std::string::npos && text.find('\n', pos) != std::string::npos) {
            port = std::stoi(text.substr(pos + 23));
            return true;
          }
          return process_->exited_at().has_value();
        },
        20s, 20ms);
    if (!ended || port == 0) FAIL("the RTSPS test server did not start: " << process_->stderr_text());
    port_ = port;
  }
  // Kills the server like a crash or power loss (SIGKILL; the kernel resets
  // its connections) and waits until it is gone.
  void kill() {
    process_->signal(SIGKILL);
    REQUIRE(process_->wait_for_exit(10s));
  }

  std::string port() const { return std::to_string(port_); }
  const std::string& fingerprint() const { return fingerprint_; }
  // Everything every run of the server logged.
  std::string log() const { return logs_ + process_->stderr_text(); }
  std::size_t count(const std::string& needle) const {
    const std::string text = log();
    std::size_t n = 0;
    for (auto pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + 1)) ++n;
    return n;
  }
  // Waits until `needle` is in the log at least `n` times, or `timeout` has
  // passed; true if it is. The server logs each connection's requests before
  // its "client closed", so waiting for the close makes a count final.
  bool wait_for_count(const std::string& needle, std::size_t n, std::chrono::milliseconds timeout) const {
    return wait_until([&] { return count(needle) >= n; }, timeout, 20ms);
  }

 private:
  TempDir dir_;
  std::vector<std::string> extra_;
  int port_ = 0;
  std::string fingerprint_;
  std::string logs_;
  std::unique_ptr<ChildProcess> process_;
};

}  // namespace bambu::test
