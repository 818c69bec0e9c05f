// Every misconfiguration gets a first line that names the cause and the
// fix. The pure pieces (the tunnel's header, the connect-failure
// messages, the access-code check) on values; the --source auto probe and
// a CameraClient against loopback stand-ins: ClosingPort for a port 322 that
// closes at once, the in-process Simulator with its `tunnel` fault for the
// file-transfer service on port 6000.
#include <catch2/catch.hpp>

#include <thread>

#include "cli/cli.h"
#include "protocol/file_tunnel.h"
#include "simulator/simulator.h"
#include "stream/camera_client.h"
#include "stream/source_probe.h"
#include "support/captured_log.h"
#include "support/ports.h"
#include "support/recording_sink.h"

using namespace bambu;
using namespace std::chrono_literals;
using bambu::test::CapturedLog;
using bambu::test::ClosingPort;
using bambu::test::LoopbackPort;
using bambu::test::RecordingSink;

namespace {

constexpr const char* k_code = "27182818";

StreamConfig auto_config() {
  StreamConfig c;
  c.host = "127.0.0.1";
  c.access_code = k_code;
  c.start_timeout_s = 5;
  return c;
}

ConnectResult connect_failed(ConnectStatus status, std::string detail) {
  ConnectResult r;
  r.status = status;
  r.detail = std::move(detail);
  return r;
}

}  // namespace

TEST_CASE("the file tunnel's four magics are recognised, a camera header is not") {
  for (std::uint32_t magic : {0x0101013Fu, 0x0001013Fu, 0x0102013Fu, 0x0002013Fu}) {
    INFO(std::hex << magic);
    CHECK(is_file_tunnel_header(FrameHeader{8, magic, 1, 0}));
  }
  CHECK_FALSE(is_file_tunnel_header(FrameHeader{40000, 0, 1, 0}));  // every camera frame
  CHECK_FALSE(is_file_tunnel_header(FrameHeader{40000, 0x01010140, 1, 0}));
  // The tunnel's answer as the simulator sends it, through the real decoder.
  std::array<std::uint8_t, k_frame_header_size> bytes{};
  encode_frame_header(FrameHeader{8, k_file_tunnel_login_reply, 1, 0}, bytes);
  CHECK(is_file_tunnel_header(decode_frame_header(bytes)));
}

// Not resolved for real: a lookup of any name may send a DNS query off this
// machine, so the message is built from the result tcp_connect() returns.
TEST_CASE("connect failures: a name that does not resolve, silence and refusal each have their own first line") {
  const auto resolve = describe_connect_failure(
      connect_failed(ConnectStatus::resolve_failed, "Name or service not known"), "printer.invalid", 6000, 15,
      k_jpeg_dial_advice);
  CHECK(resolve.kind == SessionOutcome::Kind::unreachable);
  CHECK(resolve.message ==
        "cannot resolve the printer address 'printer.invalid': Name or service not known: check the name, or use "
        "the printer's IP address (shown on its screen in the network settings)");
  const auto silent = describe_connect_failure(connect_failed(ConnectStatus::timed_out, "no answer"), "192.0.2.7",
                                               6000, 15, k_jpeg_dial_advice);
  CHECK(silent.message == "no answer from 192.0.2.7:6000 within 15 s (not even a refusal): is the printer on, on "
                          "this network, and the address right?");
  const auto refused = describe_connect_failure(connect_failed(ConnectStatus::refused, "Connection refused"),
                                                "192.0.2.7", 322, 15, k_rtsps_dial_advice);
  CHECK_THAT(refused.message, Catch::StartsWith("connection to 192.0.2.7:322 refused: ") &&
                                  Catch::Contains("switch on \"LAN Only Liveview\" on the printer") &&
                                  Catch::Contains("P2S, H2C, X2D"));
  const auto v6 = describe_connect_failure(connect_failed(ConnectStatus::refused, "Connection refused"), "fd00::7",
                                           6000, 15, k_jpeg_dial_advice);
  CHECK_THAT(v6.message, Catch::StartsWith("connection to [fd00::7]:6000 refused: is this the printer's address"));
  CHECK(describe_connect_failure(connect_failed(ConnectStatus::stopped, "stopped"), "h", 1, 1, k_jpeg_dial_advice)
            .kind == SessionOutcome::Kind::stopped);
}

TEST_CASE("access codes: wrong length, spaces and control characters are named, the code never is") {
  CHECK_FALSE(printer_access_code_problem("12345678", "--access-code"));
  CHECK_FALSE(printer_access_code_problem("ab%cd:12", "--access-code"));
  struct Bad {
    std::string code;
    std::string expected;
  };
  for (const Bad& bad : std::vector<Bad>{
           {"1234567", "the access code must be 8 characters, but the one given by PRINTER_ACCESS_CODE has 7:"},
           {"123456789", "the access code must be 8 characters, but the one given by PRINTER_ACCESS_CODE has 9:"},
           {"1234 678", "the access code must not contain spaces, but the one given by PRINTER_ACCESS_CODE has 1"},
           {" 12345678", "the access code must not contain spaces, but the one given by PRINTER_ACCESS_CODE has 1"},
           {"1234\t678", "the access code must not contain spaces, but the one given by PRINTER_ACCESS_CODE has 1"},
           {"1234\x01" "678", "the access code must be letters and digits, but the one given by PRINTER_ACCESS_CODE "
                              "has 1 other"},
       }) {
    INFO(bad.expected);
    auto problem = printer_access_code_problem(bad.code, "PRINTER_ACCESS_CODE");
    REQUIRE(problem);
    CHECK_THAT(*problem, Catch::StartsWith(bad.expected));
    CHECK(problem->find(bad.code) == std::string::npos);
    CHECK(problem->find("1234") == std::string::npos);  // not even part of it
  }
}

