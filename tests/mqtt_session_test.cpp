// MqttSession (mqtt/mqtt_session.h) against a real broker: Debian's
// mosquitto as the printer's (support/mqtt_broker.h) and fake_printer.py as
// its firmware (support/fake_printer.h). The full report after pushall,
// deltas, the ledctrl round trip, a refused login, a refused certificate
// (no CONNECT reaches the broker), brokers that close or never answer,
// malformed reports, and how fast the session stops.
#include <mosquitto.h>
#include <signal.h>

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <optional>
#include <regex>
#include <string>

#include "core/stop_flag.h"
#include "mqtt/chamber_light_control.h"
#include "mqtt/mqtt_session.h"
#include "support/captured_log.h"
#include "support/fake_printer.h"
#include "support/mqtt_broker.h"
#include "support/ports.h"
#include "support/wait.h"

using namespace std::chrono_literals;
using bambu::ChamberLight;
using bambu::Clock;
using bambu::LogLevel;
using bambu::MqttOptions;
using bambu::MqttSession;
using bambu::PrinterState;
using bambu::StopFlag;
using bambu::test::CapturedLog;
using bambu::test::FakePrinter;
using bambu::test::FakePrinterOptions;
using bambu::test::MqttBroker;
using bambu::test::wait_until;

namespace {

// Generous: ASan and a loaded machine slow the broker and the fake printer.
constexpr auto k_wait = 20s;

// The options a user would give for `broker`: --ca-file with its
// certificate, the serial as the expected CN.
MqttOptions options_for(const MqttBroker& broker) {
  MqttOptions options;
  options.host = "127.0.0.1";
  options.port = static_cast<std::uint16_t>(broker.port());
  options.serial = broker.serial();
  options.access_code = broker.access_code();
  options.tls.ca_file = broker.certificate_path().string();
  options.tls.expected_cn = broker.serial();
  return options;
}

// Publishes one report as the printer would, logged in as the broker's
// printer user: connect, publish (QoS 1, so the broker has it when this
// returns), disconnect. The test fails if any step does.
void publish_report(const MqttBroker& broker, const std::string& payload) {
  mosquitto* client = mosquitto_new(nullptr, true, nullptr);
  REQUIRE(client != nullptr);
  bambu::VerifyingTlsContext tls(bambu::TlsPolicy{});
  mosquitto_int_option(client, MOSQ_OPT_SSL_CTX_WITH_DEFAULTS, 0);
  mosquitto_void_option(client, MOSQ_OPT_SSL_CTX, tls.get());
  mosquitto_username_pw_set(client, MqttBroker::k_printer_user, broker.printer_password().c_str());
  int published = 0;
  mosquitto_user_data_set(client, &published);
  mosquitto_publish_callback_set(client, [](mosquitto*, void* count, int) { ++*static_cast<int*>(count); });
  const bool sent = mosquitto_connect(client, "127.0.0.1", broker.port(), 30) == MOSQ_ERR_SUCCESS &&
                    mosquitto_publish(client, nullptr, broker.report_topic().c_str(), static_cast<int>(payload.size()),
                                      payload.data(), 1, false) == MOSQ_ERR_SUCCESS &&
                    wait_until([&] { return mosquitto_loop(client, 10, 1) == MOSQ_ERR_SUCCESS && published > 0; },
                               k_wait);
  mosquitto_disconnect(client);
  mosquitto_destroy(client);
  REQUIRE(sent);
}

// Lines of `text` that contain `needle`.
std::size_t count_lines(const std::string& text, const std::string& needle) {
  std::size_t count = 0;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    if (text.substr(start, end - start).find(needle) != std::string::npos) ++count;
    start = end + 1;
  }
  return count;
}

std::size_t occurrences(const std::string& text, const std::string& needle) {
  std::size_t count = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + needle.size())) ++count;
  return count;
}

// `options` with no report of the printer's own for a minute: what the
// session merges is then only what it asked for, or what the test sends.
FakePrinterOptions quiet(FakePrinterOptions options) {
  options.push_interval = 60s;
  return options;
}

// A broker, the fake printer on it, and a session logged in as a user would
// (options_for), started last.
struct Rig {
  explicit Rig(FakePrinterOptions printer_options = {}, MqttSession::OnChange on_change = nullptr)
      : printer(broker, quiet(std::move(printer_options))),
        session(options_for(broker), captured.log, stop, std::move(on_change)) {}

