// Certificates made in memory for the simulator and the tests, shaped like a
// printer's: subject CN = the printer's serial, no subjectAltName
// (../shared/docs/port6000-protocol.md, "Connection" 2); self-signed, or
// issued by a test CA that stands in for Bambu's.
#pragma once

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <chrono>
#include <memory>
#include <string>

namespace bambu {

/// unique_ptr deleters for OpenSSL's certificate and key handles.
struct X509Deleter {
  void operator()(X509* cert) const { X509_free(cert); }
};
struct EvpPkeyDeleter {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};

/// A private key and the certificate for it.
struct Certificate {
  std::unique_ptr<EVP_PKEY, EvpPkeyDeleter> key;
  std::unique_ptr<X509, X509Deleter> cert;
};

/// Makes an EC P-256 key and a self-signed X.509 v3 certificate with
/// subject and issuer CN = `common_name`, valid from `not_before` to
/// `not_after` (an expired leaf for tests: both in the past). SHA-256
/// signature. Throws std::runtime_error if OpenSSL fails.
Certificate make_self_signed_certificate(const std::string& common_name,
                                         std::chrono::system_clock::time_point not_before,
                                         std::chrono::system_clock::time_point not_after);

/// Makes a self-signed CA certificate (basicConstraints critical CA:TRUE,
/// subject and issuer CN = `common_name`), like the Bambu CA that signs the
/// printers' certificates, for tests of --ca-file. Otherwise as
/// make_self_signed_certificate().
Certificate make_ca_certificate(const std::string& common_name, std::chrono::system_clock::time_point not_before,
                                std::chrono::system_clock::time_point not_after);

/// Makes an EC P-256 key and a leaf certificate with subject CN =
/// `common_name` (a printer's serial), issued and signed (SHA-256) by
/// `issuer` (a make_ca_certificate() result), valid from `not_before` to
/// `not_after`. Throws std::runtime_error if OpenSSL fails.
Certificate make_issued_certificate(const std::string& common_name,
                                    std::chrono::system_clock::time_point not_before,
                                    std::chrono::system_clock::time_point not_after, const Certificate& issuer);

/// Reads a certificate and its private key from PEM files. Throws
/// std::runtime_error naming the file if either cannot be read or parsed, or
/// if the key is not the certificate's.
Certificate load_certificate(const std::string& cert_path, const std::string& key_path);

/// The certificate in PEM form. Throws std::runtime_error on failure.
std::string certificate_pem(X509* cert);

/// The private key in unencrypted PKCS#8 PEM form (for test servers that
/// load key files). Throws std::runtime_error on failure.
std::string private_key_pem(EVP_PKEY* key);

}  // namespace bambu