TEST_CASE("probe: a port 322 that closes at once is passed over for 6000, alone, it names LAN Only Liveview") {
  ClosingPort closing;
  LoopbackPort jpeg(true), refused(false);
  Logger log(LogLevel::error);
  StopFlag stop;
  std::string error;

  StreamConfig fallback = auto_config();
  REQUIRE(probe_source(fallback, 1s, stop, log, error, {closing.port(), jpeg.port()}));
  CHECK(fallback.source == SourceChoice::jpeg);
  CHECK(fallback.port == jpeg.port());
  CHECK(closing.connections() == 1);

  StreamConfig neither = auto_config();
  CHECK_FALSE(probe_source(neither, 1s, stop, log, error, {closing.port(), refused.port()}));
  CHECK(error == "port " + std::to_string(closing.port()) + " of 127.0.0.1 closes connections at once and port " +
                     std::to_string(refused.port()) +
                     " refused: the printer's RTSPS camera is switched off: switch on \"LAN Only Liveview\" on the "
                     "printer (off by default on P2S, H2C, X2D, and H2S/H2D from firmware 01.02.00.00)");
  CHECK(closing.connections() == 2);
}

TEST_CASE("probe: a serial with an unknown prefix falls back to probing, with a -v line saying so") {
  StreamConfig c = auto_config();
  c.serial = "ZZZ00A000000001";
  resolve_source_offline(c);
  REQUIRE(c.source == SourceChoice::automatic);  // an unknown prefix never stops --source auto
  LoopbackPort rtsps(true), jpeg(true);
  CapturedLog captured(LogLevel::debug);
  StopFlag stop;
  std::string error;
  REQUIRE(probe_source(c, 1s, stop, captured.log, error, {rtsps.port(), jpeg.port()}));
  CHECK(c.source == SourceChoice::rtsps);
  CHECK_THAT(captured.text(),
             Catch::StartsWith("debug: --source auto: serial prefix 'ZZZ' is not in the model table, so the camera "
                               "port is probed\n"));
}

TEST_CASE("source auto: 322 closed at once or refused, then the file tunnel on 6000: exit 4, the tunnel line") {
  SimulateConfig sim_config;
  sim_config.listen_port = 0;
  sim_config.access_code = k_code;
  sim_config.fault = SimulatorFault::tunnel;
  Logger quiet(LogLevel::error);
  CapturedLog sim_log(LogLevel::info);
  Simulator simulator(sim_config, sim_log.log);
  StopFlag sim_stop;
  std::thread sim_thread([&] { simulator.run(sim_stop); });
  ClosingPort closing;
  LoopbackPort refused(false);

  // Each round: the probe's bare TCP connect is one simulator session (no
  // handshake), the client's one login the next; nothing else follows.
  int session = 0;
  for (const std::uint16_t rtsps_port : {closing.port(), refused.port()}) {
    INFO("port 322 stand-in " << (rtsps_port == closing.port() ? "closes at once" : "refuses"));
    StreamConfig config = auto_config();
    StopFlag stop;
    std::string error;
    REQUIRE(probe_source(config, 1s, stop, quiet, error, {rtsps_port, simulator.port()}));
    REQUIRE(config.source == SourceChoice::jpeg);

    TlsContext tls = TlsContext::client(config.tls);
    RecordingSink sink;
    StreamStatus status("jpeg", config.host, config.port);
    CameraClient client(config, tls, sink, status, quiet, stop);
    const auto started = Clock::now();
    CHECK(client.run(error) == ExitCode::unreachable);
    CHECK(seconds_between(started, Clock::now()) < 2);  // at once, not at --start-timeout
    CHECK(error == not_a_camera_message("127.0.0.1", simulator.port()));
    CHECK(error == "port " + std::to_string(simulator.port()) +
                       " of 127.0.0.1 is this printer's file-transfer service, not a camera: this model streams "
                       "RTSPS on port 322; switch on \"LAN Only Liveview\" on the printer and use --source rtsps");
    CHECK(status.state() == StreamState::failed);
    CHECK(sink.size() == 0);
    session += 2;
  }

  sim_stop.request_stop(StopReason::requested);
  sim_thread.join();
  const std::string log = sim_log.text();
  CHECK_THAT(log, Catch::Contains("session 2 closed: fault tunnel") &&
                      Catch::Contains("session " + std::to_string(session) + " closed: fault tunnel"));
  CHECK(log.find("session " + std::to_string(session + 1)) == std::string::npos);
  CHECK(closing.connections() == 1);
}
