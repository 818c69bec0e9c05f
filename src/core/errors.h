// Exit codes and the one exception type that set-up code throws.
//
// Error policy (one per layer): set-up failures (bad options, unreadable
// files, a TLS context that cannot be built) throw FatalError, which main()
// maps to its exit code. Expected stream conditions (EOF, timeouts, a closed
// session) are returned values and never exceptions. Nothing throws through a
// C callback.
#pragma once

#include <stdexcept>
#include <string>

namespace bambu {

/// The process exit codes, documented in --help and docs/options.md.
enum class ExitCode : int {
  ok = 0,                 ///< stopped cleanly (SIGTERM/SIGINT/SIGHUP, stdout closed, --frames reached)
  internal = 1,           ///< internal error (a bug or resource exhaustion)
  /// `status` only: the stream is not up (not streaming, stale, missing or
  /// unreadable heartbeat). Shares 1 with `internal`, because Docker's
  /// HEALTHCHECK reads 1 as "unhealthy" (and reserves 2).
  not_started = 1,
  usage = 2,              ///< bad usage or configuration
  access_code_rejected = 3,  ///< the printer closed the session after the login without a frame
  unreachable = 4,        ///< printer unreachable, or no first frame within --start-timeout
  stream_lost = 5,        ///< stream lost and not regained within --retry-for
  tls_verification = 6,   ///< the printer's certificate failed --tls-fingerprint or --ca-file
};

/// A failure that ends the program with `code`; what() is the one-line reason
/// printed first on stderr (never containing the access code).
class FatalError : public std::runtime_error {
 public:
  FatalError(ExitCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  ExitCode code() const { return code_; }

 private:
  ExitCode code_;
};

}  // namespace bambu
