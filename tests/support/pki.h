// Certificates for end-to-end tests of --ca-file, written as PEM files: a CA
// standing in for Bambu's (the one Bambu Studio ships as
// resources/cert/printer.cer), an unrelated CA, and printer certificates
// (CN = serial) issued by the first CA, one valid and one expired.
#pragma once

#include <chrono>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

#include "simulator/certificate.h"
#include "support/temp_dir.h"

namespace bambu::test {

/// The PEM files, in a temporary directory removed with the object. Throws
/// std::runtime_error if a certificate cannot be made or a file written.
class TestPki {
 public:
  explicit TestPki(const std::string& serial) {
    using namespace std::chrono_literals;
    const auto now = std::chrono::system_clock::now();
    Certificate ca = make_ca_certificate("BBL Test CA", now - 24h, now + 24h * 365);
    Certificate other = make_ca_certificate("Another CA", now - 24h, now + 24h * 365);
    Certificate leaf = make_issued_certificate(serial, now - 1h, now + 24h, ca);
    Certificate expired = make_issued_certificate(serial, now - 48h, now - 24h, ca);
    write(ca_path(), certificate_pem(ca.cert.get()));
    write(other_ca_path(), certificate_pem(other.cert.get()));
    write(cert_path(), certificate_pem(leaf.cert.get()));
    write(key_path(), private_key_pem(leaf.key.get()));
    write(expired_cert_path(), certificate_pem(expired.cert.get()));
    write(expired_key_path(), private_key_pem(expired.key.get()));
  }

  /// The CA that issued both printer certificates (what --ca-file takes).
  std::filesystem::path ca_path() const { return dir_.path / "ca.pem"; }
  /// A CA that issued neither.
  std::filesystem::path other_ca_path() const { return dir_.path / "other-ca.pem"; }
  /// The valid printer certificate (CN = serial) and its key.
  std::filesystem::path cert_path() const { return dir_.path / "printer.pem"; }
  std::filesystem::path key_path() const { return dir_.path / "printer.key"; }
  /// The same printer's certificate, expired a day ago, and its key.
  std::filesystem::path expired_cert_path() const { return dir_.path / "expired.pem"; }
  std::filesystem::path expired_key_path() const { return dir_.path / "expired.key"; }

 private:
  static void write(const std::filesystem::path& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary);
    out << text;
    if (!out.good()) throw std::runtime_error("cannot write " + path.string());
  }
  TempDir dir_{"pki"};
};

}  // namespace bambu::test
