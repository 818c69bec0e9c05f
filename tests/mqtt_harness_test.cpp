// The MQTT test harness itself (support/mqtt_broker.h, support/fake_printer.h):
// Debian's mosquitto as a printer's broker and fake_printer.py as its
// firmware, driven here by libmosquitto directly, as a client would: TLS with
// the broker's certificate as CA file, user bblp and the access code.
#include <mosquitto.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/stop_flag.h"
#include "support/fake_printer.h"
#include "support/mqtt_broker.h"
#include "support/wait.h"
#include "transport/tls.h"

using namespace std::chrono_literals;
using bambu::test::FakePrinter;
using bambu::test::FakePrinterOptions;
using bambu::test::FakePrinterRequest;
using bambu::test::MqttBroker;
using bambu::test::wait_until;
using nlohmann::json;

namespace {

constexpr auto k_wait = 20s;
constexpr std::size_t k_max_parsed = 1 << 20;

/// libmosquitto's global set-up, once per test program.
struct MosquittoLibrary {
  MosquittoLibrary() { mosquitto_lib_init(); }
  ~MosquittoLibrary() { mosquitto_lib_cleanup(); }
};

/// A plain libmosquitto client on its own network thread (loop_start). Its
/// callbacks only record; the test thread asserts.
class TestClient {
 public:
  TestClient(const MqttBroker& broker, const std::string& user, const std::string& password) {
    static MosquittoLibrary library;
    client_ = mosquitto_new(nullptr, true, this);
    REQUIRE(client_ != nullptr);
    REQUIRE(mosquitto_int_option(client_, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311) == MOSQ_ERR_SUCCESS);
    REQUIRE(mosquitto_tls_set(client_, broker.certificate_path().c_str(), nullptr, nullptr, nullptr, nullptr) ==
            MOSQ_ERR_SUCCESS);
    // The certificate names the serial, not 127.0.0.1: chain checked, name not.
    REQUIRE(mosquitto_tls_insecure_set(client_, true) == MOSQ_ERR_SUCCESS);
    REQUIRE(mosquitto_username_pw_set(client_, user.c_str(), password.c_str()) == MOSQ_ERR_SUCCESS);
    mosquitto_connect_callback_set(client_, [](mosquitto*, void* self, int rc) {
      static_cast<TestClient*>(self)->connack_.store(rc);
    });
    mosquitto_subscribe_callback_set(client_, [](mosquitto*, void* self, int, int, const int*) {
      static_cast<TestClient*>(self)->subacks_.fetch_add(1);
    });
    mosquitto_message_callback_set(client_, [](mosquitto*, void* self, const mosquitto_message* message) {
      auto* me = static_cast<TestClient*>(self);
      const std::lock_guard lock(me->mutex_);
      me->messages_.emplace_back(static_cast<const char*>(message->payload), message->payloadlen);
    });
    REQUIRE(mosquitto_connect(client_, "127.0.0.1", broker.port(), 30) == MOSQ_ERR_SUCCESS);
    REQUIRE(mosquitto_loop_start(client_) == MOSQ_ERR_SUCCESS);
  }
  ~TestClient() {
    mosquitto_disconnect(client_);
    mosquitto_loop_stop(client_, false);
    mosquitto_destroy(client_);
  }
  TestClient(const TestClient&) = delete;
  TestClient& operator=(const TestClient&) = delete;

