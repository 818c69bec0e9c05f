#include "transport/tls.h"

#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <poll.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <utility>

#include "core/errors.h"

namespace bambu {

namespace {

// The client's read-ahead buffer: four full TLS records (16 KiB of data plus
// up to 2 KiB of record overhead each), a whole 1280x720 frame at once.
constexpr std::size_t k_read_ahead_buffer = 4 * (16 * 1024 + 2048);

// Takes the oldest error from this thread's OpenSSL error queue as text and
// clears the queue, so that a stale error never shows up in a later message.
std::string take_openssl_error(std::string_view fallback) {
  unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return std::string(fallback);
  char text[256];
  ERR_error_string_n(code, text, sizeof text);
  return text;
}

// SHA-256 of `cert`'s DER encoding; nullopt if it cannot be computed.
std::optional<Fingerprint> certificate_fingerprint(X509* cert) {
  if (cert == nullptr) return std::nullopt;
  Fingerprint fp{};
  unsigned int len = 0;
  if (X509_digest(cert, EVP_sha256(), fp.data(), &len) != 1 || len != fp.size()) return std::nullopt;
  return fp;
}

// `cert`'s subject CN as UTF-8 (a printer's serial); empty if none.
std::string certificate_common_name(X509* cert) {
  if (cert == nullptr) return {};
  X509_NAME* name = X509_get_subject_name(cert);
  int index = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
  if (index < 0) return {};
  ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, index));
  unsigned char* utf8 = nullptr;
  int len = ASN1_STRING_to_UTF8(&utf8, data);
  if (len < 0) return {};
  std::string cn(reinterpret_cast<char*>(utf8), static_cast<std::size_t>(len));
  OPENSSL_free(utf8);
  return cn;
}

// The policy's three checks, each one line saying what did not match, or
// nullopt: the leaf's fingerprint, the chain's verification against
// --ca-file (OpenSSL's `verify_error`), the leaf's CN.
std::optional<std::string> fingerprint_refusal(X509* leaf, const TlsPolicy& policy) {
  if (!policy.fingerprint) return std::nullopt;
  auto fp = certificate_fingerprint(leaf);
  if (!fp) return "the printer sent no certificate";
  if (*fp == *policy.fingerprint) return std::nullopt;
  return "the printer's certificate (SHA-256 " + format_fingerprint(*fp) + ") does not match --tls-fingerprint " +
         format_fingerprint(*policy.fingerprint);
}
std::optional<std::string> ca_refusal(long verify_error, const TlsPolicy& policy) {
  if (policy.ca_file.empty() || verify_error == X509_V_OK) return std::nullopt;
  return std::string("the printer's certificate does not verify against --ca-file: ") +
         X509_verify_cert_error_string(verify_error);
}
std::optional<std::string> common_name_refusal(X509* leaf, const TlsPolicy& policy) {
  if (policy.ca_file.empty() || policy.expected_cn.empty()) return std::nullopt;
  std::string cn = certificate_common_name(leaf);
  if (cn == policy.expected_cn) return std::nullopt;
  return "the printer's certificate is for serial '" + cn + "', not --serial '" + policy.expected_cn + "'";
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::optional<Fingerprint> parse_fingerprint(std::string_view text) {
  Fingerprint out{};
  std::size_t digits = 0;
  for (char c : text) {
    if (c == ':' || c == ' ') continue;
    int v = hex_value(c);
    if (v < 0 || digits >= 64) return std::nullopt;
    out[digits / 2] = static_cast<std::uint8_t>(out[digits / 2] << 4 | v);
    ++digits;
  }
  if (digits != 64) return std::nullopt;
  return out;
}

std::string format_fingerprint(const Fingerprint& fingerprint) {
  static constexpr char k_hex[] = "0123456789abcdef";
  std::string text;
  text.reserve(64);
  for (auto byte : fingerprint) {
    text += k_hex[byte >> 4];
    text += k_hex[byte & 0x0F];
  }
  return text;
}

TlsContext TlsContext::client(const TlsPolicy& policy) {
  SSL_CTX* raw = SSL_CTX_new(TLS_client_method());
  if (raw == nullptr) throw std::runtime_error("SSL_CTX_new: " + take_openssl_error("out of memory"));
  TlsContext context(raw);
  SSL_CTX_set_min_proto_version(raw, TLS1_2_VERSION);
  // A printer that drops the socket without close_notify is an ordinary EOF
  // for us (OpenSSL 3 would report SSL_R_UNEXPECTED_EOF_WHILE_READING).
  SSL_CTX_set_options(raw, SSL_OP_IGNORE_UNEXPECTED_EOF);
  // The handshake always completes; check_peer() decides, so that the error
  // names what did not match instead of a bare "certificate verify failed".
  SSL_CTX_set_verify(raw, SSL_VERIFY_NONE, nullptr);
  // Read ahead into a buffer that holds several records: a 1280x720 frame
  // (about 60 KB, four 16 KB records) then takes one or two read(2) calls
  // instead of two per record (a 5-byte header, then the body). Measured
  // by bench/run. Bytes read ahead but not yet decrypted are in
  // pending(), so callers that poll the socket do not wait on them.
  SSL_CTX_set_read_ahead(raw, 1);
  SSL_CTX_set_default_read_buffer_len(raw, k_read_ahead_buffer);
  if (!policy.ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(raw, policy.ca_file.c_str(), nullptr) != 1) {
      throw FatalError(ExitCode::usage, "cannot load --ca-file " + policy.ca_file + ": " +
                                            take_openssl_error("no certificate in it"));
    }
    // Newer printers (P2S, H2C) send only the leaf, signed by an intermediate
    // that Bambu does not publish: let users trust that intermediate or the
    // leaf itself (port6000-protocol.md, "Connection" 2).
    X509_VERIFY_PARAM_set_flags(SSL_CTX_get0_param(raw), X509_V_FLAG_PARTIAL_CHAIN);
  }
  return context;
}

