// Tests of the integration-test support code itself: ChildProcess (run with
// /bin/sh, /bin/cat, /bin/sleep, ...) and LoopbackPort.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "support/child_process.h"
#include "support/ports.h"

namespace {

using bambu::test::ChildOptions;
using bambu::test::ChildProcess;
using bambu::test::LoopbackPort;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

/// Options running `script` with /bin/sh -c. A script that ends in a
/// long-running command must `exec` it: ChildProcess kills only the shell,
/// and a sleep left behind as its child would outlive the test.
ChildOptions sh(std::string script) {
  ChildOptions o;
  o.argv = {"/bin/sh", "-c", std::move(script)};
  return o;
}

std::string as_string(const std::vector<std::uint8_t>& bytes) {
  return std::string(bytes.begin(), bytes.end());
}

/// A TCP socket connected (or not) to 127.0.0.1:port. Returns the socket
/// (>= 0) and sets `err` to 0, or returns -1 and sets `err` to errno.
int connect_loopback(std::uint16_t port, int& err) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    err = errno;
    ::close(fd);
    return -1;
  }
  err = 0;
  return fd;
}

}  // namespace

TEST_CASE("ChildProcess reports the exit code", "[child_process]") {
  SECTION("zero") {
    ChildProcess c(ChildOptions{{"/bin/true"}, {}, {}});
    CHECK(c.wait_for_exit(5s) == 0);
  }
  SECTION("non-zero") {
    ChildProcess c(sh("exit 7"));
    CHECK(c.wait_for_exit(5s) == 7);
    // Asking again gives the same answer at once.
    CHECK(c.wait_for_exit(0ms) == 7);
  }
  SECTION("killed by a signal it sends itself") {
    ChildProcess c(sh("kill -USR1 $$"));
    CHECK(c.wait_for_exit(5s) == 128 + SIGUSR1);
  }
}

TEST_CASE("ChildProcess starts a bare program name via PATH", "[child_process]") {
  ChildOptions o;
  o.argv = {"sh", "-c", "exit 3"};
  ChildProcess c(std::move(o));
  CHECK(c.wait_for_exit(5s) == 3);
}

// Not under qemu: qemu-user reports no exec failure through posix_spawn, so
// spawning a missing program succeeds there.
TEST_CASE("ChildProcess throws when the program cannot be started", "[child_process][not-under-qemu]") {
  ChildOptions missing;
  missing.argv = {"/nonexistent/bambu-no-such-program"};
  CHECK_THROWS_AS(ChildProcess(missing), std::system_error);

  CHECK_THROWS_AS(ChildProcess(ChildOptions{}), std::system_error);
}

TEST_CASE("ChildProcess captures stdout bytes exactly", "[child_process]") {
  SECTION("binary bytes through the shell's printf (octal escapes)") {
    ChildProcess c(sh(R"(printf '\000\001\377')"));
    REQUIRE(c.wait_for_exit(5s) == 0);
    CHECK(c.stdout_bytes() == std::vector<std::uint8_t>{0x00, 0x01, 0xff});
    CHECK(c.stdout_size() == 3);
  }
  SECTION("binary bytes through coreutils printf (hex escapes)") {
    ChildProcess c(sh(R"(/usr/bin/printf '\x00\x01\xff')"));
    REQUIRE(c.wait_for_exit(5s) == 0);
    CHECK(c.stdout_bytes() == std::vector<std::uint8_t>{0x00, 0x01, 0xff});
  }
  SECTION("a megabyte, more than a pipe holds") {
    ChildProcess c(sh("head -c 1048576 /dev/zero"));
    REQUIRE(c.wait_for_exit(10s) == 0);
    CHECK(c.stdout_size() == 1048576);
    const auto bytes = c.stdout_bytes();
    CHECK(bytes.size() == 1048576);
    CHECK(std::all_of(bytes.begin(), bytes.end(), [](std::uint8_t b) { return b == 0; }));
  }
  SECTION("beyond stdout_limit, bytes are counted but not kept") {
    ChildOptions o = sh("printf 0123456789abcdefghij");
    o.stdout_limit = 10;
    ChildProcess c(std::move(o));
    REQUIRE(c.wait_for_exit(5s) == 0);
    CHECK(as_string(c.stdout_bytes()) == "0123456789");
    CHECK(c.stdout_size() == 20);
  }
  SECTION("stdout not captured goes to /dev/null; stderr still captured") {
    ChildOptions o = sh("echo out; echo err >&2");
    o.capture_stdout = false;
    ChildProcess c(std::move(o));
    REQUIRE(c.wait_for_exit(5s) == 0);
    CHECK(c.stdout_size() == 0);
    CHECK(c.stdout_bytes().empty());
    CHECK(c.stderr_text() == "err\n");
    CHECK_FALSE(c.wait_for_stdout(1, 0ms));
    c.close_stdout();  // no-op
  }
}

