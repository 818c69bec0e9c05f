// FakePrinter: tests/support/fake_printer.py (paho-mqtt) as a child process,
// a printer's firmware on an MqttBroker: it answers pushall, get_version and
// ledctrl on device/SERIAL/report, pushes reports as the model does, and
// records every request it receives. The script's docstring gives the
// report shapes and their sources.
#pragma once

#include <sys/types.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "support/child_process.h"
#include "support/mqtt_broker.h"
#include "support/temp_dir.h"

namespace bambu::test {

/// How the fake printer behaves (fake_printer.py --help). The print fields
/// go into every full push_status report as they are.
struct FakePrinterOptions {
  /// P1P, P1S, A1, A1MINI: deltas only, a full report only after pushall.
  /// X1C, X1E, H2D, H2S, P2S: a full report every push_interval.
  std::string model = "P1S";
  /// print.ipcam.rtsp_url: absent when nullopt; else as given ("disable",
  /// or a URL, e.g. one with a wrong address).
  std::optional<std::string> rtsp_url;
  std::string gcode_state = "IDLE";
  int mc_percent = 0;
  int layer_num = 0;
  int total_layer_num = 0;
  int mc_remaining_time = 0;  ///< minutes, as the firmware reports it
  std::string subtask_name;
  /// The chamber light's mode at start: "on" or "off".
  std::string chamber_light = "off";
  /// A second chamber light, node chamber_light2 (H2D).
  bool chamber_light2 = false;
  /// Between the printer's own reports (deltas or full ones).
  std::chrono::milliseconds push_interval{1000};
  /// Malformed reports sent before the true one in answer to each pushall:
  /// bad-json, wrong-types, huge (over 10 MiB), deep (100000 nested
  /// arrays), not-object, empty.
  std::vector<std::string> garble;
  /// Never answer pushall or get_version (ledctrl still works).
  bool no_answer = false;
  /// Log in as the broker's bblp user instead of its own printer user.
  bool as_bblp = false;
};

/// One request the printer received, in the order received.
struct FakePrinterRequest {
  double time = 0;           ///< when it arrived: seconds since the epoch
  std::string topic;         ///< device/SERIAL/request
  nlohmann::json payload;    ///< the parsed request; null when not JSON
  std::string raw;           ///< the text, when it is not JSON
  /// payload[kind]["command"] (e.g. "pushing", "pushall"), or "" if absent.
  std::string command(const std::string& kind) const;
};

/// fake_printer.py started for `broker`; the constructor returns once the
/// script has logged in and subscribed to the request topic, or throws
/// std::runtime_error with its stderr if that takes over 20 s or it exits.
/// The destructor ends it by its pid (SIGTERM, SIGKILL after 5 s). The
/// broker must outlive it. Not copyable or movable.
class FakePrinter {
 public:
  explicit FakePrinter(const MqttBroker& broker, FakePrinterOptions options = {});
  ~FakePrinter();
  FakePrinter(const FakePrinter&) = delete;
  FakePrinter& operator=(const FakePrinter&) = delete;

  /// Every request received so far (requests.jsonl; a line still being
  /// written is left for the next call).
  std::vector<FakePrinterRequest> requests() const;
  /// Waits until a request satisfies `match`, at most `limit`; returns the
  /// first that does, or nullopt.
  std::optional<FakePrinterRequest> wait_for_request(const std::function<bool(const FakePrinterRequest&)>& match,
                                                     std::chrono::milliseconds limit) const;
  /// The mode the printer holds for light `node` ("on", "off", "flashing"),
  /// or nullopt for a node it does not have.
  std::optional<std::string> light(const std::string& node) const;
  /// The whole state.json: connected, subscribed, lights, requests,
  /// reports, full_reports.
  nlohmann::json state() const;
  /// The script's process id, while it runs.
  pid_t pid() const { return process_->pid(); }
  /// What the script wrote to stderr.
  std::string log() const { return process_->stderr_text(); }

 private:
  TempDir dir_{"fake-printer"};
  std::unique_ptr<ChildProcess> process_;
};

}  // namespace bambu::test