  MqttBroker broker;
  FakePrinter printer;
  CapturedLog captured{LogLevel::info};
  StopFlag stop;
  MqttSession session;
};

}  // namespace

TEST_CASE("MqttSession: asks once for pushall and get_version and merges the full report") {
  FakePrinterOptions printer_options;
  printer_options.gcode_state = "RUNNING";
  printer_options.mc_percent = 45;
  printer_options.layer_num = 60;
  printer_options.total_layer_num = 240;
  printer_options.mc_remaining_time = 83;
  printer_options.subtask_name = "benchy_plate_1";
  printer_options.chamber_light = "on";
  printer_options.rtsp_url = "disable";
  Rig rig(printer_options);
  auto& [broker, printer, captured, stop, session] = rig;

  REQUIRE(session.wait_for_full_report(Clock::now() + k_wait));
  REQUIRE(session.wait_for([](const PrinterState& s) { return s.firmware_version.has_value(); },
                           Clock::now() + k_wait));
  // Every field the fake printer's full report and version answer carry.
  PrinterState want;
  want.print_state = "RUNNING";
  want.print_percent = 45;
  want.print_layer = 60;
  want.print_layers_total = 240;
  want.print_remaining_minutes = 83;
  want.print_job = "benchy_plate_1";
  want.chamber_light = "on";
  want.rtsp_url = "disable";
  want.firmware_version = "01.07.00.00";
  want.full_report_seen = true;
  CHECK(session.state() == want);
  CHECK(session.connected());
  CHECK(session.last_error().empty());
  CHECK(std::regex_match(session.client_id(), std::regex("bambu-stream-[0-9]+-[0-9a-f]{8}")));
  CHECK(broker.wait_for_log(session.client_id(), k_wait));

  // Exactly one of each, in that order: never periodically.
  const auto requests = printer.requests();
  REQUIRE(requests.size() == 2);
  CHECK(requests[0].raw.empty());
  CHECK(requests[0].payload == nlohmann::json::parse(R"({"pushing":{"sequence_id":"0","command":"pushall"}})"));
  CHECK(requests[1].payload == nlohmann::json::parse(R"({"info":{"sequence_id":"0","command":"get_version"}})"));
  CHECK(requests[0].topic == broker.request_topic());
  CHECK(captured.text().find(broker.access_code()) == std::string::npos);
}

TEST_CASE("MqttSession: a delta merges into the full report, and on_change sees it") {
  FakePrinterOptions printer_options;
  printer_options.gcode_state = "RUNNING";
  printer_options.mc_percent = 45;
  printer_options.subtask_name = "benchy_plate_1";
  std::atomic<int> changes{0};
  Rig rig(printer_options, [&](const MqttSession&, const PrinterState&) { ++changes; });
  auto& [broker, printer, captured, stop, session] = rig;
  REQUIRE(session.wait_for_full_report(Clock::now() + k_wait));
  const int before = changes.load();

  publish_report(broker, R"({"print":{"command":"push_status","msg":1,"sequence_id":"9","mc_percent":46,"layer_num":61}})");
  REQUIRE(session.wait_for([](const PrinterState& s) { return s.print_percent == 46; }, Clock::now() + k_wait));
  const PrinterState state = session.state();
  CHECK(state.print_layer == 61);
  CHECK(state.print_state == "RUNNING");
  CHECK(state.print_job == "benchy_plate_1");
  CHECK(changes.load() > before);
  CHECK(captured.text().empty());
}

TEST_CASE("MqttSession: ledctrl switches the chamber light and the report says so") {
  FakePrinterOptions printer_options;
  printer_options.model = "H2D";
  printer_options.chamber_light = "off";
  printer_options.chamber_light2 = true;
  Rig rig(printer_options);
  auto& [broker, printer, captured, stop, session] = rig;
  REQUIRE(session.wait_for_full_report(Clock::now() + k_wait));
  CHECK(session.state().chamber_light == "off");

  REQUIRE(session.set_chamber_light(ChamberLight::first, true));
  CHECK(session.wait_for([](const PrinterState& s) { return s.chamber_light == "on"; }, Clock::now() + k_wait));
  CHECK(printer.light("chamber_light") == "on");
  const auto request = printer.wait_for_request(
      [](const auto& r) { return r.command("system") == "ledctrl"; }, k_wait);
  REQUIRE(request);
  CHECK(request->payload == nlohmann::json::parse(
                                R"({"system":{"sequence_id":"0","command":"ledctrl","led_node":"chamber_light",)"
                                R"("led_mode":"on","led_on_time":500,"led_off_time":500,"loop_times":1,"interval_time":1000}})"));

  REQUIRE(session.set_chamber_light(ChamberLight::second, true));
  CHECK(session.wait_for([](const PrinterState& s) { return s.chamber_light2 == "on"; }, Clock::now() + k_wait));
  REQUIRE(session.set_chamber_light(ChamberLight::first, false));
  CHECK(session.wait_for([](const PrinterState& s) { return s.chamber_light == "off"; }, Clock::now() + k_wait));
  CHECK(printer.light("chamber_light") == "off");
  CHECK(captured.text().empty());
}

