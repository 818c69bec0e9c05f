// ChildProcess implementation: posix_spawn, one background thread that drains
// the output pipes and reaps the child, and a mutex + condition variable that
// waiters block on.
#include "support/child_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <mutex>
#include <system_error>
#include <thread>

extern char** environ;

namespace bambu::test {

namespace {

using Clock = std::chrono::steady_clock;

/// How long wait_for_exit() waits for end-of-file on the pipes after the
/// child has exited.
constexpr std::chrono::milliseconds kDrainGrace{500};
/// waitpid polling interval when pidfds are not available.
constexpr int kReapPollMs = 2;
/// Bytes read from a pipe at once (the default pipe capacity).
constexpr std::size_t kReadChunk = 64 * 1024;

[[noreturn]] void throw_errno(int err, const char* what) {
  throw std::system_error(err, std::generic_category(), what);
}

/// Closes `fd` if it is open and sets it to -1.
void close_fd(int& fd) noexcept {
  if (fd >= 0) {
    ::close(fd);
    fd = -1;
  }
}

/// Closes a descriptor on scope exit unless released.
struct FdGuard {
  int fd = -1;
  FdGuard() = default;
  FdGuard(const FdGuard&) = delete;
  FdGuard& operator=(const FdGuard&) = delete;
  ~FdGuard() { close_fd(fd); }
};

/// Exit code as the shell reports it: status, or 128 + signal.
int decode_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

/// Opens a pidfd for `pid`, or returns -1 if the kernel or libc lacks them.
int open_pidfd(pid_t pid) noexcept {
#ifdef SYS_pidfd_open
  long fd = ::syscall(SYS_pidfd_open, pid, 0);
  if (fd >= 0) return static_cast<int>(fd);
#else
  (void)pid;
#endif
  return -1;
}

/// The environment for the child: `environ` minus env_unset and minus the
/// names in env_set, then env_set appended.
std::vector<std::string> build_env(const ChildOptions& options) {
  auto removed = [&](std::string_view entry) {
    std::string_view name = entry.substr(0, entry.find('='));
    for (const auto& u : options.env_unset)
      if (name == u) return true;
    for (const auto& kv : options.env_set)
      if (name == kv.first) return true;
    return false;
  };
  std::vector<std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e)
    if (!removed(*e)) env.emplace_back(*e);
  for (const auto& kv : options.env_set) env.push_back(kv.first + "=" + kv.second);
  return env;
}

/// RAII for posix_spawn_file_actions_t.
struct FileActions {
  posix_spawn_file_actions_t fa;
  FileActions() {
    if (int rc = posix_spawn_file_actions_init(&fa); rc != 0)
      throw_errno(rc, "posix_spawn_file_actions_init");
  }
  FileActions(const FileActions&) = delete;
  FileActions& operator=(const FileActions&) = delete;
  ~FileActions() { posix_spawn_file_actions_destroy(&fa); }
  void check(int rc, const char* what) {
    if (rc != 0) throw_errno(rc, what);
  }
};

/// RAII for posix_spawnattr_t.
struct SpawnAttr {
  posix_spawnattr_t attr;
  SpawnAttr() {
    if (int rc = posix_spawnattr_init(&attr); rc != 0) throw_errno(rc, "posix_spawnattr_init");
  }
  SpawnAttr(const SpawnAttr&) = delete;
  SpawnAttr& operator=(const SpawnAttr&) = delete;
  ~SpawnAttr() { posix_spawnattr_destroy(&attr); }
};

}  // namespace

struct ChildProcess::Impl {
  // Set once by start(), then read-only.
  pid_t pid = -1;
  std::size_t stdout_limit = 0;
  Clock::time_point started;
  int pidfd = -1;
  int wake_r = -1;  // the reader thread polls this; written to by wake()
  int wake_w = -1;
  // Owned by the reader thread once it runs (before that, by start()).
  int out_r = -1;
  int err_r = -1;

  mutable std::mutex mu;
  mutable std::condition_variable cv;
  // Guarded by mu.
  bool reaped = false;
  int exit_code = -1;
  std::optional<Clock::time_point> exited;
  std::vector<std::uint8_t> out_data;
  std::size_t out_total = 0;
  bool out_closed = false;
  std::string err_data;
  bool err_closed = false;
  bool close_out_requested = false;
  bool stop_requested = false;

  std::thread reader;

  Impl() = default;
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;
  ~Impl();

