// TLS over a non-blocking socket with OpenSSL 3, for both ends of port 6000:
// the client (our stream) and the server (the simulator). Every call takes a
// deadline and a StopFlag, so no read, write or handshake can hang.
#pragma once

#include <openssl/ssl.h>

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "core/stop_flag.h"
#include "transport/socket.h"

namespace bambu {

/// SHA-256 of a certificate's DER encoding: 32 bytes.
using Fingerprint = std::array<std::uint8_t, 32>;

/// Parses a SHA-256 fingerprint given as 64 hex digits; ':' and spaces
/// between digits are ignored, case does not matter. nullopt if malformed.
std::optional<Fingerprint> parse_fingerprint(std::string_view text);
/// Formats as 64 lower-case hex digits without separators (the form
/// --tls-fingerprint takes and `-v` prints).
std::string format_fingerprint(const Fingerprint& fingerprint);

/// How to check the printer's certificate. All empty: accept any
/// certificate, as every other client does (the printer's certificate is
/// issued by Bambu Lab's private CA; ../shared/docs/port6000-protocol.md).
struct TlsPolicy {
  std::optional<Fingerprint> fingerprint;  ///< pin: the leaf's SHA-256 must equal this
  std::string ca_file;                     ///< PEM bundle the chain must lead to
  std::string expected_cn;                 ///< with ca_file: the leaf's CN must equal this (the serial)
};

/// unique_ptr deleters for OpenSSL handles.
struct SslCtxDeleter {
  void operator()(SSL_CTX* ctx) const { SSL_CTX_free(ctx); }
};
struct SslDeleter {
  void operator()(SSL* ssl) const { SSL_free(ssl); }
};

/// Owns an SSL_CTX configured for one role. Immutable once built; share it
/// between sessions (OpenSSL allows concurrent use of a built SSL_CTX).
class TlsContext {
 public:
  /// A client context: TLS 1.2 or newer (printers speak 1.2), no SNI, and
  /// `policy.ca_file` loaded as trust anchors (partial chains allowed, so an
  /// intermediate or the leaf itself may be pinned as "CA"). Verification
  /// never fails the handshake; TlsStream::check_peer() reports it, so the
  /// error can say exactly what did not match.
  /// Throws FatalError(usage) if the CA file cannot be read.
  static TlsContext client(const TlsPolicy& policy);
  /// A server context presenting `cert` with `key` (the simulator). TLS 1.2
  /// only, like the printers. Does not take ownership (it takes references).
  /// Throws std::runtime_error if OpenSSL refuses the pair.
  static TlsContext server(X509* cert, EVP_PKEY* key);

  /// The OpenSSL context; ownership stays here.
  SSL_CTX* get() const { return ctx_.get(); }

 private:
  explicit TlsContext(SSL_CTX* ctx) : ctx_(ctx) {}
  std::unique_ptr<SSL_CTX, SslCtxDeleter> ctx_;
};

/// A client SSL_CTX for a library that runs the TLS handshake and its first
/// writes itself (libmosquitto), so that TlsStream::check_peer() has no
/// moment to run between them: here the policy is enforced inside the
/// handshake, by its verify callback. A certificate that fails it aborts
/// the handshake with an alert, so the peer never receives a byte of
/// application data (for MQTT: no CONNECT, no access code). An empty policy
/// accepts any certificate, as TlsContext::client does. TLS 1.2 or newer,
/// no read-ahead (libmosquitto polls the socket, and bytes read ahead
/// would wait there unseen), partial chains with --ca-file.
class VerifyingTlsContext {
 public:
  /// Throws FatalError(usage) if `policy.ca_file` cannot be read, and
  /// std::runtime_error if OpenSSL cannot allocate the context.
  explicit VerifyingTlsContext(const TlsPolicy& policy);
  ~VerifyingTlsContext();
  VerifyingTlsContext(const VerifyingTlsContext&) = delete;
  VerifyingTlsContext& operator=(const VerifyingTlsContext&) = delete;

