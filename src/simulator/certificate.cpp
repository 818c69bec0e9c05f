#include "simulator/certificate.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include <stdexcept>

namespace bambu {

namespace {
[[noreturn]] void openssl_failure(const char* what) {
  char text[256] = "unknown error";
  if (unsigned long code = ERR_get_error(); code != 0) ERR_error_string_n(code, text, sizeof text);
  ERR_clear_error();
  throw std::runtime_error(std::string("simulator certificate: ") + what + ": " + text);
}
}  // namespace

namespace {

// The one maker behind the public functions: `issuer` null means self-signed.
Certificate make_certificate(const std::string& common_name, std::chrono::system_clock::time_point not_before,
                             std::chrono::system_clock::time_point not_after, const Certificate* issuer,
                             bool is_ca) {
  Certificate result;
  // P-256: generated in well under a millisecond, so every simulator start
  // can have a fresh key.
  result.key.reset(EVP_EC_gen("P-256"));
  if (!result.key) openssl_failure("EVP_EC_gen");
  result.cert.reset(X509_new());
  if (!result.cert) openssl_failure("X509_new");
  X509* cert = result.cert.get();
  X509_set_version(cert, X509_VERSION_3);

  unsigned char serial_bytes[16];
  if (RAND_bytes(serial_bytes, sizeof serial_bytes) != 1) openssl_failure("RAND_bytes");
  serial_bytes[0] &= 0x7F;  // a positive serial number
  std::unique_ptr<BIGNUM, decltype(&BN_free)> bn(BN_bin2bn(serial_bytes, sizeof serial_bytes, nullptr), BN_free);
  if (!bn || BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert)) == nullptr) openssl_failure("serial");

  using std::chrono::system_clock;
  auto now = system_clock::now();
  auto offset = [now](system_clock::time_point t) {
    return static_cast<long>(std::chrono::duration_cast<std::chrono::seconds>(t - now).count());
  };
  if (X509_time_adj_ex(X509_getm_notBefore(cert), 0, offset(not_before), nullptr) == nullptr ||
      X509_time_adj_ex(X509_getm_notAfter(cert), 0, offset(not_after), nullptr) == nullptr) {
    openssl_failure("validity");
  }
  X509_NAME* name = X509_get_subject_name(cert);
  if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                 reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1, 0) != 1) {
    openssl_failure("subject");
  }
  X509_set_issuer_name(cert, issuer ? X509_get_subject_name(issuer->cert.get()) : name);
  if (X509_set_pubkey(cert, result.key.get()) != 1) openssl_failure("X509_set_pubkey");
  if (is_ca) {
    // Without basicConstraints CA:TRUE, OpenSSL refuses to treat a v3
    // certificate as an issuer when verifying a chain.
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
    std::unique_ptr<X509_EXTENSION, decltype(&X509_EXTENSION_free)> ext(
        X509V3_EXT_conf_nid(nullptr, &ctx, NID_basic_constraints, "critical,CA:TRUE"), X509_EXTENSION_free);
    if (!ext || X509_add_ext(cert, ext.get(), -1) != 1) openssl_failure("basicConstraints");
  }
  EVP_PKEY* signer = issuer ? issuer->key.get() : result.key.get();
  if (X509_sign(cert, signer, EVP_sha256()) == 0) openssl_failure("X509_sign");
  return result;
}

}  // namespace

Certificate make_self_signed_certificate(const std::string& common_name,
                                         std::chrono::system_clock::time_point not_before,
                                         std::chrono::system_clock::time_point not_after) {
  return make_certificate(common_name, not_before, not_after, nullptr, false);
}

Certificate make_ca_certificate(const std::string& common_name, std::chrono::system_clock::time_point not_before,
                                std::chrono::system_clock::time_point not_after) {
  return make_certificate(common_name, not_before, not_after, nullptr, true);
}

Certificate make_issued_certificate(const std::string& common_name,
                                    std::chrono::system_clock::time_point not_before,
                                    std::chrono::system_clock::time_point not_after, const Certificate& issuer) {
  return make_certificate(common_name, not_before, not_after, &issuer, false);
}

namespace {

// The contents of a memory BIO filled by `write`, or openssl_failure(`what`).
template <typename Write>
std::string to_pem(const char* what, Write write) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  if (!bio || write(bio.get()) != 1) openssl_failure(what);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(len));
}

}  // namespace

Certificate load_certificate(const std::string& cert_path, const std::string& key_path) {
  auto open = [](const std::string& path) {
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_file(path.c_str(), "r"), BIO_free);
    if (!bio) openssl_failure(("cannot open " + path).c_str());
    return bio;
  };
  Certificate result;
  result.cert.reset(PEM_read_bio_X509(open(cert_path).get(), nullptr, nullptr, nullptr));
  if (!result.cert) openssl_failure(("no PEM certificate in " + cert_path).c_str());
  result.key.reset(PEM_read_bio_PrivateKey(open(key_path).get(), nullptr, nullptr, nullptr));
  if (!result.key) openssl_failure(("no PEM private key in " + key_path).c_str());
  if (X509_check_private_key(result.cert.get(), result.key.get()) != 1) {
    openssl_failure((key_path + " is not the key of " + cert_path).c_str());
  }
  return result;
}

std::string certificate_pem(X509* cert) {
  return to_pem("PEM_write_bio_X509", [cert](BIO* bio) { return PEM_write_bio_X509(bio, cert); });
}

std::string private_key_pem(EVP_PKEY* key) {
  return to_pem("PEM_write_bio_PrivateKey", [key](BIO* bio) {
    return PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  });
}

}  // namespace bambu