  /// The CONNACK's return code (0 accepted, 5 not authorised), or -1 if
  /// none came within the limit.
  int wait_for_connack() const {
    wait_until([&] { return connack_.load() >= 0; }, k_wait);
    return connack_.load();
  }
  /// Subscribes and waits for the SUBACK.
  void subscribe(const std::string& topic) {
    const int before = subacks_.load();
    REQUIRE(mosquitto_subscribe(client_, nullptr, topic.c_str(), 0) == MOSQ_ERR_SUCCESS);
    REQUIRE(wait_until([&] { return subacks_.load() > before; }, k_wait));
  }
  void publish(const std::string& topic, const json& request) {
    const std::string text = request.dump();
    REQUIRE(mosquitto_publish(client_, nullptr, topic.c_str(), static_cast<int>(text.size()), text.data(), 0,
                              false) == MOSQ_ERR_SUCCESS);
  }
  /// Every payload received so far, in order.
  std::vector<std::string> messages() const {
    const std::lock_guard lock(mutex_);
    return messages_;
  }
  /// Waits for a received payload that parses as JSON and satisfies
  /// `match`; returns the first, or nullopt after the limit. Each payload
  /// is parsed once, and none over 1 MiB (the 10 MiB garbled report: the
  /// test program is built -O0, where parsing it takes seconds).
  template <typename Match>
  std::optional<json> wait_for_report(Match match) const {
    std::optional<json> found;
    std::size_t checked = 0;
    wait_until(
        [&] {
          const auto all = messages();
          for (; checked < all.size(); ++checked) {
            if (all[checked].size() > k_max_parsed) continue;
            json report = json::parse(all[checked], nullptr, false);
            if (!report.is_discarded() && match(report)) {
              found = std::move(report);
              return true;
            }
          }
          return false;
        },
        k_wait, 10ms);
    return found;
  }

 private:
  mosquitto* client_ = nullptr;
  std::atomic<int> connack_{-1};
  std::atomic<int> subacks_{0};
  mutable std::mutex mutex_;
  std::vector<std::string> messages_;
};

/// The body of a report's `print` object, or null (also for malformed ones).
json print_of(const json& report) {
  if (!report.is_object() || !report.contains("print") || !report["print"].is_object()) return nullptr;
  return report["print"];
}

bool is_full_report(const json& report) {
  const json print = print_of(report);
  return print.is_object() && print.value("command", "") == "push_status" && print.contains("gcode_state") &&
         print["gcode_state"].is_string();
}

json pushall(const std::string& sequence_id) {
  return {{"pushing", {{"sequence_id", sequence_id}, {"command", "pushall"}}}};
}

json ledctrl(const std::string& node, const std::string& mode) {
  return {{"system",
           {{"sequence_id", "21"}, {"command", "ledctrl"}, {"led_node", node}, {"led_mode", mode},
            {"led_on_time", 500}, {"led_off_time", 500}, {"loop_times", 0}, {"interval_time", 0}}}};
}

/// The mode of `node` in a report's lights_report, or "" if it is not there.
std::string light_mode(const json& report, const std::string& node) {
  const json print = print_of(report);
  if (!print.is_object() || !print.contains("lights_report") || !print["lights_report"].is_array()) return "";
  for (const auto& light : print["lights_report"]) {
    if (light.is_object() && light.value("node", "") == node) return light.value("mode", "");
  }
  return "";
}

std::string common_name(X509* certificate) {
  char name[256] = "";
  X509_NAME_get_text_by_NID(X509_get_subject_name(certificate), NID_commonName, name, sizeof name);
  return name;
}

}  // namespace

