// End-to-end: the built bambu-stream binary, run as go2rtc runs it (stdout a
// pipe, stdin /dev/null, signals by pid), against `bambu-stream simulate` on
// 127.0.0.1 port 0. Every fault a printer or a reader can show (a slow or
// gone reader, a dropped or silent printer, a wrong code or certificate,
// signals at every stage), checked on exit codes, stderr's first line,
// byte-exact stdout and the heartbeat file.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "support/child_process.h"
#include "support/e2e.h"
#include "support/jpeg_info.h"
#include "support/pki.h"
#include "support/ports.h"
#include "support/simulator_process.h"
#include "support/temp_dir.h"
#include "support/wait.h"

using namespace std::chrono_literals;
using bambu::test::ChildOptions;
using bambu::test::ChildProcess;
using bambu::test::k_cli_env_vars;
using bambu::test::LoopbackPort;
using bambu::test::read_jpeg_info;
using bambu::test::SimulatorProcess;
using bambu::test::split_jpegs;
using bambu::test::TempDir;
using bambu::test::TestPki;
using bambu::test::wait_until;
using namespace bambu::test::e2e;
namespace fs = std::filesystem;
using Bytes = std::vector<std::uint8_t>;

namespace {

constexpr const char* k_code = bambu::test::k_sim_code;

Bytes concat(const std::vector<Bytes>& frames, std::size_t n) {
  Bytes out;
  for (std::size_t i = 0; i < n && i < frames.size(); ++i) out.insert(out.end(), frames[i].begin(), frames[i].end());
  return out;
}


ChildProcess client_of(const SimulatorProcess& sim, std::vector<std::string> extra) {
  std::vector<std::string> args = {"--host", "127.0.0.1", "--source", "jpeg", "--port", sim.port(), "--access-code", k_code};
  args.insert(args.end(), extra.begin(), extra.end());
  return client(args);
}


// The "state" of the heartbeat file at `hb` ("" while there is none).
std::string heartbeat_state(const fs::path& hb) {
  const Bytes text = read_file(hb);
  if (text.empty()) return "";
  return nlohmann::json::parse(text)["state"].get<std::string>();
}

// In the simulator's log, session 1 closed before session 2 opened: we never
// held two camera slots at once.
void check_one_session_at_a_time(const std::string& log) {
  auto closed1 = log.find("session 1 closed");
  auto opened2 = log.find("session 2 opened");
  REQUIRE(closed1 != std::string::npos);
  REQUIRE(opened2 != std::string::npos);
  CHECK(closed1 < opened2);
}

}  // namespace

TEST_CASE("streaming: stdout is byte-identical to the JPEGs the printer sent, 1280x720, exit 0") {
  SimulatorProcess sim;
  auto c = client_of(sim, {"--frames", "5"});
  REQUIRE(c.wait_for_exit(k_wait) == 0);
  Bytes out = c.stdout_bytes();
  auto sent = sim.sent_frames(5);
  REQUIRE(sent.size() >= 5);
  CHECK(out == concat(sent, 5));
  auto frames = split_jpegs(out);
  REQUIRE(frames);
  REQUIRE(frames->size() == 5);
  auto info = read_jpeg_info(frames->front());
  REQUIRE(info);
  CHECK(info->width == 1280);
  CHECK(info->height == 720);
  CHECK(info->jfif);
  CHECK(out[0] == 0xFF);  // go2rtc sniffs FF D8 from byte 0
  CHECK(out[1] == 0xD8);
  CHECK(c.stderr_text().empty());  // a healthy stream says nothing at the default level
}

TEST_CASE("option --frames 1 is a snapshot: exactly one whole JPEG") {
  SimulatorProcess sim;
  auto c = client_of(sim, {"--frames", "1"});
  REQUIRE(c.wait_for_exit(k_wait) == 0);
  CHECK(c.stdout_bytes() == sim.sent_frames(1).at(0));
}

TEST_CASE("wrong access code: exit 3, and the first stderr line says so") {
  SimulatorProcess sim;
  auto c = client({"--host", "127.0.0.1", "--source", "jpeg", "--port", sim.port(), "--access-code", "00000000"});
  REQUIRE(c.wait_for_exit(k_wait) == 3);
  CHECK_THAT(first_line(c.stderr_text()), Catch::StartsWith("error: access code rejected"));
  CHECK(c.stdout_size() == 0);
  CHECK(seconds(*c.exited_at() - c.started_at()) < 3);
}

