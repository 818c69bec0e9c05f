// ChildProcess: starts a program as a child process for integration tests,
// captures its stdout and stderr, and lets a test signal it and wait for it.
//
// Rules this follows: a child is only ever signalled by its own process id,
// and only while it has not been reaped (so a recycled pid is never hit); no
// shell is involved unless the test runs one itself; the destructor always
// kills and reaps a child that is still running, so no test leaves one behind.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace bambu::test {

/// What to start and how to connect its standard streams.
struct ChildOptions {
  /// The command line. argv[0] is the program: a path containing '/' is used
  /// as is; a bare name is looked up in the test process's PATH
  /// (posix_spawnp). Must not be empty.
  std::vector<std::string> argv;
  /// Variables added to, or replacing those of, the test process's
  /// environment. Applied after env_unset, so a name in both ends up set.
  std::vector<std::pair<std::string, std::string>> env_set;
  /// Names of variables removed from the inherited environment.
  std::vector<std::string> env_unset;
  /// True: stdout goes into a pipe that is captured. False: stdout is
  /// /dev/null and nothing is captured (stdout_size() stays 0).
  bool capture_stdout = true;
  /// If >= 0 (and capture_stdout is false): the child's stdout is a dup of
  /// this descriptor, which stays owned by the caller, e.g. the write end of
  /// a pipe the test reads at its own pace (a slow or stalled reader).
  int stdout_fd = -1;
  /// At most this many bytes of stdout are kept (the first ones); bytes after
  /// that are still read from the pipe and counted by stdout_size(), but
  /// discarded. stderr is always kept in full.
  std::size_t stdout_limit = std::size_t{64} << 20;
};

/// One running (or finished) child process with captured output.
///
/// The child's stdin is /dev/null; its stdout (if captured) and stderr are
/// pipes drained continuously by one background thread, so the child never
/// blocks on a full pipe. The same thread reaps the child as soon as it exits
/// (via a pidfd, or by polling waitpid every 2 ms where pidfds are missing),
/// so exited_at() is accurate even if wait_for_exit() is called late.
/// The child starts with default signal dispositions and an empty signal
/// mask, and inherits no file descriptors other than 0, 1 and 2.
///
/// Only the child itself is ever signalled, never its own children: a test
/// that runs a shell script should `exec` the script's last, long-running
/// command, or the destructor's SIGKILL leaves that command orphaned.
///
/// All member functions are thread-safe. Move-only; a moved-from object may
/// only be destroyed or assigned to.
class ChildProcess {
 public:
  /// Starts the child described by `options`. Throws std::system_error if
  /// argv is empty (std::errc::invalid_argument), if pipes or the reader
  /// thread cannot be created, or if posix_spawn fails (including the program
  /// not being found or not being executable, e.g. ENOENT or EACCES).
  explicit ChildProcess(ChildOptions options);
  /// If the child has not been reaped yet: sends it SIGKILL (by its pid) and
  /// reaps it. Then stops and joins the reader thread and closes every
  /// descriptor. Never throws; returns promptly even if a grandchild still
  /// holds the output pipes open.
  ~ChildProcess();
  ChildProcess(ChildProcess&&) noexcept;
  ChildProcess& operator=(ChildProcess&&) noexcept;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  /// The child's process id (valid for the lifetime of this object; after
  /// the child has been reaped the kernel may reuse it for someone else).
  pid_t pid() const;

  /// Sends signal `sig` to the child with kill(2), but only if it has not
  /// been reaped yet (otherwise does nothing). Throws std::system_error if
  /// kill fails (e.g. EINVAL for an invalid signal number).
  void signal(int sig);

  /// Waits up to `timeout` for the child to exit. Returns its exit status
  /// (0..255) if it exited, 128 + the signal number if a signal killed it,
  /// or -1 if its status could not be collected (only possible when the test
  /// process ignores SIGCHLD). Returns std::nullopt on timeout; the child is
  /// then left running. Once the child has exited, it also waits (for up to
  /// 500 ms more, regardless of `timeout`) until stdout and stderr reach
  /// end-of-file, so output written before the exit is all captured when this
  /// returns (unless a grandchild keeps the pipes open: then it returns after
  /// those 500 ms with what was captured so far). May be called again
  /// after the child exited; returns the same value at once.
  std::optional<int> wait_for_exit(std::chrono::milliseconds timeout);

  /// When the child was started (just before posix_spawn), on steady_clock.
  std::chrono::steady_clock::time_point started_at() const;
  /// When the child's exit was observed by the background reaper (within
  /// about a millisecond of the actual exit), or std::nullopt while it runs.
  std::optional<std::chrono::steady_clock::time_point> exited_at() const;

  /// A copy of the stdout bytes kept so far (at most stdout_limit bytes).
  std::vector<std::uint8_t> stdout_bytes() const;
  /// The number of stdout bytes read so far, including any discarded beyond
  /// stdout_limit.
  std::size_t stdout_size() const;
  /// A copy of everything the child wrote to stderr so far (raw bytes).
  std::string stderr_text() const;

  /// Blocks until stderr contains `needle` (exact substring) or `timeout`
  /// passes. On a match, returns the line containing the first occurrence,
  /// without its '\n'. If the match is on a line whose '\n' has not arrived
  /// yet, waits for it (or for end-of-file); if the timeout comes first,
  /// returns that line as far as it got. Returns std::nullopt if there is no
  /// match by the timeout or when stderr is closed without one.
  std::optional<std::string> wait_for_stderr(std::string_view needle,
                                             std::chrono::milliseconds timeout) const;

  /// Blocks until stdout_size() >= n, or stdout is closed (end-of-file, not
  /// captured, or close_stdout()), or `timeout` passes. Returns true if
  /// stdout_size() >= n.
  bool wait_for_stdout(std::size_t n, std::chrono::milliseconds timeout) const;

  /// Closes our read end of the child's stdout pipe now, like a consumer that
  /// goes away: the child's next write to stdout then fails with EPIPE (or it
  /// gets SIGPIPE). Returns once the pipe is closed; bytes captured before
  /// are kept. Does nothing if stdout is already closed or not captured.
  void close_stdout();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace bambu::test