TEST_CASE("MqttSession: a wrong access code gives one clear line and the session keeps retrying") {
  MqttBroker broker;
  CapturedLog captured(LogLevel::info);
  StopFlag stop;
  MqttOptions options = options_for(broker);
  options.access_code = "87654321";
  MqttSession session(options, captured.log, stop);
  // Three attempts (after waits of 1 and 2 s), each refused by the broker.
  // Mosquitto names a refused client <unknown>.
  const bool retried = wait_until([&] { return occurrences(broker.log(), "Sending CONNACK to 127.0.0.1 (0, 5)") >= 3; }, k_wait);
  INFO(broker.log());
  INFO(captured.text());
  REQUIRE(retried);
  const std::string text = captured.text();
  CHECK(count_lines(text, "mqtt:") == 1);
  CHECK(count_lines(text, "warning: mqtt: MQTT broker 127.0.0.1:" + std::to_string(broker.port()) +
                              ": the broker refused the login: not authorised (CONNACK 5): check the access code; "
                              "retrying") == 1);
  CHECK(text.find("87654321") == std::string::npos);
  CHECK_FALSE(session.connected());
  CHECK(session.last_error().find("not authorised") != std::string::npos);
  CHECK_FALSE(session.state().full_report_seen);
}

TEST_CASE("MqttSession: a certificate for another serial is refused before CONNECT") {
  MqttBroker broker;
  CapturedLog captured(LogLevel::info);
  StopFlag stop;
  MqttOptions options = options_for(broker);
  options.tls.expected_cn = "01P00A999999999";
  MqttSession session(options, captured.log, stop);
  REQUIRE(wait_until([&] { return count_lines(captured.text(), "mqtt:") >= 1; }, k_wait));
  CHECK(captured.text() == "warning: mqtt: MQTT broker 127.0.0.1:" + std::to_string(broker.port()) +
                               ": the printer's certificate is for serial '" + broker.serial() +
                               "', not --serial '01P00A999999999'; the TLS handshake was refused, so the access "
                               "code was not sent; retrying\n");
  // The broker saw TLS handshakes fail, and never our client id (CONNECT).
  const bool failed = broker.wait_for_log("OpenSSL Error", k_wait);
  INFO(broker.log());
  REQUIRE(failed);
  CHECK(broker.log().find(session.client_id()) == std::string::npos);
  CHECK(broker.log().find(MqttBroker::k_user) == std::string::npos);
}

TEST_CASE("MqttSession: a fingerprint that does not match is refused before CONNECT") {
  MqttBroker broker;
  CapturedLog captured(LogLevel::info);
  StopFlag stop;
  MqttOptions options = options_for(broker);
  options.tls = {};
  options.tls.fingerprint = bambu::Fingerprint{};  // all zero: matches nothing
  MqttSession session(options, captured.log, stop);
  REQUIRE(wait_until([&] { return count_lines(captured.text(), "mqtt:") >= 1; }, k_wait));
  CHECK(captured.text().find("does not match --tls-fingerprint "
                             "0000000000000000000000000000000000000000000000000000000000000000; the TLS handshake was "
                             "refused") != std::string::npos);
  CHECK(broker.log().find(session.client_id()) == std::string::npos);
}

TEST_CASE("MqttSession: with no certificate policy any certificate is accepted") {
  MqttBroker broker;
  FakePrinter printer(broker, quiet({}));
  CapturedLog captured(LogLevel::info);
  StopFlag stop;
  MqttOptions options = options_for(broker);
  options.tls = {};
  MqttSession session(options, captured.log, stop);
  CHECK(session.wait_for_full_report(Clock::now() + k_wait));
}

