// MqttSession: one process's MQTT client of a printer's broker (port 8883),
// on its own thread, keeping a PrinterState from the printer's reports.
//
// Protocol (https://github.com/Doridian/OpenBambuAPI/blob/main/mqtt.md):
// MQTT 3.1.1 over TLS, user "bblp" with the access code as password; the
// printer publishes JSON on device/SERIAL/report and reads commands on
// device/SERIAL/request. After each CONNACK the session asks once for a
// full report (pushall) and for the firmware version (get_version), as
// ha-bambulab does on connect (pybambu bambu_client.py,
// subscribe_and_request_info); never periodically: a pushall is heavy for a
// P1's CPU, and P1 owners saw replies slow to minutes under repeated ones
// (t0nyz0/BambuBoard, issue "Model image doesn't refresh",
// https://github.com/t0nyz0/BambuBoard/issues/8).
//
// It never stops the video: nothing it meets (refused login, wrong
// certificate, a broker that closes, a malformed report) throws out of its
// thread; each becomes last_error() and one throttled log line, and the
// session reconnects with backoff until stopped.
#pragma once

#include <array>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "config/mqtt_options.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/stop_flag.h"
#include "core/throttle.h"
#include "pipeline/printer_state.h"
#include "transport/tls.h"

struct mosquitto;
struct mosquitto_message;

namespace bambu {

/// The chamber lights a ledctrl command can switch (led_node).
enum class ChamberLight {
  first,   ///< "chamber_light": every model's
  second,  ///< "chamber_light2": the H2D's second one
};

/// The ledctrl request's led_node word for `light`.
std::string_view to_string(ChamberLight light);

/// The JSON of one ledctrl request turning `light` on or off, as
/// ha-bambulab (pybambu commands.py, CHAMBER_LIGHT_ON) and OpenBambuAPI
/// (system.ledctrl) send it: the flashing fields are required even for
/// "on" and "off".
std::string ledctrl_request(ChamberLight light, bool on);

class MqttSession {
 public:
  /// Waits between reconnects: the first failure waits 1 s, then 2, 5, 10,
  /// and 30 s from then on; a session that reached CONNACK starts over.
  static constexpr std::array<std::chrono::seconds, 5> k_backoff{
      std::chrono::seconds(1), std::chrono::seconds(2), std::chrono::seconds(5), std::chrono::seconds(10),
      std::chrono::seconds(30)};
  /// Longest wait from the TCP connect to the broker's CONNACK.
  static constexpr std::chrono::seconds k_connack_timeout{10};
  /// Longest time the thread goes without looking at the StopFlag.
  static constexpr std::chrono::milliseconds k_poll_interval{100};

  /// Longest time close() spends sending what is queued and a DISCONNECT.
  static constexpr std::chrono::milliseconds k_close_flush{300};

  /// Called on the session's thread, with the session and its state now,
  /// after each report that changed the state and each change of
  /// connected() or last_error() (possibly before the constructor has
  /// returned: use the session given, not a pointer stored after); must not
  /// block, must not throw. It may call set_chamber_light().
  using OnChange = std::function<void(const MqttSession& session, const PrinterState& state)>;

  /// Builds the TLS context from `options.tls` and starts the thread, which
  /// connects at once; returns without waiting for it. `log` and `stop`
  /// must outlive the session; raising `stop` ends the thread within
  /// k_poll_interval and k_close_flush (plus a name lookup under way: getaddrinfo, bounded
  /// by the resolver's timeouts). Throws FatalError(usage) if --ca-file
  /// cannot be read, std::runtime_error if libmosquitto or OpenSSL cannot
  /// start.
  MqttSession(MqttOptions options, const Logger& log, const StopFlag& stop, OnChange on_change = nullptr);
  /// Calls close().
  ~MqttSession();
  MqttSession(const MqttSession&) = delete;
  MqttSession& operator=(const MqttSession&) = delete;

  /// Ends the thread and the connection: a connected session first sends
  /// what is queued (a ledctrl) and a DISCONNECT, within k_close_flush;
  /// then within k_poll_interval. Idempotent; wakes every wait_for().
  void close();