  /// The OpenSSL context; ownership stays here. Every SSL made from it
  /// (and a library's reference to it) must be freed before this object:
  /// its verify callback reads the policy kept here.
  SSL_CTX* get() const { return context_.get(); }
  /// Why the handshake refused the last certificate, in check_peer()'s
  /// words ("the printer's certificate is for serial 'X', not --serial
  /// 'Y'"); empty if none was refused since the last call, which clears it.
  /// Thread-safe.
  std::string take_refusal();

  struct Verdict;  // the policy and the last refusal; tls.cpp

 private:
  std::unique_ptr<Verdict> verdict_;
  TlsContext context_;
};

/// The outcome of a TLS operation.
enum class TlsStatus {
  ok,         ///< done; `bytes` says how many (reads)
  closed,     ///< the peer closed the connection (close_notify or plain EOF)
  timed_out,  ///< the deadline passed first
  stopped,    ///< the StopFlag was raised first
  failed,     ///< a TLS or socket error; `detail` says which
};

/// A TLS operation's status, bytes transferred and, on failure, OpenSSL's
/// or the kernel's reason in words.
struct TlsResult {
  TlsStatus status = TlsStatus::failed;
  std::size_t bytes = 0;
  std::string detail;
};

/// One TLS connection over a non-blocking socket it owns.
/// Not thread-safe: one thread drives it.
class TlsStream {
 public:
  enum class Role { client, server };

  /// Takes ownership of connected socket `fd`. Throws std::runtime_error if
  /// OpenSSL cannot allocate the connection.
  TlsStream(const TlsContext& context, UniqueFd fd, Role role);
  /// Closes with close() and a 200 ms deadline if still open.
  ~TlsStream();
  TlsStream(const TlsStream&) = delete;
  TlsStream& operator=(const TlsStream&) = delete;

  /// Runs the handshake until done, `deadline`, or stop.
  TlsResult handshake(Deadline deadline, const StopFlag& stop);
  /// Reads at least one and at most buffer.size() bytes of application data.
  TlsResult read_some(std::span<std::uint8_t> buffer, Deadline deadline, const StopFlag& stop);
  /// Writes all of `data` or reports why not.
  TlsResult write_all(std::span<const std::uint8_t> data, Deadline deadline, const StopFlag& stop);
  /// Sends close_notify (if the connection is still healthy; without waiting
  /// for the peer's) and closes the socket, so the printer frees the camera
  /// slot at once instead of after its ~20 minute keepalive. Idempotent.
  void close(Deadline deadline);
  /// Closes the socket without close_notify, as a crashing or unplugged peer
  /// would (the simulator's "drop" faults). Idempotent.
  void abort() { fd_.reset(); }
  /// False once close() or abort() has run.
  bool is_open() const { return static_cast<bool>(fd_); }
  /// The socket, for poll(2) by a caller that multiplexes (the RTSPS relay);
  /// -1 once closed. Ownership stays here.
  int fd() const { return fd_.get(); }
  /// Bytes of application data already decrypted and buffered inside
  /// OpenSSL: readable now although the socket may not poll readable. At
  /// least 1 when a client has read ahead bytes it has not decrypted yet
  /// (they may hold only part of a record: read_some() may then wait).
  std::size_t pending() const;

  /// SHA-256 of the peer's leaf certificate; nullopt if it sent none.
  std::optional<Fingerprint> peer_fingerprint() const;
  /// The peer leaf's subject CN (a printer's serial); empty if none.
  std::string peer_common_name() const;
  /// Checks the peer certificate against `policy` after the handshake.
  /// Returns nullopt if it passes, else one line saying what did not match.
  std::optional<std::string> check_peer(const TlsPolicy& policy) const;

 private:
  // Maps an OpenSSL result `rc` of an I/O call to a status, waiting for the
  // socket when OpenSSL wants to read or write; `again` is set to retry.
  TlsResult after_io(int rc, Deadline deadline, const StopFlag& stop, bool& again);

  UniqueFd fd_;
  std::unique_ptr<SSL, SslDeleter> ssl_;
  bool broken_ = false;  // after a fatal error, SSL_shutdown must not be called
};

}  // namespace bambu