  void start(ChildOptions options);
  void reader_main() noexcept;
  void wake() const noexcept;
  /// Reader thread only: waitpid(pid, WNOHANG); records the exit if any.
  void try_reap() noexcept;
  /// Reader thread only: reads once from `fd` into stdout or stderr; closes
  /// it on end-of-file or error.
  void read_from(int& fd, bool is_stdout, std::vector<char>& buf) noexcept;
  void record_exit(int status_code) noexcept;
};

void ChildProcess::Impl::start(ChildOptions options) {
  if (options.argv.empty())
    throw std::system_error(std::make_error_code(std::errc::invalid_argument),
                            "ChildProcess: argv is empty");
  stdout_limit = options.stdout_limit;

  int fds[2];
  if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) throw_errno(errno, "pipe2 (wake)");
  wake_r = fds[0];
  wake_w = fds[1];

  FdGuard out_w;
  FdGuard err_w;
  if (options.capture_stdout) {
    if (::pipe2(fds, O_CLOEXEC) != 0) throw_errno(errno, "pipe2 (stdout)");
    out_r = fds[0];
    out_w.fd = fds[1];
    ::fcntl(out_r, F_SETFL, O_NONBLOCK);  // our end only; the child's stays blocking
  } else {
    out_closed = true;
  }
  if (::pipe2(fds, O_CLOEXEC) != 0) throw_errno(errno, "pipe2 (stderr)");
  err_r = fds[0];
  err_w.fd = fds[1];
  ::fcntl(err_r, F_SETFL, O_NONBLOCK);

  FileActions fa;
  fa.check(posix_spawn_file_actions_addopen(&fa.fa, 0, "/dev/null", O_RDONLY, 0),
           "posix_spawn_file_actions_addopen (stdin)");
  if (options.capture_stdout) {
    fa.check(posix_spawn_file_actions_adddup2(&fa.fa, out_w.fd, 1),
             "posix_spawn_file_actions_adddup2 (stdout)");
  } else if (options.stdout_fd >= 0) {
    fa.check(posix_spawn_file_actions_adddup2(&fa.fa, options.stdout_fd, 1),
             "posix_spawn_file_actions_adddup2 (stdout_fd)");
  } else {
    fa.check(posix_spawn_file_actions_addopen(&fa.fa, 1, "/dev/null", O_WRONLY, 0),
             "posix_spawn_file_actions_addopen (stdout)");
  }
  fa.check(posix_spawn_file_actions_adddup2(&fa.fa, err_w.fd, 2),
           "posix_spawn_file_actions_adddup2 (stderr)");
#if defined(__GLIBC__) && defined(__GLIBC_PREREQ)
#if __GLIBC_PREREQ(2, 34)
  // Belt and braces: descriptors someone else opened without O_CLOEXEC
  // (another test's sockets, the test runner's) do not leak into the child.
  fa.check(posix_spawn_file_actions_addclosefrom_np(&fa.fa, 3),
           "posix_spawn_file_actions_addclosefrom_np");
#endif
#endif

  SpawnAttr sa;
  sigset_t none;
  sigset_t all;
  sigemptyset(&none);
  sigfillset(&all);
  sigdelset(&all, SIGKILL);
  sigdelset(&all, SIGSTOP);
  // Default dispositions for everything (e.g. SIGPIPE even if the test
  // process ignores it) and nothing blocked.
  if (int rc = posix_spawnattr_setsigmask(&sa.attr, &none); rc != 0)
    throw_errno(rc, "posix_spawnattr_setsigmask");
  if (int rc = posix_spawnattr_setsigdefault(&sa.attr, &all); rc != 0)
    throw_errno(rc, "posix_spawnattr_setsigdefault");
  if (int rc = posix_spawnattr_setflags(&sa.attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
      rc != 0)
    throw_errno(rc, "posix_spawnattr_setflags");

  std::vector<char*> argv;
  argv.reserve(options.argv.size() + 1);
  for (auto& a : options.argv) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_strings = build_env(options);
  std::vector<char*> envp;
  envp.reserve(env_strings.size() + 1);
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);

  started = Clock::now();
  pid_t child = -1;
  if (int rc = ::posix_spawnp(&child, argv[0], &fa.fa, &sa.attr, argv.data(), envp.data());
      rc != 0) {
    throw std::system_error(rc, std::generic_category(),
                            "posix_spawnp " + options.argv[0]);
  }
  pid = child;
  // The write ends now belong to the child only; close ours (FdGuard) so the
  // reader sees end-of-file when the child (and any grandchild) is done.
  close_fd(out_w.fd);
  close_fd(err_w.fd);

  // The pid cannot be reused before we reap it, so this pidfd is the child's.
  pidfd = open_pidfd(pid);

  // If this throws, ~Impl kills and reaps the child.
  reader = std::thread([this] { reader_main(); });
}