TEST_CASE("refused port: exit 4 at once, saying refused") {
  LoopbackPort closed(false);
  auto c = client({"--host", "127.0.0.1", "--source", "jpeg", "--port", std::to_string(closed.port()), "--access-code", k_code});
  REQUIRE(c.wait_for_exit(k_wait) == 4);
  CHECK_THAT(first_line(c.stderr_text()), Catch::StartsWith("error: connection to 127.0.0.1:") &&
                                               Catch::Contains("refused"));
  CHECK(seconds(*c.exited_at() - c.started_at()) < 2);
}

TEST_CASE("a TLS handshake that never answers: exit 4 within --start-timeout, naming the slot limit") {
  LoopbackPort silent(true);  // TCP completes, the ClientHello is never answered
  auto c = client({"--host", "127.0.0.1", "--source", "jpeg", "--port", std::to_string(silent.port()), "--access-code", k_code,
                   "--start-timeout", "1.5"});
  REQUIRE(c.wait_for_exit(k_wait) == 4);
  double took = seconds(*c.exited_at() - c.started_at());
  CHECK(took >= 1.4);
  CHECK(took < 3.5);
  CHECK_THAT(first_line(c.stderr_text()), Catch::Contains("TLS handshake") &&
                                               Catch::Contains("at most two clients"));
}

TEST_CASE("camera slots all taken by other viewers: exit 4 naming the slot limit") {
  SimulatorProcess sim({"--max-sessions", "1"});
  auto viewer = client_of(sim, {});
  REQUIRE(viewer.wait_for_stdout(1000, k_wait));
  auto c = client_of(sim, {"--start-timeout", "1"});
  REQUIRE(c.wait_for_exit(k_wait) == 4);
  CHECK_THAT(first_line(c.stderr_text()), Catch::Contains("at most two clients"));
  viewer.signal(SIGTERM);
  CHECK(viewer.wait_for_exit(k_wait) == 0);
}

TEST_CASE("logged in but no frame within --start-timeout: exit 4") {
  SimulatorProcess sim({"--fault", "stall", "--fault-after", "0"});
  auto c = client_of(sim, {"--start-timeout", "1"});
  REQUIRE(c.wait_for_exit(k_wait) == 4);
  CHECK_THAT(first_line(c.stderr_text()), Catch::Contains("no frame arrived within 1 s"));
}

TEST_CASE("connection dropped mid-frame: no partial frame, one session at a time, the stream resumes") {
  SimulatorProcess sim({"--fault", "drop-mid-frame", "--fault-after", "2"});
  auto c = client_of(sim, {"--frames", "4"});
  REQUIRE(c.wait_for_exit(k_wait) == 0);
  // Two frames before the drop, two after the reconnect; the half frame never appears.
  CHECK(c.stdout_bytes() == concat(sim.sent_frames(4), 4));
  CHECK_THAT(c.stderr_text(), Catch::Contains("lost mid-frame") && Catch::Contains("reconnecting in 1.0 s"));
  check_one_session_at_a_time(sim.log());
}

TEST_CASE("stall: no frame for --stall-timeout, then reconnect and resume") {
  // One slot, as if another viewer held the printer's second: if we dialled
  // again before closing the stalled session, the new one would never start.
  SimulatorProcess sim({"--fault", "stall", "--fault-after", "1", "--max-sessions", "1"});
  auto c = client_of(sim, {"--frames", "3", "--stall-timeout", "1.5", "--start-timeout", "3"});
  REQUIRE(c.wait_for_exit(k_wait) == 0);
  CHECK(c.stdout_bytes() == concat(sim.sent_frames(3), 3));
  CHECK_THAT(first_line(c.stderr_text()), Catch::StartsWith("warning: stall: no frame from 127.0.0.1:"));
  CHECK(seconds(*c.exited_at() - c.started_at()) >= 2.5);  // 1.5 s stall + 1 s backoff
  check_one_session_at_a_time(sim.log());
}