TEST_CASE("MqttSession: a port that accepts and never answers: one line after the CONNACK timeout", "[long]") {
  bambu::test::LoopbackPort silent(true);
  CapturedLog captured(LogLevel::info);
  StopFlag stop;
  MqttOptions options;
  options.host = "127.0.0.1";
  options.port = silent.port();
  options.serial = "01P00A000000001";
  options.access_code = "12345678";
  MqttSession session(options, captured.log, stop);
  const std::string line = "warning: mqtt: MQTT broker 127.0.0.1:" + std::to_string(silent.port()) +
                           ": the broker never answered (no CONNACK within 10 s); retrying\n";
  REQUIRE(wait_until([&] { return !captured.text().empty(); }, 30s));
  CHECK(captured.text() == line);
  // It stops at once even in the middle of the next attempt.
  const auto asked = Clock::now();
  stop.request_stop(bambu::StopReason::signal);
  session.close();
  CHECK(Clock::now() - asked < 1s);
}

TEST_CASE("MqttSession: a port that closes every connection, and a closed port") {
  CapturedLog captured(LogLevel::info);
  StopFlag stop;
  MqttOptions options;
  options.host = "127.0.0.1";
  options.serial = "01P00A000000001";
  options.access_code = "12345678";
  {
    bambu::test::ClosingPort closing;
    options.port = closing.port();
    MqttSession session(options, captured.log, stop);
    REQUIRE(wait_until([&] { return closing.connections() >= 2; }, k_wait));
    session.close();
    CHECK(count_lines(captured.text(), "mqtt:") == 1);
    CHECK(captured.text().find("127.0.0.1:" + std::to_string(closing.port())) != std::string::npos);
  }
  bambu::test::LoopbackPort refusing(false);
  options.port = refusing.port();
  MqttSession session(options, captured.log, stop);
  REQUIRE(wait_until([&] { return count_lines(captured.text(), "mqtt:") == 2; }, k_wait));
  INFO(captured.text());
  // "cannot connect: Connection refused", or, when the refusal came during
  // libmosquitto's TLS handshake, which takes the socket's error itself,
  // "the TLS handshake did not complete: the port refused ...".
  const std::string second = captured.text().substr(captured.text().find('\n') + 1);
  CHECK(second.find("warning: mqtt: MQTT broker 127.0.0.1:" + std::to_string(refusing.port()) + ": ") == 0);
  CHECK(second.find("refused") != std::string::npos);
}

TEST_CASE("MqttSession: a broker that goes away, or stops answering, gives one line and the session retries", "[long]") {
  CapturedLog captured(LogLevel::info);
  StopFlag stop;
  SECTION("the broker ends") {
    std::optional<MqttBroker> broker(std::in_place);
    const std::string where = "warning: mqtt: MQTT broker 127.0.0.1:" + std::to_string(broker->port()) + ": ";
    MqttSession session(options_for(*broker), captured.log, stop);
    REQUIRE(wait_until([&] { return session.connected(); }, k_wait));
    broker.reset();
    REQUIRE(wait_until([&] { return !captured.text().empty(); }, k_wait));
    CHECK_THAT(captured.text(), Catch::StartsWith(where + "the broker closed the connection ("));
    CHECK_FALSE(session.connected());
  }
  SECTION("the broker stops answering: the keepalive ends the connection") {
    MqttBroker broker;
    MqttOptions options = options_for(broker);
    options.keepalive_s = 5;  // a PINGREQ after 5 s idle, the end 5 s later
    MqttSession session(options, captured.log, stop);
    REQUIRE(wait_until([&] { return session.connected(); }, k_wait));
    REQUIRE(::kill(broker.pid(), SIGSTOP) == 0);
    const bool ended = wait_until([&] { return !captured.text().empty(); }, 30s);
    ::kill(broker.pid(), SIGCONT);
    REQUIRE(ended);
    CHECK(captured.text() == "warning: mqtt: MQTT broker 127.0.0.1:" + std::to_string(broker.port()) +
                                 ": the broker stopped answering (no reply within the keepalive); retrying\n");
  }
}