void ChildProcess::Impl::wake() const noexcept {
  const char byte = 'w';
  // Non-blocking: a full pipe means a wake-up is pending anyway.
  [[maybe_unused]] ssize_t n = ::write(wake_w, &byte, 1);
}

void ChildProcess::Impl::record_exit(int status_code) noexcept {
  std::lock_guard<std::mutex> lock(mu);
  reaped = true;
  exit_code = status_code;
  exited = Clock::now();
  cv.notify_all();
}

void ChildProcess::Impl::try_reap() noexcept {
  int status = 0;
  pid_t r;
  do {
    r = ::waitpid(pid, &status, WNOHANG);
  } while (r < 0 && errno == EINTR);
  if (r == pid) {
    record_exit(decode_status(status));
  } else if (r < 0) {
    // ECHILD: someone made children auto-reaped (SIGCHLD ignored). The
    // child is gone; its status is unknown.
    record_exit(-1);
  }
}

void ChildProcess::Impl::read_from(int& fd, bool is_stdout, std::vector<char>& buf) noexcept {
  ssize_t n = ::read(fd, buf.data(), buf.size());
  if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) return;
  std::lock_guard<std::mutex> lock(mu);
  if (n > 0) {
    const auto got = static_cast<std::size_t>(n);
    try {
      if (is_stdout) {
        std::size_t room = stdout_limit > out_data.size() ? stdout_limit - out_data.size() : 0;
        std::size_t keep = std::min(got, room);
        out_data.insert(out_data.end(), buf.data(), buf.data() + keep);
        out_total += got;
      } else {
        err_data.append(buf.data(), got);
      }
    } catch (...) {
      // Out of memory: keep counting stdout, drop the bytes.
      if (is_stdout) out_total += got;
    }
  } else {
    // End-of-file, or an error that will not go away: stop reading it.
    close_fd(fd);
    (is_stdout ? out_closed : err_closed) = true;
  }
  cv.notify_all();
}

void ChildProcess::Impl::reader_main() noexcept {
  std::vector<char> buf;
  try {
    buf.resize(kReadChunk);
  } catch (...) {
    buf.resize(0);
  }
  if (buf.empty()) {
    // Cannot even allocate a buffer: behave as if both streams closed.
    std::lock_guard<std::mutex> lock(mu);
    close_fd(out_r);
    close_fd(err_r);
    out_closed = err_closed = true;
    cv.notify_all();
  }
  for (;;) {
    bool want_close_out = false;
    bool is_reaped = false;
    {
      std::lock_guard<std::mutex> lock(mu);
      if (stop_requested) break;
      want_close_out = close_out_requested && out_r >= 0;
      is_reaped = reaped;
    }
    // Done once the child is reaped and both streams reached end-of-file.
    if (is_reaped && out_r < 0 && err_r < 0) return;
    if (want_close_out) {
      std::lock_guard<std::mutex> lock(mu);
      close_fd(out_r);
      out_closed = true;
      cv.notify_all();
    }

    pollfd pfds[4];
    nfds_t n = 0;
    auto add = [&](int fd) -> int {
      if (fd < 0) return -1;
      pfds[n] = pollfd{fd, POLLIN, 0};
      return static_cast<int>(n++);
    };
    const int i_wake = add(wake_r);
    const int i_out = add(out_r);
    const int i_err = add(err_r);
    const int i_pid = is_reaped ? -1 : add(pidfd);
    const int timeout = (!is_reaped && pidfd < 0) ? kReapPollMs : -1;

    int rc = ::poll(pfds, n, timeout);
    if (rc < 0) {
      if (errno == EINTR) continue;
      // Should not happen; avoid spinning.
      std::this_thread::sleep_for(std::chrono::milliseconds(kReapPollMs));
      continue;
    }
    auto ready = [&](int i) { return i >= 0 && pfds[i].revents != 0; };
    if (ready(i_wake)) {
      char drain[64];
      while (::read(wake_r, drain, sizeof drain) > 0) {
      }
    }
    if (ready(i_out)) read_from(out_r, true, buf);
    if (ready(i_err)) read_from(err_r, false, buf);
    if (!is_reaped && (pidfd < 0 || ready(i_pid))) try_reap();
  }
  // Stopped by the destructor: whatever is still open is abandoned.
  std::lock_guard<std::mutex> lock(mu);
  close_fd(out_r);
  close_fd(err_r);
  out_closed = err_closed = true;
  cv.notify_all();
}