TEST_CASE("a size field over the 4 MiB cap: protocol error, reconnect, resume") {
  SimulatorProcess sim({"--fault", "oversize", "--fault-after", "1", "--max-sessions", "1"});
  auto c = client_of(sim, {"--frames", "3", "--start-timeout", "3"});
  REQUIRE(c.wait_for_exit(k_wait) == 0);
  CHECK(c.stdout_bytes() == concat(sim.sent_frames(3), 3));
  CHECK_THAT(c.stderr_text(), Catch::Contains("protocol error") && Catch::Contains("2147483632 bytes"));
  check_one_session_at_a_time(sim.log());
}

TEST_CASE("a payload that is not a JPEG is skipped with a warning, the stream goes on") {
  SimulatorProcess sim({"--fault", "non-jpeg", "--fault-after", "1"});
  auto c = client_of(sim, {"--frames", "3"});
  REQUIRE(c.wait_for_exit(k_wait) == 0);
  CHECK(c.stdout_bytes() == concat(sim.sent_frames(3), 3));
  CHECK_THAT(first_line(c.stderr_text()), Catch::Contains("not whole JPEGs"));
}

TEST_CASE("the printer gone for good: exit 5 after --retry-for") {
  SimulatorProcess sim({"--frames", "2"});  // the simulator exits after two frames
  auto c = client_of(sim, {"--retry-for", "3"});
  REQUIRE(c.wait_for_exit(k_wait) == 5);
  CHECK(c.stdout_bytes() == concat(sim.sent_frames(2), 2));
  double took = seconds(*c.exited_at() - c.started_at());
  CHECK(took >= 3);
  CHECK(took < 8);
  CHECK_THAT(c.stderr_text(), Catch::Contains("not regained within --retry-for 3 s"));
}

TEST_CASE("SIGTERM: exit 0 within 1 s, heartbeat says stopped, the printer sees the session close") {
  SimulatorProcess sim({}, "5");
  TempDir dir;
  auto hb = dir.path / "hb.json";
  auto c = client_of(sim, {"--heartbeat", hb.string()});
  REQUIRE(c.wait_for_stdout(1000, k_wait));
  sigterm_exits_0_within_1s(c);
  auto j = nlohmann::json::parse(read_file(hb));
  CHECK(j["state"] == "stopped");
  CHECK(j["frames"].get<int>() >= 1);
  CHECK(sim.process().wait_for_stderr("session 1 closed", 2s));
  CHECK(split_jpegs(c.stdout_bytes()));  // whatever was written is whole frames
}

// go2rtc starts an exec source when a viewer comes and kills it when the last
// one leaves, by default with SIGKILL. After SIGKILL no close_notify is sent:
// the kernel closes the socket as the process ends, and the printer sees the
// TCP close. Either way the printer must get its slot back at once.
TEST_CASE("camera slots: 20 starts and stops, SIGTERM and SIGKILL in turn, one session at a time, each closed within 1 s") {
  SimulatorProcess sim({"--max-sessions", "2"}, "30");
  for (int cycle = 1; cycle <= 20; ++cycle) {
    INFO("cycle " << cycle);
    auto c = client_of(sim, {});
    REQUIRE(c.wait_for_stdout(1000, k_wait));
    const int sig = cycle % 2 == 1 ? SIGTERM : SIGKILL;
    c.signal(sig);
    auto code = c.wait_for_exit(k_wait);
    REQUIRE(code);
    CHECK(*code == (sig == SIGTERM ? 0 : 128 + SIGKILL));
    const auto exited = c.exited_at().value();
    // The printer side logs the close; it must come within 1 s of our exit.
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(exited + 1s - std::chrono::steady_clock::now());
    auto closed = sim.process().wait_for_stderr("session " + std::to_string(cycle) + " closed", std::max(left, 0ms));
    CHECK(closed);
    CHECK(std::chrono::steady_clock::now() - exited <= 1s);
  }
  // Each session saw itself as the only one open when it logged in, and
  // opened only after the one before it had closed.
  const std::string log = sim.log();
  for (int cycle = 1; cycle <= 20; ++cycle) {
    INFO("session " << cycle);
    auto opened = log.find("session " + std::to_string(cycle) + " opened");
    REQUIRE(opened != std::string::npos);
    CHECK(log.substr(opened, log.find('\n', opened) - opened).ends_with(", 1 open"));
    if (cycle > 1) CHECK(log.find("session " + std::to_string(cycle - 1) + " closed") < opened);
  }
  CHECK(log.find("session 21 ") == std::string::npos);
}