TEST_CASE("MqttSession: malformed, 10 MB and deep reports give one line and the state stays") {
  FakePrinterOptions printer_options;
  printer_options.gcode_state = "PAUSE";
  printer_options.mc_percent = 12;
  printer_options.garble = {"bad-json", "huge", "deep", "wrong-types", "not-object", "empty"};
  Rig rig(printer_options);
  auto& [broker, printer, captured, stop, session] = rig;
  REQUIRE(session.wait_for_full_report(Clock::now() + k_wait));
  REQUIRE(session.wait_for([](const PrinterState& s) { return s.firmware_version.has_value(); },
                           Clock::now() + k_wait));
  PrinterState state = session.state();
  INFO(captured.text());
  CHECK(state.print_state == "PAUSE");
  CHECK(state.print_percent == 12);
  // The first bad report passes the throttle, the other five wait a minute.
  CHECK(captured.text() ==
        "warning: mqtt: report refused: not JSON (error at byte 58)\n");

  // Sent after the full report, each leaves the state as it was.
  publish_report(broker, R"({"print":{"command":"push_status","msg":1,"mc_percent":)" + std::string(100000, '[') +
                             std::string(100000, ']') + "}}");
  publish_report(broker, std::string(10 * 1000 * 1000, ' '));
  publish_report(broker, R"({"print":{"command":"push_status","msg":1,"layer_num":2}})");
  REQUIRE(session.wait_for([](const PrinterState& s) { return s.print_layer == 2; }, Clock::now() + k_wait));
  state.print_layer = 2;
  CHECK(session.state() == state);
  CHECK(count_lines(captured.text(), "mqtt:") == 1);
}

TEST_CASE("MqttSession: the StopFlag ends the thread within its poll interval, connected or waiting") {
  {
    Rig rig;
    REQUIRE(rig.session.wait_for_full_report(Clock::now() + k_wait));
    const auto asked = Clock::now();
    rig.stop.request_stop(bambu::StopReason::signal);
    // wait_for returns once the thread has ended, before its deadline.
    CHECK_FALSE(rig.session.wait_for([](const PrinterState&) { return false; }, Clock::now() + k_wait));
    CHECK(Clock::now() - asked < 1s);
    CHECK_FALSE(rig.session.connected());
  }
  MqttBroker broker;
  CapturedLog captured(LogLevel::info);
  StopFlag stop;
  MqttOptions options = options_for(broker);
  options.access_code = "87654321";  // refused: the session waits between attempts
  MqttSession session(options, captured.log, stop);
  REQUIRE(wait_until([&] { return !session.last_error().empty(); }, k_wait));
  const auto asked = Clock::now();
  session.close();
  CHECK(Clock::now() - asked < 1s);
  CHECK(captured.text().find("not authorised") != std::string::npos);
}

TEST_CASE("ChamberLightControl: an H2D's two chamber lights on while wanted, both back off after") {
  FakePrinterOptions printer_options;
  printer_options.model = "H2D";
  printer_options.chamber_light = "off";
  printer_options.chamber_light2 = true;
  std::atomic<bambu::ChamberLightControl*> control{nullptr};
  Rig rig(printer_options, [&](const MqttSession&, const PrinterState& state) {
    if (auto* c = control.load()) c->on_state(state);
  });
  auto& [broker, printer, captured, stop, session] = rig;
  REQUIRE(session.wait_for_full_report(Clock::now() + k_wait));
  std::atomic<int> holds{0};
  bambu::ChamberLightControl light(session, captured.log, [&](Clock::time_point until) {
    CHECK(until > Clock::now() + 1s);
    ++holds;
  });
  light.on_state(session.state());
  control = &light;

  light.set_wanted(true);
  REQUIRE(wait_until([&] { return printer.light("chamber_light") == "on" && printer.light("chamber_light2") == "on"; },
                     k_wait));
  CHECK(light.holding());
  CHECK(holds.load() >= 2);  // one per light switched on
  // The lights' reports come back; nothing is sent again meanwhile.
  REQUIRE(session.wait_for([](const PrinterState& s) { return s.chamber_light == "on" && s.chamber_light2 == "on"; },
                           Clock::now() + k_wait));
  light.set_wanted(false);
  REQUIRE(wait_until(
      [&] { return printer.light("chamber_light") == "off" && printer.light("chamber_light2") == "off"; }, k_wait));
  CHECK_FALSE(light.holding());
  session.close();  // no callback reaches `light` after this
  control = nullptr;
  std::size_t ledctrl = 0;
  for (const auto& r : printer.requests()) ledctrl += r.command("system") == "ledctrl" ? 1 : 0;
  CHECK(ledctrl == 4);
  CHECK(captured.text().find("switched chamber_light2 on") != std::string::npos);
}