TEST_CASE("ChildProcess stdin is /dev/null", "[child_process]") {
  ChildProcess c(ChildOptions{{"/bin/cat"}, {}, {}});
  REQUIRE(c.wait_for_exit(5s) == 0);
  CHECK(c.stdout_size() == 0);
}

TEST_CASE("ChildProcess keeps stdout and stderr apart", "[child_process]") {
  ChildProcess c(sh("echo to-out; echo to-err >&2; echo more-out"));
  REQUIRE(c.wait_for_exit(5s) == 0);
  CHECK(as_string(c.stdout_bytes()) == "to-out\nmore-out\n");
  CHECK(c.stderr_text() == "to-err\n");
}

TEST_CASE("ChildProcess children inherit only fds 0, 1 and 2", "[child_process]") {
  // Another live child's pipes must not leak into this one. ls itself opens
  // /proc/self/fd as fd 3.
  ChildProcess other(ChildOptions{{"/bin/sleep", "100"}, {}, {}});
  ChildProcess c(ChildOptions{{"/bin/ls", "/proc/self/fd"}, {}, {}});
  REQUIRE(c.wait_for_exit(5s) == 0);
  CHECK(as_string(c.stdout_bytes()) == "0\n1\n2\n3\n");
}

TEST_CASE("ChildProcess waits for stderr lines", "[child_process]") {
  ChildProcess c(
      sh("echo 'first line' >&2; sleep 0.1; echo 'second line: ready now' >&2; "
         "printf 'partial' >&2; exec sleep 100"));
  SECTION("returns the whole line containing the needle") {
    auto line = c.wait_for_stderr("ready", 5s);
    REQUIRE(line.has_value());
    CHECK(*line == "second line: ready now");
    CHECK(c.wait_for_stderr("first", 0ms) == "first line");
    CHECK(c.stderr_text().rfind("first line\nsecond line: ready now\n", 0) == 0);
  }
  SECTION("a line without its newline yet is returned as far as it got at the timeout") {
    REQUIRE(c.wait_for_stderr("ready", 5s).has_value());
    auto t0 = Clock::now();
    CHECK(c.wait_for_stderr("parti", 300ms) == "partial");
    CHECK(Clock::now() - t0 >= 250ms);
  }
  SECTION("nullopt after the timeout if the needle never comes") {
    auto t0 = Clock::now();
    CHECK_FALSE(c.wait_for_stderr("never printed", 200ms).has_value());
    auto waited = Clock::now() - t0;
    CHECK(waited >= 190ms);
    CHECK(waited < 2s);
  }
}

TEST_CASE("ChildProcess wait_for_stderr returns nullopt at end of stderr", "[child_process]") {
  ChildProcess c(sh("echo bye >&2"));
  auto t0 = Clock::now();
  CHECK_FALSE(c.wait_for_stderr("missing", 10s).has_value());
  CHECK(Clock::now() - t0 < 5s);
  CHECK(c.wait_for_stderr("bye", 0ms) == "bye");
  CHECK(c.wait_for_exit(5s) == 0);
}