  /// A copy of the state now.
  PrinterState state() const;
  /// Waits until `ready(state)` holds, `deadline` passes, or the session
  /// stops; returns whether it held. `ready` runs under the session's lock:
  /// it must be quick and must not call back into the session.
  bool wait_for(const std::function<bool(const PrinterState&)>& ready, Deadline deadline) const;
  /// wait_for() a full report (PrinterState::full_report_seen).
  bool wait_for_full_report(Deadline deadline) const;

  /// True between an accepted CONNACK and the connection's end.
  bool connected() const;
  /// The last failure in one line (the same words as its log line); empty
  /// until the first one.
  std::string last_error() const;
  /// This session's MQTT client id: "bambu-stream-PID-RANDOM" (8 hex
  /// digits), unique so that two processes never push each other off the
  /// broker.
  const std::string& client_id() const { return client_id_; }

  /// Publishes one ledctrl request (QoS 0) switching `light`; the new mode
  /// shows in the state when the printer's next report says so. Returns
  /// false, sending nothing, if not connected or libmosquitto refused it.
  /// Never blocks on the network.
  bool set_chamber_light(ChamberLight light, bool on);

 private:
  struct MosquittoDeleter {
    void operator()(mosquitto* client) const;
  };
  using Client = std::unique_ptr<mosquitto, MosquittoDeleter>;

  // How an attempt ended: libmosquitto's return code and errno.
  struct Ending {
    int rc = 0;
    int error = 0;
  };
  // What kind of failure ended an attempt: a new kind is logged at once.
  enum class FailureKind { none, unreachable, certificate, login, silent, closed };
  struct Failure {
    FailureKind kind = FailureKind::none;
    std::string line;  // the log line's text, naming the broker
  };

  void run() noexcept;
  bool run_attempt();
  Client new_client();
  Ending drive(mosquitto* client);
  Failure describe(const Ending& ending);
  void report_failure(const Failure& failure);
  bool stopping() const;
  bool publish(mosquitto* client, const std::string& payload);
  void set_connected(bool connected);
  void notify_change();
  void say_goodbye(mosquitto* client);

  static void on_connect(mosquitto* client, void* self, int rc) noexcept;
  static void on_disconnect(mosquitto* client, void* self, int rc) noexcept;
  static void on_message(mosquitto* client, void* self, const mosquitto_message* message) noexcept;
  static void on_log(mosquitto* client, void* self, int level, const char* text) noexcept;
  void handle_connack(mosquitto* client, int rc);
  void handle_report(const mosquitto_message& message);

  const MqttOptions options_;
  const Logger& log_;
  const StopFlag& stop_;
  const OnChange on_change_;
  const std::string client_id_;
  const std::string report_topic_;
  const std::string request_topic_;
  VerifyingTlsContext tls_;  // before every client: they hold its SSL_CTX
  StopFlag closing_;          // raised by close()

  mutable std::mutex mutex_;  // guards the members below it
  mutable std::condition_variable changed_;
  PrinterState state_;
  bool connected_ = false;
  bool finished_ = false;  // the thread has ended
  std::string last_error_;

  // The attempt's client, for set_chamber_light (owned by run_attempt). Its
  // own lock, never held by the session's thread inside libmosquitto, whose
  // callbacks take mutex_.
  std::mutex client_mutex_;
  mosquitto* client_ = nullptr;

  // Used by the session's thread only.
  int connack_rc_ = -1;  // the last CONNACK's return code; -1 before one
  bool was_connected_ = false;
  int disconnect_rc_ = 0;  // why libmosquitto last said the connection ended (on_disconnect)
  FailureKind logged_kind_ = FailureKind::none;  // of the last failure logged since the last CONNACK
  Throttle repeated_failure_{std::chrono::minutes(1)};
  Throttle bad_report_{std::chrono::minutes(1)};

  std::thread thread_;  // last: starts once the rest exists
};

}  // namespace bambu
