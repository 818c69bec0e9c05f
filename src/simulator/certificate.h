// A self-signed certificate made in memory for the simulator, shaped like a
// printer's: subject CN = the printer's serial, no subjectAltName
// (../shared/docs/port6000-protocol.md, "Connection" 2).
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

/// The certificate in PEM form. Throws std::runtime_error on failure.
std::string certificate_pem(X509* cert);

/// The private key in unencrypted PKCS#8 PEM form (for test servers that
/// load key files). Throws std::runtime_error on failure.
std::string private_key_pem(EVP_PKEY* key);

}  // namespace bambu
