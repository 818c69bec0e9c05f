#include "mqtt/printer_report.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "core/bounded_json.h"

namespace bambu {

namespace {

using nlohmann::json;

// At most this many ignored fields are named in a problem line; the rest
// are counted, so the line stays short whatever the payload holds.
constexpr std::size_t k_max_named_problems = 4;
// Largest layer count or minute count taken as real: a year of minutes,
// and far more layers than any build volume has.
constexpr std::int64_t k_max_count = 600000;

// The fields of one payload that were ignored, as "print.mc_percent (why)".
class Problems {
 public:
  void add(std::string field, std::string_view why) {
    if (named_.size() < k_max_named_problems) {
      named_.push_back(std::move(field) + " (" + std::string(why) + ")");
    } else {
      ++unnamed_;
    }
  }
  std::string line() const {
    if (named_.empty()) return {};
    std::string text = "report fields ignored: ";
    for (std::size_t i = 0; i < named_.size(); ++i) text += (i ? ", " : "") + named_[i];
    if (unnamed_ > 0) text += " and " + std::to_string(unnamed_) + " more";
    return text;
  }

 private:
  std::vector<std::string> named_;
  std::size_t unnamed_ = 0;
};

// A JSON integer within [low, high], or nullopt (floats, strings and
// out-of-range values included).
std::optional<int> integer_in(const json& value, std::int64_t low, std::int64_t high) {
  if (value.is_number_unsigned()) {
    const auto u = value.get<std::uint64_t>();
    if (u > static_cast<std::uint64_t>(high)) return std::nullopt;
    return static_cast<int>(u);
  }
  if (value.is_number_integer()) {
    const auto i = value.get<std::int64_t>();
    if (i < low || i > high) return std::nullopt;
    return static_cast<int>(i);
  }
  return std::nullopt;
}

// Text of at most k_max_report_text bytes, or nullopt.
std::optional<std::string> bounded_text(const json& value) {
  if (!value.is_string()) return std::nullopt;
  const auto& text = value.get_ref<const std::string&>();
  if (text.size() > k_max_report_text) return std::nullopt;
  return text;
}

// Merges object[key] into `field` if present: an integer in [low, high].
void merge_integer(const json& object, const char* key, std::int64_t low, std::int64_t high,
                   std::optional<int>& field, Problems& problems) {
  const auto it = object.find(key);
  if (it == object.end()) return;
  if (auto value = integer_in(*it, low, high)) {
    field = value;
  } else {
    problems.add(std::string("print.") + key,
                 "not an integer from " + std::to_string(low) + " to " + std::to_string(high));
  }
}

// Merges object[key] into `field` if present: a bounded text. `name` is
// the field's full name for the problem line.
void merge_text(const json& object, const char* key, std::string name, std::optional<std::string>& field,
                Problems& problems) {
  const auto it = object.find(key);
  if (it == object.end()) return;
  if (auto value = bounded_text(*it)) {
    field = std::move(value);
  } else {
    problems.add(std::move(name), "not a text of at most " + std::to_string(k_max_report_text) + " bytes");
  }
}

// print.lights_report: [{"node": "chamber_light", "mode": "on"}, ...]; nodes
// other than the two chamber lights (work_light, heatbed_light) are skipped.
void merge_lights(const json& print, PrinterState& state, Problems& problems) {
  const auto it = print.find("lights_report");
  if (it == print.end()) return;
  if (!it->is_array()) {
    problems.add("print.lights_report", "not an array");
    return;
  }
  for (std::size_t i = 0; i < it->size(); ++i) {
    const json& entry = (*it)[i];
    const std::string name = "print.lights_report[" + std::to_string(i) + "]";
    const auto node = entry.is_object() ? entry.find("node") : entry.end();
    if (!entry.is_object() || node == entry.end() || !node->is_string()) {
      problems.add(name, "not an object with a text node");
      continue;
    }
    const auto& node_name = node->get_ref<const std::string&>();
    if (node_name == "chamber_light") merge_text(entry, "mode", name + ".mode", state.chamber_light, problems);
    if (node_name == "chamber_light2") merge_text(entry, "mode", name + ".mode", state.chamber_light2, problems);
  }
}

// One print.push_status object; returns whether it was a full report.
bool merge_push_status(const json& print, PrinterState& state, Problems& problems) {
  merge_text(print, "gcode_state", "print.gcode_state", state.print_state, problems);
  merge_integer(print, "mc_percent", 0, 100, state.print_percent, problems);
  merge_integer(print, "layer_num", 0, k_max_count, state.print_layer, problems);
  merge_integer(print, "total_layer_num", 0, k_max_count, state.print_layers_total, problems);
  merge_integer(print, "mc_remaining_time", 0, k_max_count, state.print_remaining_minutes, problems);
  merge_text(print, "subtask_name", "print.subtask_name", state.print_job, problems);
  merge_lights(print, state, problems);
  if (const auto ipcam = print.find("ipcam"); ipcam != print.end()) {
    if (ipcam->is_object()) {
      merge_text(*ipcam, "rtsp_url", "print.ipcam.rtsp_url", state.rtsp_url, problems);
    } else {
      problems.add("print.ipcam", "not an object");
    }
  }
  const auto msg = print.find("msg");
  const auto gcode_state = print.find("gcode_state");
  const bool full = (msg == print.end() || integer_in(*msg, 0, 0).has_value()) && gcode_state != print.end() &&
                    bounded_text(*gcode_state).has_value();
  if (full) state.full_report_seen = true;
  return full;
}

// info (the answer to get_version): module[] entry named "ota", its sw_ver.
void merge_version(const json& info, PrinterState& state, Problems& problems) {
  const auto modules = info.find("module");
  if (modules == info.end()) return;
  if (!modules->is_array()) {
    problems.add("info.module", "not an array");
    return;
  }
  for (std::size_t i = 0; i < modules->size(); ++i) {
    const json& module = (*modules)[i];
    if (!module.is_object()) continue;
    const auto name = module.find("name");
    if (name == module.end() || *name != "ota") continue;
    merge_text(module, "sw_ver", "info.module[" + std::to_string(i) + "].sw_ver", state.firmware_version, problems);
  }
}

// True if object's "command" is the text `want`.
bool has_command(const json& object, std::string_view want) {
  const auto it = object.find("command");
  return it != object.end() && it->is_string() && it->get_ref<const std::string&>() == want;
}

// Parses `payload` with nesting bounded; nullopt with `why` set if refused.
std::optional<json> parse_bounded(std::string_view payload, std::string& why) {
  JsonRefusal refusal;
  auto root = parse_json_bounded(payload, k_max_report_depth, refusal);
  if (root) return root;
  why = refusal.too_deep ? "report refused: nested deeper than " + std::to_string(k_max_report_depth) + " levels"
                         : "report refused: not JSON (error at byte " + std::to_string(refusal.byte) + ")";
  return std::nullopt;
}

ReportOutcome merge_parsed(const json& root, PrinterState& state) {
  ReportOutcome outcome;
  if (!root.is_object()) {
    outcome.rejected = true;
    outcome.problem = "report refused: not a JSON object";
    return outcome;
  }
  PrinterState next = state;
  Problems problems;
  if (const auto print = root.find("print"); print != root.end()) {
    if (!print->is_object()) {
      problems.add("print", "not an object");
    } else if (has_command(*print, "push_status")) {
      outcome.full = merge_push_status(*print, next, problems);
    }
  }
  if (const auto info = root.find("info"); info != root.end() && info->is_object()) {
    if (has_command(*info, "get_version")) merge_version(*info, next, problems);
  }
  outcome.changed = next != state;
  outcome.problem = problems.line();
  state = std::move(next);
  return outcome;
}

}  // namespace

ReportOutcome merge_report(std::string_view payload, PrinterState& state) {
  ReportOutcome refused;
  refused.rejected = true;
  if (payload.size() > k_max_report_size) {
    refused.problem = "report of " + std::to_string(payload.size()) + " bytes refused: more than " +
                      std::to_string(k_max_report_size);
    return refused;
  }
  try {
    auto root = parse_bounded(payload, refused.problem);
    if (!root) return refused;
    return merge_parsed(*root, state);
  } catch (...) {
    // Out of memory on a copy: the state is untouched (merge_parsed works
    // on a copy and only moves it in at the end).
    refused.problem = "report refused: out of memory";
    return refused;
  }
}

}  // namespace bambu