TlsContext TlsContext::server(X509* cert, EVP_PKEY* key) {
  SSL_CTX* raw = SSL_CTX_new(TLS_server_method());
  if (raw == nullptr) throw std::runtime_error("SSL_CTX_new: " + take_openssl_error("out of memory"));
  TlsContext context(raw);
  SSL_CTX_set_min_proto_version(raw, TLS1_2_VERSION);
  SSL_CTX_set_max_proto_version(raw, TLS1_2_VERSION);
  SSL_CTX_set_options(raw, SSL_OP_IGNORE_UNEXPECTED_EOF);
  if (SSL_CTX_use_certificate(raw, cert) != 1 || SSL_CTX_use_PrivateKey(raw, key) != 1 ||
      SSL_CTX_check_private_key(raw) != 1) {
    throw std::runtime_error("simulator certificate: " + take_openssl_error("key does not match"));
  }
  return context;
}

TlsStream::TlsStream(const TlsContext& context, UniqueFd fd, Role role)
    : fd_(std::move(fd)), ssl_(SSL_new(context.get())) {
  if (!ssl_) throw std::runtime_error("SSL_new: " + take_openssl_error("out of memory"));
  SSL_set_fd(ssl_.get(), fd_.get());
  if (role == Role::client) {
    SSL_set_connect_state(ssl_.get());
  } else {
    SSL_set_accept_state(ssl_.get());
  }
}

TlsStream::~TlsStream() { close(Clock::now() + std::chrono::milliseconds(200)); }