TEST_CASE("SIGTERM while reconnecting: exit 0 within 1 s, heartbeat stopped") {
  SimulatorProcess sim({"--frames", "1"});  // gone after one frame: the client starts reconnecting
  TempDir dir;
  auto hb = dir.path / "hb.json";
  auto c = client_of(sim, {"--heartbeat", hb.string(), "--retry-for", "60"});
  REQUIRE(c.wait_for_stderr("reconnecting in", k_wait));
  // In the backoff or the next dial, as the heartbeat says.
  REQUIRE(wait_until([&] { return heartbeat_state(hb) == "reconnecting"; }, k_wait));
  sigterm_exits_0_within_1s(c);
  CHECK(nlohmann::json::parse(read_file(hb))["state"] == "stopped");
}

TEST_CASE("SIGTERM during a TLS handshake that never answers: exit 0 within 1 s") {
  LoopbackPort silent(true);
  auto c = client({"--host", "127.0.0.1", "--source", "jpeg", "--port", std::to_string(silent.port()), "--access-code", k_code, "-v"});
  REQUIRE(c.wait_for_stderr("connecting to", k_wait));
  // Connected: from here the client waits in its TLS handshake.
  REQUIRE(wait_until([&] { return silent.has_pending_connection(); }, k_wait));
  sigterm_exits_0_within_1s(c);
}

TEST_CASE("a reader that stops reading: frames are dropped, not queued, and SIGTERM leaves no partial frame") {
  SimulatorProcess sim({}, "30");
  TempDir dir;
  auto hb = dir.path / "hb.json";
  int fds[2];
  REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
  std::vector<std::string> argv = {k_binary, "--host", "127.0.0.1", "--source", "jpeg", "--port", sim.port(), "--access-code", k_code,
                                   "--heartbeat", hb.string()};
  ChildOptions options{argv, {}, k_cli_env_vars, false};
  options.stdout_fd = fds[1];
  ChildProcess c(options);
  ::close(fds[1]);
  // Nobody reads: after a frame or two the writer waits for the reader, and frames are dropped.
  // The heartbeat file appears only once the client has started (late on a
  // loaded machine or under qemu): until then there is nothing to parse.
  nlohmann::json j = {{"dropped", 0}};
  CHECK(wait_until(
      [&] {
        if (auto text = read_file(hb); !text.empty()) j = nlohmann::json::parse(text);
        return j["dropped"].get<int>() >= 10;
      },
      k_wait, 200ms));
  CHECK(j["state"] == "streaming");  // the printer session goes on regardless
  sigterm_exits_0_within_1s(c);
  Bytes out;
  std::uint8_t buf[65536];
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;) out.insert(out.end(), buf, buf + n);
  ::close(fds[0]);
  auto frames = split_jpegs(out);
  REQUIRE(frames);  // only whole frames, back to back
  CHECK(frames->size() >= 1);
  CHECK(frames->size() <= 3);  // a stalled reader is never fed a backlog of stale frames
}

TEST_CASE("SIGINT works like SIGTERM") {
  SimulatorProcess sim;
  auto c = client_of(sim, {});
  REQUIRE(c.wait_for_stdout(1000, k_wait));
  c.signal(SIGINT);
  REQUIRE(c.wait_for_exit(k_wait) == 0);
}

TEST_CASE("the reader closes stdout (EPIPE): exit 0 quietly") {
  SimulatorProcess sim;
  auto c = client_of(sim, {});
  REQUIRE(c.wait_for_stdout(1000, k_wait));
  c.close_stdout();
  REQUIRE(c.wait_for_exit(k_wait) == 0);
  CHECK(c.stderr_text().empty());
}

