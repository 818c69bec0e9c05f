// FakePrinter: the script's command line, and its two files read back.
#include "support/fake_printer.h"

#include <signal.h>

#include <fstream>
#include <sstream>
#include <stdexcept>

#include "support/wait.h"

namespace bambu::test {

namespace {

using namespace std::chrono_literals;

constexpr const char* k_python = "/usr/bin/python3";
constexpr const char* k_script = BAMBU_TESTS_DIR "/support/fake_printer.py";
/// Python's start and the TLS login, under ASan or qemu included.
constexpr auto k_connect_limit = 20s;

std::string read_text_or_empty(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<std::string> command_line(const MqttBroker& broker, const FakePrinterOptions& o,
                                      const std::filesystem::path& dir) {
  const std::string seconds = std::to_string(static_cast<double>(o.push_interval.count()) / 1000.0);
  std::vector<std::string> argv = {
      k_python, k_script, "--port", std::to_string(broker.port()), "--ca-file", broker.certificate_path().string(),
      "--username", o.as_bblp ? MqttBroker::k_user : MqttBroker::k_printer_user,
      "--password", o.as_bblp ? broker.access_code() : broker.printer_password(),
      "--serial", broker.serial(), "--state-dir", dir.string(), "--model", o.model,
      "--gcode-state", o.gcode_state, "--mc-percent", std::to_string(o.mc_percent),
      "--layer-num", std::to_string(o.layer_num), "--total-layer-num", std::to_string(o.total_layer_num),
      "--mc-remaining-time", std::to_string(o.mc_remaining_time), "--subtask-name", o.subtask_name,
      "--chamber-light", o.chamber_light, "--push-interval", seconds};
  if (o.rtsp_url) argv.insert(argv.end(), {"--rtsp-url", *o.rtsp_url});
  if (o.chamber_light2) argv.emplace_back("--chamber-light2");
  if (o.no_answer) argv.emplace_back("--no-answer");
  for (const auto& mode : o.garble) argv.insert(argv.end(), {"--garble", mode});
  return argv;
}

}  // namespace

std::string FakePrinterRequest::command(const std::string& kind) const {
  if (!payload.is_object() || !payload.contains(kind) || !payload[kind].is_object()) return "";
  const auto& body = payload[kind];
  return body.contains("command") && body["command"].is_string() ? body["command"].get<std::string>() : "";
}

FakePrinter::FakePrinter(const MqttBroker& broker, FakePrinterOptions options) {
  process_ = std::make_unique<ChildProcess>(ChildOptions{command_line(broker, options, dir_.path), {}, {}, false});
  const bool ready = wait_until(
      [&] {
        const nlohmann::json s = state();
        return (s.is_object() && s.value("subscribed", false)) || process_->exited_at().has_value();
      },
      k_connect_limit, 10ms);
  if (!ready || process_->exited_at()) {
    throw std::runtime_error("fake_printer.py did not log in and subscribe; its stderr:\n" + log());
  }
}

FakePrinter::~FakePrinter() {
  try {
    process_->signal(SIGTERM);
    process_->wait_for_exit(5s);
  } catch (...) {
    // The ChildProcess destructor still kills and reaps it by its pid.
  }
}

std::vector<FakePrinterRequest> FakePrinter::requests() const {
  std::vector<FakePrinterRequest> result;
  std::istringstream lines(read_text_or_empty(dir_.path / "requests.jsonl"));
  std::string line;
  while (std::getline(lines, line)) {
    if (lines.eof()) break;  // no '\n' yet: the script is still writing it
    const nlohmann::json entry = nlohmann::json::parse(line);
    FakePrinterRequest request;
    request.time = entry.at("time").get<double>();
    request.topic = entry.at("topic").get<std::string>();
    request.payload = entry.at("payload");
    request.raw = entry.value("raw", "");
    result.push_back(std::move(request));
  }
  return result;
}

std::optional<FakePrinterRequest> FakePrinter::wait_for_request(
    const std::function<bool(const FakePrinterRequest&)>& match, std::chrono::milliseconds limit) const {
  std::optional<FakePrinterRequest> found;
  wait_until(
      [&] {
        for (auto& request : requests()) {
          if (match(request)) {
            found = std::move(request);
            return true;
          }
        }
        return false;
      },
      limit, 10ms);
  return found;
}

std::optional<std::string> FakePrinter::light(const std::string& node) const {
  const nlohmann::json s = state();
  if (!s.is_object() || !s.contains("lights") || !s["lights"].contains(node)) return std::nullopt;
  return s["lights"][node].get<std::string>();
}

nlohmann::json FakePrinter::state() const {
  // Replaced by rename, so a read sees one whole version or none yet.
  return nlohmann::json::parse(read_text_or_empty(dir_.path / "state.json"), nullptr, false);
}

}  // namespace bambu::test