TlsResult TlsStream::after_io(int rc, Deadline deadline, const StopFlag& stop, bool& again) {
  again = false;
  TlsResult result;
  int err = SSL_get_error(ssl_.get(), rc);
  int saved_errno = errno;
  short events = 0;
  switch (err) {
    case SSL_ERROR_WANT_READ: events = POLLIN; break;
    case SSL_ERROR_WANT_WRITE: events = POLLOUT; break;
    case SSL_ERROR_ZERO_RETURN:
      result.status = TlsStatus::closed;
      result.detail = "closed by peer";
      return result;
    case SSL_ERROR_SYSCALL:
      broken_ = true;
      // With SSL_OP_IGNORE_UNEXPECTED_EOF a bare EOF is ZERO_RETURN; what is
      // left here is a socket error such as ECONNRESET, or (errno 0) an EOF
      // in the middle of the handshake.
      result.status = saved_errno == 0 || saved_errno == ECONNRESET || saved_errno == EPIPE
                          ? TlsStatus::closed
                          : TlsStatus::failed;
      result.detail = saved_errno != 0 ? std::strerror(saved_errno) : "closed by peer";
      ERR_clear_error();
      return result;
    default:
      broken_ = true;
      result.status = TlsStatus::failed;
      result.detail = take_openssl_error("TLS error");
      return result;
  }
  switch (wait_fd(fd_.get(), events, deadline, stop)) {
    case WaitResult::ready: again = true; return result;
    case WaitResult::timeout:
      result.status = TlsStatus::timed_out;
      result.detail = "no answer";
      return result;
    case WaitResult::stopped:
      result.status = TlsStatus::stopped;
      result.detail = "stopped";
      return result;
  }
  return result;
}

TlsResult TlsStream::handshake(Deadline deadline, const StopFlag& stop) {
  for (;;) {
    if (!fd_) return {TlsStatus::failed, 0, "connection already closed"};
    ERR_clear_error();
    int rc = SSL_do_handshake(ssl_.get());
    if (rc == 1) return {TlsStatus::ok, 0, {}};
    bool again = false;
    TlsResult result = after_io(rc, deadline, stop, again);
    if (!again) return result;
  }
}

std::size_t TlsStream::pending() const {
  if (!ssl_) return 0;
  const int n = SSL_pending(ssl_.get());
  if (n > 0) return static_cast<std::size_t>(n);
  // Read ahead but not yet decrypted: SSL_pending() does not count it.
  return SSL_has_pending(ssl_.get()) == 1 ? 1 : 0;
}

TlsResult TlsStream::read_some(std::span<std::uint8_t> buffer, Deadline deadline, const StopFlag& stop) {
  for (;;) {
    if (!fd_) return {TlsStatus::failed, 0, "connection already closed"};
    ERR_clear_error();
    std::size_t n = 0;
    int rc = SSL_read_ex(ssl_.get(), buffer.data(), buffer.size(), &n);
    if (rc == 1) return {TlsStatus::ok, n, {}};
    bool again = false;
    TlsResult result = after_io(rc, deadline, stop, again);
    if (!again) return result;
  }
}

TlsResult TlsStream::write_all(std::span<const std::uint8_t> data, Deadline deadline, const StopFlag& stop) {
  std::size_t done = 0;
  while (done < data.size()) {
    if (!fd_) return {TlsStatus::failed, done, "connection already closed"};
    ERR_clear_error();
    std::size_t n = 0;
    // Without SSL_MODE_ENABLE_PARTIAL_WRITE this succeeds only when all of
    // the rest is written; a retry after WANT_WRITE repeats the same call.
    int rc = SSL_write_ex(ssl_.get(), data.data() + done, data.size() - done, &n);
    if (rc == 1) {
      done += n;
      continue;
    }
    bool again = false;
    TlsResult result = after_io(rc, deadline, stop, again);
    if (!again) {
      result.bytes = done;
      return result;
    }
  }
  return {TlsStatus::ok, done, {}};
}

void TlsStream::close(Deadline deadline) {
  if (!fd_) return;
  if (ssl_ && !broken_ && SSL_is_init_finished(ssl_.get())) {
    // One close_notify, without waiting for the peer's: the socket closes
    // next either way. A full send buffer gets until `deadline` to drain.
    for (;;) {
      ERR_clear_error();
      int rc = SSL_shutdown(ssl_.get());
      if (rc >= 0) break;
      if (SSL_get_error(ssl_.get(), rc) != SSL_ERROR_WANT_WRITE) break;
      pollfd p{fd_.get(), POLLOUT, 0};
      if (::poll(&p, 1, poll_timeout_ms(deadline)) <= 0) break;
    }
  }
  ERR_clear_error();
  fd_.reset();
}