TEST_CASE("the heartbeat is always valid JSON while it is being rewritten") {
  SimulatorProcess sim({}, "30");
  TempDir dir;
  auto hb = dir.path / "hb.json";
  auto c = client_of(sim, {"--heartbeat", hb.string()});
  REQUIRE(c.wait_for_stdout(1000, k_wait));
  int reads = 0, invalid = 0;
  std::set<std::string> updates;
  auto end = std::chrono::steady_clock::now() + 2500ms;
  nlohmann::json last;
  while (std::chrono::steady_clock::now() < end) {
    Bytes text = read_file(hb);
    ++reads;
    if (!nlohmann::json::accept(text)) {
      ++invalid;
      continue;
    }
    last = nlohmann::json::parse(text);
    updates.insert(last["updated_at"].get<std::string>());
  }
  CHECK(reads > 100);
  CHECK(invalid == 0);
  CHECK(updates.size() >= 2);  // rewritten at least once a second
  CHECK(last["state"] == "streaming");
  CHECK(last["source"] == "jpeg");
  CHECK(last["port"] == std::stoi(sim.port()));
  CHECK(last["frames"].get<int>() > 10);
  CHECK(last["fps"].get<double>() > 5);
  CHECK(last["last_frame_at"].is_string());
  c.signal(SIGTERM);
  CHECK(c.wait_for_exit(k_wait) == 0);
}

TEST_CASE("a failed stream leaves state failed and the reason in the heartbeat") {
  TempDir dir;
  auto hb = dir.path / "hb.json";
  LoopbackPort closed(false);
  auto c = client({"--host", "127.0.0.1", "--source", "jpeg", "--port", std::to_string(closed.port()), "--access-code", k_code,
                   "--heartbeat", hb.string()});
  REQUIRE(c.wait_for_exit(k_wait) == 4);
  auto j = nlohmann::json::parse(read_file(hb));
  CHECK(j["state"] == "failed");
  CHECK_THAT(j["last_error"].get<std::string>(), Catch::Contains("refused"));
}

TEST_CASE("TLS pinning end to end: the right fingerprint streams, a wrong one exits 6") {
  SimulatorProcess sim;
  auto fp_line = sim.process().wait_for_stderr("certificate SHA-256 ", 1s);
  REQUIRE(fp_line);
  std::string fp = fp_line->substr(fp_line->find("SHA-256 ") + 8, 64);
  auto good = client_of(sim, {"--frames", "1", "--tls-fingerprint", fp});
  CHECK(good.wait_for_exit(k_wait) == 0);
  std::string wrong = fp;
  wrong[0] = wrong[0] == '0' ? '1' : '0';
  auto bad = client_of(sim, {"--frames", "1", "--tls-fingerprint", wrong});
  CHECK(bad.wait_for_exit(k_wait) == 6);
  CHECK_THAT(first_line(bad.stderr_text()), Catch::Contains("does not match --tls-fingerprint"));
  CHECK(bad.stdout_size() == 0);
}

// A printer certificate issued by a CA, as Bambu's are: the chain and the CN
// decide; each refusal exits 6 before the login is sent.
TEST_CASE("option --ca-file with --serial end to end: chain and CN match, wrong serial, wrong CA, expired leaf") {
  const std::string serial = "01S00C123456789";
  TestPki pki(serial);
  SimulatorProcess sim({"--cert", pki.cert_path().string(), "--key", pki.key_path().string()});
  auto good = client_of(sim, {"--frames", "1", "--ca-file", pki.ca_path().string(), "--serial", serial});
  CHECK(good.wait_for_exit(k_wait) == 0);
  CHECK(split_jpegs(good.stdout_bytes()).value_or(std::vector<Bytes>{}).size() == 1);

  auto refused = [&](SimulatorProcess& server, const fs::path& ca, const std::string& expected_serial, const std::string& why) {
    INFO(why);
    auto c = client_of(server, {"--frames", "1", "--ca-file", ca.string(), "--serial", expected_serial});
    CHECK(c.wait_for_exit(k_wait) == 6);
    CHECK(c.stdout_size() == 0);
    CHECK_THAT(first_line(c.stderr_text()), Catch::StartsWith("error:") && Catch::Contains(why));
  };
  refused(sim, pki.ca_path(), "01S00C000000000", "not --serial '01S00C000000000'");
  refused(sim, pki.other_ca_path(), serial, "does not verify against --ca-file");
  SimulatorProcess expired({"--cert", pki.expired_cert_path().string(), "--key", pki.expired_key_path().string()});
  refused(expired, pki.ca_path(), serial, "expired");
  // Not one of the refused clients logged in.
  CHECK(sim.log().find("session 2 opened") == std::string::npos);
  CHECK(sim.log().find("session 3 opened") == std::string::npos);
  CHECK(expired.log().find("opened") == std::string::npos);
}