TEST_CASE("MQTT harness: a P1S sends deltas only, and one full report with the configured fields after pushall") {
  MqttBroker broker;
  FakePrinterOptions options;
  options.gcode_state = "RUNNING";
  options.mc_percent = 42;
  options.layer_num = 12;
  options.total_layer_num = 200;
  options.mc_remaining_time = 95;
  options.subtask_name = "benchy";
  options.push_interval = 100ms;
  FakePrinter printer(broker, options);
  TestClient client(broker, MqttBroker::k_user, broker.access_code());
  REQUIRE(client.wait_for_connack() == 0);
  client.subscribe(broker.report_topic());

  // Its own pushes before any request: deltas, never a full report.
  REQUIRE(wait_until([&] { return client.messages().size() >= 3; }, k_wait));
  for (const auto& text : client.messages()) {
    const json report = json::parse(text);
    REQUIRE(print_of(report).is_object());
    CHECK(print_of(report).value("command", "") == "push_status");
    CHECK(print_of(report).value("msg", -1) == 1);
    CHECK_FALSE(is_full_report(report));
  }

  client.publish(broker.request_topic(), pushall("7"));
  const auto full = client.wait_for_report(is_full_report);
  REQUIRE(full);
  const json& print = (*full)["print"];
  CHECK(print["sequence_id"] == "7");
  CHECK(print["msg"] == 0);
  CHECK(print["gcode_state"] == "RUNNING");
  CHECK(print["mc_percent"] == 42);
  CHECK(print["layer_num"] == 12);
  CHECK(print["total_layer_num"] == 200);
  CHECK(print["mc_remaining_time"] == 95);
  CHECK(print["subtask_name"] == "benchy");
  CHECK_FALSE(print["ipcam"].contains("rtsp_url"));
  CHECK(light_mode(*full, "chamber_light") == "off");
  CHECK(light_mode(*full, "chamber_light2").empty());

  const auto recorded = printer.wait_for_request(
      [](const FakePrinterRequest& r) { return r.command("pushing") == "pushall"; }, k_wait);
  REQUIRE(recorded);
  CHECK(recorded->topic == broker.request_topic());
  CHECK(recorded->payload == pushall("7"));
  CHECK(recorded->time > 1.7e9);
  CHECK(printer.state()["full_reports"] == 1);
}

TEST_CASE("MQTT harness: ledctrl switches the chamber light and lights_report follows") {
  MqttBroker broker;
  FakePrinterOptions options;
  options.model = "H2D";
  options.chamber_light2 = true;
  options.rtsp_url = "disable";
  FakePrinter printer(broker, options);
  REQUIRE(printer.light("chamber_light") == "off");
  REQUIRE(printer.light("chamber_light2") == "off");
  CHECK_FALSE(printer.light("heatbed_light"));
  TestClient client(broker, MqttBroker::k_user, broker.access_code());
  REQUIRE(client.wait_for_connack() == 0);
  client.subscribe(broker.report_topic());

  client.publish(broker.request_topic(), ledctrl("chamber_light2", "on"));
  const auto answer = client.wait_for_report([](const json& r) {
    return r.is_object() && r.contains("system") && r["system"].value("command", "") == "ledctrl";
  });
  REQUIRE(answer);
  CHECK((*answer)["system"]["result"] == "success");
  CHECK((*answer)["system"]["sequence_id"] == "21");
  REQUIRE(client.wait_for_report([](const json& r) { return light_mode(r, "chamber_light2") == "on"; }));
  CHECK(printer.light("chamber_light2") == "on");
  CHECK(printer.light("chamber_light") == "off");

  // An H2D pushes full reports by itself: the next one carries the light.
  const auto full = client.wait_for_report(
      [](const json& r) { return is_full_report(r) && light_mode(r, "chamber_light2") == "on"; });
  REQUIRE(full);
  CHECK((*full)["print"]["ipcam"]["rtsp_url"] == "disable");
  CHECK(light_mode(*full, "chamber_light") == "off");
}

TEST_CASE("MQTT harness: a wrong access code is refused with CONNACK not authorised") {
  MqttBroker broker;
  TestClient wrong(broker, MqttBroker::k_user, "87654321");
  CHECK(wrong.wait_for_connack() == 5);  // MQTT 3.1.1: "not authorized"
  TestClient anonymous_user(broker, "", "");
  CHECK(anonymous_user.wait_for_connack() == 5);
  CHECK(broker.wait_for_log("not authorised", k_wait));
  TestClient right(broker, MqttBroker::k_user, broker.access_code());
  CHECK(right.wait_for_connack() == 0);
}