ChildProcess::Impl::~Impl() {
  try {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (pid > 0 && !reaped) ::kill(pid, SIGKILL);
      stop_requested = true;
    }
    if (wake_w >= 0) wake();
    if (reader.joinable()) reader.join();
    if (pid > 0 && !reaped) {
      int status = 0;
      pid_t r;
      do {
        r = ::waitpid(pid, &status, 0);
      } while (r < 0 && errno == EINTR);
      reaped = true;
    }
  } catch (...) {
    // Never throw from a destructor (std::mutex::lock or join could in theory).
  }
  close_fd(out_r);
  close_fd(err_r);
  close_fd(pidfd);
  close_fd(wake_r);
  close_fd(wake_w);
}

ChildProcess::ChildProcess(ChildOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->start(std::move(options));
}

ChildProcess::~ChildProcess() = default;
ChildProcess::ChildProcess(ChildProcess&&) noexcept = default;
ChildProcess& ChildProcess::operator=(ChildProcess&&) noexcept = default;

pid_t ChildProcess::pid() const { return impl_->pid; }

void ChildProcess::signal(int sig) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  // Holding mu keeps the reaper from reaping in between, so the pid is ours.
  if (impl_->reaped) return;
  if (::kill(impl_->pid, sig) != 0) throw_errno(errno, "kill");
}

std::optional<int> ChildProcess::wait_for_exit(std::chrono::milliseconds timeout) {
  Impl& s = *impl_;
  std::unique_lock<std::mutex> lock(s.mu);
  const auto deadline = Clock::now() + timeout;
  if (!s.cv.wait_until(lock, deadline, [&] { return s.reaped; })) return std::nullopt;
  s.cv.wait_until(lock, Clock::now() + kDrainGrace, [&] { return s.out_closed && s.err_closed; });
  return s.exit_code;
}

std::chrono::steady_clock::time_point ChildProcess::started_at() const { return impl_->started; }

std::optional<std::chrono::steady_clock::time_point> ChildProcess::exited_at() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->exited;
}

std::vector<std::uint8_t> ChildProcess::stdout_bytes() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->out_data;
}

std::size_t ChildProcess::stdout_size() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->out_total;
}

std::string ChildProcess::stderr_text() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->err_data;
}

std::optional<std::string> ChildProcess::wait_for_stderr(std::string_view needle,
                                                         std::chrono::milliseconds timeout) const {
  Impl& s = *impl_;
  const auto deadline = Clock::now() + timeout;
  std::unique_lock<std::mutex> lock(s.mu);
  std::size_t search_from = 0;
  for (;;) {
    const std::string& text = s.err_data;
    const std::size_t seen = text.size();
    const std::size_t pos = text.find(needle, search_from);
    bool timed_out = false;
    if (pos != std::string::npos) {
      const std::size_t line_start = pos == 0 ? 0 : text.rfind('\n', pos - 1) + 1;  // npos + 1 == 0
      std::size_t end_from = pos + needle.size();
      if (!needle.empty() && needle.back() == '\n') --end_from;
      const std::size_t line_end = text.find('\n', end_from);
      if (line_end != std::string::npos)
        return text.substr(line_start, line_end - line_start);
      if (s.err_closed) return text.substr(line_start);
      search_from = pos;  // the match stays; wait for the rest of its line
      timed_out = !s.cv.wait_until(lock, deadline,
                                   [&] { return s.err_data.size() != seen || s.err_closed; });
      if (timed_out) return s.err_data.substr(line_start);
    } else {
      if (s.err_closed) return std::nullopt;
      // A match may straddle old and new data: re-search the tail.
      search_from = seen >= needle.size() ? seen - needle.size() + 1 : 0;
      timed_out = !s.cv.wait_until(lock, deadline,
                                   [&] { return s.err_data.size() != seen || s.err_closed; });
      if (timed_out) return std::nullopt;
    }
  }
}

bool ChildProcess::wait_for_stdout(std::size_t n, std::chrono::milliseconds timeout) const {
  Impl& s = *impl_;
  std::unique_lock<std::mutex> lock(s.mu);
  s.cv.wait_until(lock, Clock::now() + timeout, [&] { return s.out_total >= n || s.out_closed; });
  return s.out_total >= n;
}

void ChildProcess::close_stdout() {
  Impl& s = *impl_;
  std::unique_lock<std::mutex> lock(s.mu);
  if (s.out_closed) return;
  s.close_out_requested = true;
  s.wake();
  // The reader thread closes the descriptor (it may be polling it right now).
  s.cv.wait(lock, [&] { return s.out_closed; });
}

}  // namespace bambu::test