TEST_CASE("option -v prints the certificate fingerprint, and never the access code") {
  SimulatorProcess sim;
  auto c = client_of(sim, {"--frames", "2", "-v"});
  REQUIRE(c.wait_for_exit(k_wait) == 0);
  std::string err = c.stderr_text();
  CHECK_THAT(err, Catch::Contains("pin it with --tls-fingerprint"));
  CHECK(err.find(k_code) == std::string::npos);
  auto wrong = client({"--host", "127.0.0.1", "--source", "jpeg", "--port", sim.port(), "--access-code", "99999999", "-v"});
  REQUIRE(wrong.wait_for_exit(k_wait) == 3);
  CHECK(wrong.stderr_text().find("99999999") == std::string::npos);
  CHECK(sim.log().find(k_code) == std::string::npos);
  // A mistyped option: CLI11 would list the code among the unexpected words.
  auto typo = client({"--host", "127.0.0.1", "--acess-code", k_code});
  REQUIRE(typo.wait_for_exit(k_wait) == 2);
  CHECK_THAT(typo.stderr_text(), Catch::Contains("--acess-code"));
  CHECK(typo.stderr_text().find(k_code) == std::string::npos);
}

TEST_CASE("option -q: a healthy stream and a lost one say nothing, a failure still says why") {
  SimulatorProcess sim({"--fault", "drop-mid-frame", "--fault-after", "1"});
  auto c = client_of(sim, {"--frames", "2", "-q"});
  REQUIRE(c.wait_for_exit(k_wait) == 0);
  CHECK(c.stderr_text().empty());
  auto wrong = client({"--host", "127.0.0.1", "--source", "jpeg", "--port", sim.port(), "--access-code", "00000000", "-q"});
  REQUIRE(wrong.wait_for_exit(k_wait) == 3);
  CHECK_THAT(first_line(wrong.stderr_text()), Catch::StartsWith("error: access code rejected"));
}

TEST_CASE("access code from the environment and from a file") {
  SimulatorProcess sim;
  std::vector<std::string> argv = {k_binary, "--host", "127.0.0.1", "--source", "jpeg", "--port", sim.port(), "--frames", "1"};
  ChildProcess from_env(ChildOptions{argv, {{"PRINTER_ACCESS_CODE", k_code}}, k_cli_env_vars, true});
  CHECK(from_env.wait_for_exit(k_wait) == 0);
  CHECK(from_env.stdout_size() > 1000);

  TempDir dir;
  auto secret = dir.path / "code";
  std::ofstream(secret) << k_code << "\n";
  auto from_file = client_of(sim, {"--frames", "1", "--access-code-file", secret.string()});
  CHECK(from_file.wait_for_exit(k_wait) == 0);
}

// What ps(1) shows for a running child: /proc/PID/cmdline, '\0' as ' '.
std::string command_line_of(const ChildProcess& c) {
  Bytes raw = read_file("/proc/" + std::to_string(c.pid()) + "/cmdline");
  std::string text(raw.begin(), raw.end());
  std::replace(text.begin(), text.end(), '\0', ' ');
  return text;
}

TEST_CASE("secrets: the access code is in no stderr line at -q, default or -v, nor in the heartbeat") {
  // The first session drops mid-frame: the run logs a loss and a reconnect too.
  for (std::string level : {"-q", "", "-v"}) {
    INFO("verbosity '" << level << "'");
    SimulatorProcess sim({"--fault", "drop-mid-frame", "--fault-after", "1"}, "30");
    TempDir dir;
    auto hb = dir.path / "hb.json";
    std::vector<std::string> extra = {"--frames", "5", "--heartbeat", hb.string()};
    if (!level.empty()) extra.push_back(level);
    auto c = client_of(sim, extra);
    REQUIRE(c.wait_for_exit(k_wait) == 0);
    const std::string err = c.stderr_text();
    if (level != "-q") CHECK_THAT(err, Catch::Contains("reconnecting"));
    CHECK(err.find(k_code) == std::string::npos);
    Bytes heartbeat = read_file(hb);
    REQUIRE_FALSE(heartbeat.empty());
    CHECK(std::string(heartbeat.begin(), heartbeat.end()).find(k_code) == std::string::npos);
  }
}