TEST_CASE("MQTT harness: the broker's certificate has the serial as its CN, in its file and on the wire") {
  MqttBroker broker({"00M09A000000002", "24681357"});
  std::unique_ptr<FILE, decltype(&std::fclose)> file(std::fopen(broker.certificate_path().c_str(), "r"),
                                                      &std::fclose);
  REQUIRE(file);
  std::unique_ptr<X509, decltype(&X509_free)> certificate(PEM_read_X509(file.get(), nullptr, nullptr, nullptr),
                                                          &X509_free);
  REQUIRE(certificate);
  CHECK(common_name(certificate.get()) == "00M09A000000002");

  const bambu::StopFlag stop;
  auto connection = bambu::tcp_connect("127.0.0.1", static_cast<std::uint16_t>(broker.port()),
                                       bambu::Clock::now() + k_wait, stop);
  REQUIRE(connection.status == bambu::ConnectStatus::connected);
  const auto context = bambu::TlsContext::client({});
  bambu::TlsStream tls(context, std::move(connection.fd), bambu::TlsStream::Role::client);
  REQUIRE(tls.handshake(bambu::Clock::now() + k_wait, stop).status == bambu::TlsStatus::ok);
  CHECK(tls.peer_common_name() == "00M09A000000002");
  tls.close(bambu::Clock::now() + 1s);
  CHECK(broker.report_topic() == "device/00M09A000000002/report");
}

TEST_CASE("MQTT harness: get_version is answered, and garbled reports come before the true one") {
  MqttBroker broker;
  FakePrinterOptions options;
  options.garble = {"bad-json", "wrong-types", "huge", "deep", "not-object", "empty"};
  options.rtsp_url = "rtsps://192.0.2.1:322/streaming/live/1";
  options.push_interval = 60s;  // no delta between the answers
  FakePrinter printer(broker, options);
  TestClient client(broker, MqttBroker::k_user, broker.access_code());
  REQUIRE(client.wait_for_connack() == 0);
  client.subscribe(broker.report_topic());

  client.publish(broker.request_topic(), {{"info", {{"sequence_id", "3"}, {"command", "get_version"}}}});
  const auto version = client.wait_for_report([](const json& r) { return r.is_object() && r.contains("info"); });
  REQUIRE(version);
  CHECK((*version)["info"]["command"] == "get_version");
  CHECK((*version)["info"]["sequence_id"] == "3");
  CHECK((*version)["info"]["module"][0]["name"] == "ota");

  client.publish(broker.request_topic(), pushall("4"));
  REQUIRE(client.wait_for_report(is_full_report));
  const auto messages = client.messages();
  REQUIRE(messages.size() == 8);  // the version, six garbled reports, the full one
  CHECK(json::parse(messages[1], nullptr, false).is_discarded());  // cut off
  const json wrong = json::parse(messages[2]);
  CHECK(wrong["print"]["gcode_state"] == 7);
  CHECK(wrong["print"]["mc_percent"] == "fifty");
  CHECK(messages[3].size() > 10u * 1024 * 1024);
  CHECK(messages[4].size() > 200000u);
  CHECK(messages[4].find("[[[[") != std::string::npos);
  CHECK(json::parse(messages[5]).is_array());
  CHECK(messages[6].empty());
  CHECK(json::parse(messages[7])["print"]["ipcam"]["rtsp_url"] == "rtsps://192.0.2.1:322/streaming/live/1");
}

TEST_CASE("MQTT harness: with no-answer the printer records pushall and stays silent") {
  MqttBroker broker;
  FakePrinterOptions options;
  options.no_answer = true;
  options.push_interval = 60s;
  FakePrinter printer(broker, options);
  TestClient client(broker, MqttBroker::k_user, broker.access_code());
  REQUIRE(client.wait_for_connack() == 0);
  client.subscribe(broker.report_topic());
  client.publish(broker.request_topic(), pushall("9"));
  REQUIRE(printer.wait_for_request([](const FakePrinterRequest& r) { return r.command("pushing") == "pushall"; },
                                   k_wait));
  // The script answers (or not) before it records the next request: a
  // second request recorded means the first one's answer would be out.
  client.publish(broker.request_topic(), ledctrl("chamber_light", "on"));
  REQUIRE(wait_until([&] { return printer.light("chamber_light") == "on"; }, k_wait));
  REQUIRE(client.wait_for_report([](const json& r) { return r.is_object() && r.contains("system"); }));
  for (const auto& text : client.messages()) CHECK_FALSE(is_full_report(json::parse(text)));
}