TEST_CASE("ChildProcess wait_for_stdout", "[child_process]") {
  SECTION("true once enough bytes arrived") {
    ChildProcess c(sh("printf abc; sleep 0.1; printf def; exec sleep 100"));
    CHECK(c.wait_for_stdout(6, 5s));
    CHECK(as_string(c.stdout_bytes()) == "abcdef");
  }
  SECTION("false as soon as stdout closes short") {
    ChildProcess c(sh("printf abc"));
    auto t0 = Clock::now();
    CHECK_FALSE(c.wait_for_stdout(100, 10s));
    CHECK(Clock::now() - t0 < 5s);
    CHECK(c.stdout_size() == 3);
  }
  SECTION("false at the timeout") {
    ChildProcess c(ChildOptions{{"/bin/sleep", "100"}, {}, {}});
    CHECK_FALSE(c.wait_for_stdout(1, 100ms));
  }
}

TEST_CASE("ChildProcess timeout, then SIGTERM", "[child_process]") {
  ChildProcess c(ChildOptions{{"/bin/sleep", "100"}, {}, {}});
  CHECK_FALSE(c.exited_at().has_value());
  auto t0 = Clock::now();
  CHECK_FALSE(c.wait_for_exit(100ms).has_value());
  CHECK(Clock::now() - t0 >= 95ms);
  CHECK_FALSE(c.exited_at().has_value());

  c.signal(SIGTERM);
  CHECK(c.wait_for_exit(5s) == 128 + SIGTERM);
  REQUIRE(c.exited_at().has_value());
  CHECK(*c.exited_at() >= c.started_at());
  c.signal(SIGTERM);  // already reaped: does nothing
}

TEST_CASE("ChildProcess started_at and exited_at measure the run time", "[child_process]") {
  ChildProcess c(ChildOptions{{"/bin/sleep", "0.2"}, {}, {}});
  // Observe the exit late, on purpose: exited_at must still be the time of
  // the exit, not of the wait (a child slower to exit is waited for below).
  std::this_thread::sleep_for(600ms);
  REQUIRE(c.wait_for_exit(5s) == 0);
  REQUIRE(c.exited_at().has_value());
  auto ran = *c.exited_at() - c.started_at();
  CHECK(ran >= 200ms);
  CHECK(ran < 550ms);
}

TEST_CASE("ChildProcess close_stdout makes a writer stop", "[child_process]") {
  ChildProcess c(sh("while :; do echo x; done"));
  REQUIRE(c.wait_for_stdout(1, 5s));
  const auto t0 = Clock::now();
  c.close_stdout();
  const auto code = c.wait_for_exit(2s);
  REQUIRE(code.has_value());
  CHECK(Clock::now() - t0 < 2s);
  // dash gets SIGPIPE (default disposition in the child); a shell that
  // ignored it would exit with an error status instead.
  CHECK((*code == 128 + SIGPIPE || *code != 0));
  CHECK(c.stdout_size() >= 2);
  const auto kept = c.stdout_size();
  CHECK_FALSE(c.wait_for_stdout(kept + 1, 0ms));
  c.close_stdout();  // again: no-op
}

TEST_CASE("ChildProcess close_stdout keeps stderr captured", "[child_process]") {
  ChildProcess c(sh("echo started >&2; sleep 0.2; echo still-here >&2; echo late"));
  REQUIRE(c.wait_for_stderr("started", 5s));
  c.close_stdout();
  CHECK(c.wait_for_stderr("still-here", 5s) == "still-here");
  // echo to the closed pipe: SIGPIPE for dash.
  CHECK(c.wait_for_exit(5s) == 128 + SIGPIPE);
  CHECK(c.stdout_size() == 0);
}

TEST_CASE("ChildProcess destructor kills a running child promptly", "[child_process]") {
  pid_t pid = -1;
  const auto t0 = Clock::now();
  {
    ChildProcess c(ChildOptions{{"/bin/sleep", "100"}, {}, {}});
    pid = c.pid();
    REQUIRE(pid > 0);
    CHECK(::kill(pid, 0) == 0);  // signal 0: exists, nothing sent
  }
  CHECK(Clock::now() - t0 < 1s);
  // Reaped: the pid is gone (signal 0 only checks existence).
  errno = 0;
  CHECK(::kill(pid, 0) == -1);
  CHECK(errno == ESRCH);
}