// Not under qemu: /proc/PID/cmdline shows qemu's own argv, which the program cannot rewrite.
TEST_CASE("secrets: the access code leaves the command line as soon as it is read, in every form",
          "[not-under-qemu]") {
  SimulatorProcess sim({}, "30");
  const std::vector<std::string> base = {k_binary, "--host", "127.0.0.1", "--source", "jpeg", "--port", sim.port()};
  auto shown_to_ps = [&](std::vector<std::string> argv, std::vector<std::pair<std::string, std::string>> env = {}) {
    ChildProcess c(ChildOptions{std::move(argv), std::move(env), k_cli_env_vars, true});
    REQUIRE(c.wait_for_stdout(1000, k_wait));  // streaming: the code was read and sent
    std::string shown = command_line_of(c);
    sigterm_exits_0_within_1s(c);
    return shown;
  };
  auto with = [&](std::vector<std::string> extra) {
    auto argv = base;
    argv.insert(argv.end(), extra.begin(), extra.end());
    return argv;
  };
  const std::string separate = shown_to_ps(with({"--access-code", k_code}));
  CHECK(separate.find(k_code) == std::string::npos);
  CHECK_THAT(separate, Catch::Contains("--access-code ******** "));
  const std::string joined = shown_to_ps(with({"--access-code=" + std::string(k_code)}));
  CHECK(joined.find(k_code) == std::string::npos);
  CHECK_THAT(joined, Catch::Contains("--access-code=********"));
  // The environment variable and --access-code-file never put it there.
  CHECK(shown_to_ps(base, {{"PRINTER_ACCESS_CODE", k_code}}).find(k_code) == std::string::npos);
  TempDir dir;
  auto secret = dir.path / "code";
  std::ofstream(secret) << k_code << "\n";
  CHECK(shown_to_ps(with({"--access-code-file", secret.string()})).find(k_code) == std::string::npos);
}

TEST_CASE("usage errors exit 2 with the reason first, --help goes to stderr, not stdout") {
  auto none = client({});
  CHECK(none.wait_for_exit(k_wait) == 2);
  CHECK_THAT(first_line(none.stderr_text()), Catch::StartsWith("error: no printer given"));
  auto mismatch = client({"--host", "h", "--access-code", k_code, "--source", "rtsps", "--format", "mjpeg"});
  CHECK(mismatch.wait_for_exit(k_wait) == 2);
  CHECK_THAT(first_line(mismatch.stderr_text()), Catch::StartsWith("error: --format mjpeg: the RTSPS camera"));
  auto help = client({"--help"});
  CHECK(help.wait_for_exit(k_wait) == 0);
  CHECK(help.stdout_size() == 0);
  CHECK_THAT(help.stderr_text(), Catch::Contains("Exit codes"));
  TempDir dir;
  std::ofstream(dir.path / "file") << "x";  // a folder that cannot be made
  auto hb = client({"--host", "h", "--access-code", k_code, "--heartbeat", (dir.path / "file/hb.json").string()});
  CHECK(hb.wait_for_exit(k_wait) == 2);
  CHECK_THAT(first_line(hb.stderr_text()), Catch::StartsWith("error: --heartbeat: cannot create the folder"));
  SimulatorProcess sim;
  auto taken = client({"simulate", "--listen", "127.0.0.1:" + sim.port(), "--access-code", k_code});
  CHECK(taken.wait_for_exit(k_wait) == 2);
  CHECK_THAT(first_line(taken.stderr_text()), Catch::Contains("cannot listen on 127.0.0.1:" + sim.port()));
}

TEST_CASE("option --demo streams from the built-in simulator through the real TLS client") {
  auto c = client({"--demo", "--frames", "2"});
  REQUIRE(c.wait_for_exit(k_wait) == 0);
  auto frames = split_jpegs(c.stdout_bytes());
  REQUIRE(frames);
  REQUIRE(frames->size() == 2);
  CHECK(read_jpeg_info(frames->at(1))->width == 1280);
  CHECK(c.stderr_text().empty());
}