std::optional<Fingerprint> TlsStream::peer_fingerprint() const {
  return certificate_fingerprint(SSL_get0_peer_certificate(ssl_.get()));
}

std::string TlsStream::peer_common_name() const {
  return certificate_common_name(SSL_get0_peer_certificate(ssl_.get()));
}

std::optional<std::string> TlsStream::check_peer(const TlsPolicy& policy) const {
  if (!policy.fingerprint && policy.ca_file.empty()) return std::nullopt;
  X509* leaf = SSL_get0_peer_certificate(ssl_.get());
  if (leaf == nullptr) return "the printer sent no certificate";
  if (auto refusal = fingerprint_refusal(leaf, policy)) return refusal;
  if (auto refusal = ca_refusal(SSL_get_verify_result(ssl_.get()), policy)) return refusal;
  return common_name_refusal(leaf, policy);
}

// The policy a VerifyingTlsContext enforces, and what its verify callback
// last refused (written on the handshaking thread, read on any).
struct VerifyingTlsContext::Verdict {
  TlsPolicy policy;
  std::mutex mutex;
  std::string refusal;
};

namespace {

// Where a VerifyingTlsContext's SSL_CTX keeps its Verdict (not owned).
int verdict_index() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

// OpenSSL's verify callback: called for each certificate of the chain,
// leaf last (depth 0), with OpenSSL's own verdict in `preverify_ok`
// (against --ca-file, the only trust anchors loaded). Returns 0 to abort
// the handshake, after noting why in the context's Verdict.
int verify_against_policy(int preverify_ok, X509_STORE_CTX* store) noexcept {
  try {
    auto* ssl = static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
    auto* verdict =
        static_cast<VerifyingTlsContext::Verdict*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), verdict_index()));
    if (verdict == nullptr) return 0;
    const TlsPolicy& policy = verdict->policy;
    std::optional<std::string> refusal;
    if (!preverify_ok) refusal = ca_refusal(X509_STORE_CTX_get_error(store), policy);
    if (!refusal && X509_STORE_CTX_get_error_depth(store) == 0) {
      X509* leaf = X509_STORE_CTX_get_current_cert(store);
      refusal = fingerprint_refusal(leaf, policy);
      if (!refusal) refusal = common_name_refusal(leaf, policy);
    }
    if (!refusal) return 1;
    std::lock_guard lock(verdict->mutex);
    verdict->refusal = std::move(*refusal);
    return 0;
  } catch (...) {
    return 0;  // out of memory: refuse rather than accept unchecked
  }
}

}  // namespace

VerifyingTlsContext::VerifyingTlsContext(const TlsPolicy& policy)
    : verdict_(std::make_unique<Verdict>()), context_(TlsContext::client(policy)) {
  verdict_->policy = policy;
  SSL_CTX* raw = context_.get();
  SSL_CTX_set_read_ahead(raw, 0);
  if (verdict_index() < 0 || SSL_CTX_set_ex_data(raw, verdict_index(), verdict_.get()) != 1) {
    throw std::runtime_error("SSL_CTX_set_ex_data: " + take_openssl_error("out of memory"));
  }
  if (policy.fingerprint || !policy.ca_file.empty()) SSL_CTX_set_verify(raw, SSL_VERIFY_PEER, verify_against_policy);
}

VerifyingTlsContext::~VerifyingTlsContext() {
  // A library may still hold a reference to the SSL_CTX: it must no longer
  // find the Verdict freed with this object.
  SSL_CTX_set_ex_data(context_.get(), verdict_index(), nullptr);
}

std::string VerifyingTlsContext::take_refusal() {
  std::lock_guard lock(verdict_->mutex);
  return std::exchange(verdict_->refusal, {});
}

}  // namespace bambu