TEST_CASE("ChildProcess destructor does not hang on a grandchild holding the pipes",
          "[child_process]") {
  const auto t0 = Clock::now();
  {
    // The background sleep (a grandchild, which we have no business
    // signalling) keeps stdout/stderr open until it exits by itself after 1 s.
    ChildProcess c(sh("sleep 1 & exit 0"));
    CHECK(c.wait_for_exit(5s) == 0);  // returns after the 500 ms drain grace
  }
  CHECK(Clock::now() - t0 < 900ms);
}

TEST_CASE("ChildProcess is movable", "[child_process]") {
  ChildProcess a(sh("echo moved"));
  ChildProcess b(std::move(a));
  CHECK(b.wait_for_exit(5s) == 0);
  CHECK(as_string(b.stdout_bytes()) == "moved\n");
  ChildProcess c(ChildOptions{{"/bin/sleep", "100"}, {}, {}});
  const auto t0 = Clock::now();
  c = std::move(b);  // kills and reaps the sleep
  CHECK(Clock::now() - t0 < 1s);
  CHECK(as_string(c.stdout_bytes()) == "moved\n");
}

TEST_CASE("ChildProcess env_set and env_unset", "[child_process]") {
  REQUIRE(::setenv("BAMBU_CP_TEST_UNSET", "inherited", 1) == 0);
  REQUIRE(::setenv("BAMBU_CP_TEST_OVERRIDE", "old", 1) == 0);
  REQUIRE(::setenv("BAMBU_CP_TEST_KEEP", "kept", 1) == 0);

  ChildOptions o = sh(
      "echo \"FOO=${FOO-unset}\"; echo \"UNSET=${BAMBU_CP_TEST_UNSET-unset}\"; "
      "echo \"OVERRIDE=${BAMBU_CP_TEST_OVERRIDE}\"; echo \"KEEP=${BAMBU_CP_TEST_KEEP}\"; "
      "echo \"EMPTY=${BAMBU_CP_TEST_EMPTY-unset}\"");
  o.env_set = {{"FOO", "bar baz"}, {"BAMBU_CP_TEST_OVERRIDE", "new"}, {"BAMBU_CP_TEST_EMPTY", ""}};
  o.env_unset = {"BAMBU_CP_TEST_UNSET"};
  ChildProcess c(std::move(o));
  REQUIRE(c.wait_for_exit(5s) == 0);
  CHECK(as_string(c.stdout_bytes()) ==
        "FOO=bar baz\nUNSET=unset\nOVERRIDE=new\nKEEP=kept\nEMPTY=\n");

  ::unsetenv("BAMBU_CP_TEST_UNSET");
  ::unsetenv("BAMBU_CP_TEST_OVERRIDE");
  ::unsetenv("BAMBU_CP_TEST_KEEP");
}

TEST_CASE("LoopbackPort(false) refuses connections", "[ports]") {
  LoopbackPort port(false);
  REQUIRE(port.port() != 0);
  int err = 0;
  int fd = connect_loopback(port.port(), err);
  if (fd >= 0) ::close(fd);
  CHECK(fd == -1);
  CHECK(err == ECONNREFUSED);
}

TEST_CASE("LoopbackPort(true) accepts the handshake and never answers", "[ports]") {
  LoopbackPort port(true);
  LoopbackPort other(true);
  CHECK(port.port() != other.port());

  int err = 0;
  int fd = connect_loopback(port.port(), err);
  REQUIRE(fd >= 0);
  CHECK(err == 0);
  timeval tv{};
  tv.tv_usec = 200 * 1000;
  REQUIRE(::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0);
  const char hello[] = "ClientHello";
  CHECK(::send(fd, hello, sizeof hello, MSG_NOSIGNAL) == static_cast<ssize_t>(sizeof hello));
  char buf[16];
  const auto t0 = Clock::now();
  errno = 0;
  const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
  const int recv_err = errno;
  const auto waited = Clock::now() - t0;
  ::close(fd);
  CHECK(n == -1);
  CHECK((recv_err == EAGAIN || recv_err == EWOULDBLOCK));
  CHECK(waited >= 180ms);
  CHECK(waited < 2s);
}
