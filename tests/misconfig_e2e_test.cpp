// End to end: the built bambu-stream, run as go2rtc runs it,
// against each misconfiguration users hit. Each case checks the exit code,
// that the first stderr line names the cause and the fix, that no retry
// follows (connections counted at the peer), and that the access code is in
// no output. Peers: `bambu-stream simulate --fault tunnel|slots-full` on
// 127.0.0.1 port 0; ClosingPort (a port 322 that closes at once) and
// LoopbackPort (refused) from tests/support/ports.h.
#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <vector>

#include "support/child_process.h"
#include "support/e2e.h"
#include "support/ports.h"

using namespace std::chrono_literals;
using namespace bambu::test::e2e;
using bambu::test::ChildOptions;
using bambu::test::ChildProcess;
using bambu::test::k_cli_env_vars;
using bambu::test::ClosingPort;
using bambu::test::LoopbackPort;

namespace {

constexpr const char* k_code = "16180339";

// `bambu-stream simulate` with one --fault, on 127.0.0.1 port 0.
struct FaultySimulator {
  explicit FaultySimulator(const std::string& fault) {
    process = std::make_unique<ChildProcess>(ChildOptions{
        {k_binary, "simulate", "--listen", "127.0.0.1:0", "--access-code", k_code, "--fault", fault},
        {},
        k_cli_env_vars,
        false});
    auto line = process->wait_for_stderr("listening on 127.0.0.1:", 10s);
    REQUIRE(line);
    port = line->substr(line->find("127.0.0.1:") + 10);
    port = port.substr(0, port.find(' '));
  }
  // Lines of the simulator's log containing `needle`.
  std::size_t count(const std::string& needle) const {
    const std::string log = process->stderr_text();
    std::size_t n = 0;
    for (auto at = log.find(needle); at != std::string::npos; at = log.find(needle, at + 1)) ++n;
    return n;
  }
  std::unique_ptr<ChildProcess> process;
  std::string port;
};

// Everything a client wrote, for the secret check.
std::string all_output(const ChildProcess& c) {
  auto out = c.stdout_bytes();
  return c.stderr_text() + std::string(out.begin(), out.end());
}

}  // namespace

TEST_CASE("misconfig: port 6000 of an RTSPS model (the file tunnel): exit 4 at once, the tunnel line, one login") {
  FaultySimulator sim("tunnel");
  auto c = client({"--host", "127.0.0.1", "--source", "jpeg", "--port", sim.port, "--access-code", k_code});
  REQUIRE(c.wait_for_exit(k_wait) == 4);
  CHECK(first_line(c.stderr_text()) ==
        "error: port " + sim.port +
            " of 127.0.0.1 is this printer's file-transfer service, not a camera: this model streams RTSPS on port "
            "322; switch on \"LAN Only Liveview\" on the printer and use --source rtsps");
  CHECK(c.stderr_text().find("not whole JPEGs") == std::string::npos);  // no longer mistaken for a bad frame
  CHECK(seconds(*c.exited_at() - c.started_at()) < 3);
  CHECK(c.stdout_size() == 0);
  REQUIRE(sim.process->wait_for_stderr("session 1 closed: fault tunnel", 5s));
  CHECK(sim.count("closed: fault tunnel") == 1);  // the client has exited: no redial can follow
  CHECK(sim.count("session 2") == 0);
  CHECK(all_output(c).find(k_code) == std::string::npos);
}

TEST_CASE("misconfig: camera slots taken (login accepted, then silence): exit 4 at --start-timeout, naming viewers") {
  FaultySimulator sim("slots-full");
  auto c = client({"--host", "127.0.0.1", "--source", "jpeg", "--port", sim.port, "--access-code", k_code,
                   "--start-timeout", "1"});
  REQUIRE(c.wait_for_exit(k_wait) == 4);
  const double took = seconds(*c.exited_at() - c.started_at());
  CHECK(took >= 0.9);
  CHECK(took < 3);
  CHECK(first_line(c.stderr_text()) ==
        "error: logged in to 127.0.0.1:" + sim.port +
            ", but no frame arrived within 1 s: the printer's camera slots are probably taken (it serves about two "
            "viewers); close Bambu Studio, Bambu Handy or another stream of this printer, then start again");
  CHECK(sim.count("logged in: fault slots-full") == 1);
  CHECK(sim.count("session 2") == 0);
  CHECK(all_output(c).find(k_code) == std::string::npos);
}

TEST_CASE("misconfig: port 322 that closes at once: exit 4, naming LAN Only Liveview and the models, one connection") {
  ClosingPort closing;
  auto c = client({"--host", "127.0.0.1", "--source", "rtsps", "--port", std::to_string(closing.port()),
                   "--access-code", k_code});
  REQUIRE(c.wait_for_exit(k_wait) == 4);
  CHECK(first_line(c.stderr_text()) ==
        "error: 127.0.0.1:" + std::to_string(closing.port()) +
            " closed the connection before the TLS handshake completed: the printer's RTSPS camera is switched off: "
            "switch on \"LAN Only Liveview\" on the printer (off by default on P2S, H2C, X2D, and H2S/H2D from "
            "firmware 01.02.00.00)");
  CHECK(seconds(*c.exited_at() - c.started_at()) < 3);
  CHECK(closing.connections() == 1);
  CHECK(all_output(c).find(k_code) == std::string::npos);
}

TEST_CASE("misconfig: port 322 refused: exit 4, naming LAN Only Liveview") {
  LoopbackPort refused(false);
  auto c = client({"--host", "127.0.0.1", "--source", "rtsps", "--port", std::to_string(refused.port()),
                   "--access-code", k_code});
  REQUIRE(c.wait_for_exit(k_wait) == 4);
  CHECK_THAT(first_line(c.stderr_text()),
             Catch::StartsWith("error: connection to 127.0.0.1:" + std::to_string(refused.port()) + " refused: ") &&
                 Catch::Contains("switch on \"LAN Only Liveview\" on the printer"));
}

TEST_CASE("misconfig: an access code of the wrong length or with spaces: exit 2 before any connection, code unshown") {
  ClosingPort printer;
  const std::string port = std::to_string(printer.port());
  struct Case {
    std::vector<std::string> args;
    std::vector<std::pair<std::string, std::string>> env;
    std::string secret;
    std::string first;
  };
  const std::vector<Case> cases = {
      {{"--access-code", "1618033"}, {}, "1618033",
       "error: the access code must be 8 characters, but the one given by --access-code has 7:"},
      {{}, {{"PRINTER_ACCESS_CODE", "16180 339"}}, "16180 339",
       "error: the access code must not contain spaces, but the one given by PRINTER_ACCESS_CODE has 1"},
  };
  for (const Case& k : cases) {
    INFO(k.first);
    std::vector<std::string> argv = {k_binary, "--host", "127.0.0.1", "--source", "jpeg", "--port", port};
    argv.insert(argv.end(), k.args.begin(), k.args.end());
    ChildProcess c(ChildOptions{argv, k.env, k_cli_env_vars, true});
    REQUIRE(c.wait_for_exit(k_wait) == 2);
    CHECK_THAT(first_line(c.stderr_text()), Catch::StartsWith(k.first));
    CHECK(all_output(c).find(k.secret) == std::string::npos);
    CHECK(all_output(c).find("16180") == std::string::npos);
  }
  CHECK(printer.connections() == 0);
}
