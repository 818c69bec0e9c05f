// libFuzzer target: the status side's reading of a heartbeat
// (src/status/stream_health.h), i.e. what `bambu-stream status`, its HTTP
// server and the Docker HEALTHCHECK do with whatever the file holds.
//
// Input: the heartbeat file's content, as is. It goes to parse_rfc3339 (so
// bare timestamps in the corpus fuzz the date parser directly) and to
// judge_heartbeat at the fixed fuzz::k_now, whose verdict is then rendered
// by status_json, json_line and metrics_text. Checked:
// - parse_rfc3339: a canonical heartbeat timestamp comes back from
//   format_rfc3339 unchanged, and any accepted one survives
//   format -> parse to the millisecond;
// - the verdict: started iff the reason is empty; started only for a fresh
//   "streaming" heartbeat; a reason is one bounded line; age_s present iff
//   updated_at is a valid RFC 3339 string, and equal to now - updated_at;
//   invalid JSON keeps nothing;
// - status_json keeps every heartbeat field but a print key of the wrong
//   type or range, and sets started/reason/age; h.print is there iff a
//   print key is kept, with the kept values;
//   json_line is one line that parses back to the same JSON;
// - metrics_text is well-formed Prometheus text (HELP, TYPE, one sample
//   with well-formed labels, if any, and a finite number) and
//   bambu_stream_up matches the verdict.
// A failed check prints what failed and aborts (libFuzzer saves the input).
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fuzz_inputs.h"
#include "core/rfc3339.h"
#include "heartbeat/heartbeat.h"
#include "status/stream_health.h"

namespace {

using bambu::StreamHealth;
using std::chrono::system_clock;
namespace fuzz = bambu::fuzz;

[[noreturn]] void check_failed(const char* what, int line) {
  std::fprintf(stderr, "heartbeat_reader_fuzz: check failed at line %d: %s\n", line, what);
  std::abort();
}
#define FUZZ_CHECK(cond) ((cond) ? void() : check_failed(#cond, __LINE__))

constexpr std::string_view k_path = "/run/bambu/heartbeat.json";

// "2026-11-21T05:31:27.814Z": exactly what format_rfc3339 writes.
bool canonical_rfc3339(std::string_view text) {
  static constexpr std::string_view k_shape = "dddd-dd-ddTdd:dd:dd.dddZ";
  if (text.size() != k_shape.size()) return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    bool digit = text[i] >= '0' && text[i] <= '9';
    if (k_shape[i] == 'd' ? !digit : text[i] != k_shape[i]) return false;
  }
  return true;
}

void check_rfc3339(std::string_view text) {
  auto parsed = bambu::parse_rfc3339(text);
  if (!parsed) return;
  std::string formatted = bambu::format_rfc3339(*parsed);
  if (canonical_rfc3339(text)) FUZZ_CHECK(formatted == text);
  auto again = bambu::parse_rfc3339(formatted);
  FUZZ_CHECK(again.has_value());
  auto ms = std::chrono::floor<std::chrono::milliseconds>(*parsed);
  FUZZ_CHECK(*again == ms);
}

bool one_bounded_line(const std::string& reason) {
  if (reason.size() > StreamHealth::k_max_reason_size) return false;
  for (char c : reason) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return false;
  }
  return true;
}

void check_verdict(std::string_view text, const StreamHealth& h) {
  FUZZ_CHECK(h.heartbeat.is_object());
  FUZZ_CHECK(h.started == h.reason.empty());
  FUZZ_CHECK(one_bounded_line(h.reason));
  if (!nlohmann::json::accept(text)) {
    FUZZ_CHECK(!h.started && h.heartbeat.empty() && !h.age_s);
    return;
  }
  auto updated = h.heartbeat.find("updated_at");
  std::optional<system_clock::time_point> at;
  if (updated != h.heartbeat.end() && updated->is_string()) at = bambu::parse_rfc3339(updated->get<std::string>());
  auto state = h.heartbeat.find("state");
  bool has_state = state != h.heartbeat.end() && state->is_string();
  // age_s is given exactly when there is a state and a valid updated_at.
  FUZZ_CHECK(h.age_s.has_value() == (has_state && at.has_value()));
  if (h.age_s) {
    FUZZ_CHECK(std::isfinite(*h.age_s));
    double want = std::chrono::duration<double>(fuzz::k_now.time_since_epoch()).count() -
                  std::chrono::duration<double>(at->time_since_epoch()).count();
    FUZZ_CHECK(std::fabs(*h.age_s - want) <= 1e-6 * std::fmax(1.0, std::fabs(want)));
  }
  if (h.started) {
    FUZZ_CHECK(has_state && *state == "streaming");
    FUZZ_CHECK(h.age_s && std::fabs(*h.age_s) <= fuzz::k_max_age_s);
  }
}

void check_status_json(const StreamHealth& h) {
  nlohmann::json j = bambu::status_json(h);
  FUZZ_CHECK(j.is_object());
  FUZZ_CHECK(j["started"] == h.started);
  FUZZ_CHECK(h.started ? j["reason"].is_null() : j["reason"] == h.reason);
  FUZZ_CHECK(j["age"].is_null() == !h.age_s);
  // Every field but the print keys of a wrong type or range, which are left out.
  nlohmann::json kept = h.heartbeat;
  bambu::drop_invalid_print_keys(kept);
  for (const auto& [key, value] : kept.items()) {
    if (key != "started" && key != "reason" && key != "age") FUZZ_CHECK(j[key] == value);
  }
  FUZZ_CHECK(j.size() == kept.size() + 3 - kept.count("started") - kept.count("reason") - kept.count("age"));
  // A print key kept with a value is the one read into h.print.
  FUZZ_CHECK(h.print.has_value() == std::any_of(bambu::print_status_keys().begin(), bambu::print_status_keys().end(),
                                                [&](const char* key) { return kept.contains(key); }));
  if (h.print && h.print->print_state) FUZZ_CHECK(j["print_state"] == *h.print->print_state);
  if (h.print && h.print->print_percent) FUZZ_CHECK(j["print_percent"] == *h.print->print_percent);

  std::string line = bambu::json_line(j);
  FUZZ_CHECK(!line.empty() && line.back() == '\n');
  FUZZ_CHECK(line.find('\n') == line.size() - 1);
  // Everything in it came from a JSON parse (valid UTF-8) or is a cut,
  // one-line reason, so nothing needs replacing and it reads back the same.
  nlohmann::json back = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  FUZZ_CHECK(!back.is_discarded());
  FUZZ_CHECK(back == j);
}

bool name_char(char c) { return (c >= 'a' && c <= 'z') || c == '_'; }

// A sample line, `NAME VALUE` or `NAME{KEY="VALUE",...} VALUE`
// (Prometheus text format 0.0.4): its name and value, with every label
// checked to be KEY="VALUE" whose only escapes are \\, \" and \n.
std::pair<std::string, std::string> parse_sample(std::string_view line) {
  std::size_t i = 0;
  while (i < line.size() && name_char(line[i])) ++i;
  FUZZ_CHECK(i > 0);
  std::string name(line.substr(0, i));
  if (i < line.size() && line[i] == '{') {
    ++i;
    for (bool first = true;; first = false) {
      FUZZ_CHECK(i < line.size());
      if (!first && line[i] == '}') {
        ++i;
        break;
      }
      if (!first) FUZZ_CHECK(line[i++] == ',');
      std::size_t key = i;
      while (i < line.size() && name_char(line[i])) ++i;
      FUZZ_CHECK(i > key && i + 1 < line.size() && line[i] == '=' && line[i + 1] == '"');
      for (i += 2;; ++i) {
        FUZZ_CHECK(i < line.size());
        if (line[i] == '"') break;
        if (line[i] == '\\') {
          FUZZ_CHECK(i + 1 < line.size() && (line[i + 1] == '\\' || line[i + 1] == '"' || line[i + 1] == 'n'));
          ++i;
        }
      }
      ++i;
    }
  }
  FUZZ_CHECK(i < line.size() && line[i] == ' ');
  return {name, std::string(line.substr(i + 1))};
}

void check_metrics(const StreamHealth& h) {
  std::string text = bambu::metrics_text(h);
  FUZZ_CHECK(!text.empty() && text.back() == '\n');
  std::vector<std::string_view> lines;
  std::string_view rest = text;
  while (!rest.empty()) {
    std::size_t nl = rest.find('\n');
    lines.push_back(rest.substr(0, nl));
    rest.remove_prefix(nl + 1);
  }
  FUZZ_CHECK(lines.size() % 3 == 0);
  for (std::size_t i = 0; i < lines.size(); i += 3) {
    auto [name, value] = parse_sample(lines[i + 2]);
    FUZZ_CHECK(lines[i].substr(0, 7 + name.size() + 1) == "# HELP " + name + " ");
    FUZZ_CHECK(lines[i + 1] == "# TYPE " + name + " gauge" || lines[i + 1] == "# TYPE " + name + " counter");
    FUZZ_CHECK(!value.empty() && value.find(' ') == std::string::npos);
    char* end = nullptr;
    double v = std::strtod(value.c_str(), &end);
    FUZZ_CHECK(end == value.c_str() + value.size() && std::isfinite(v));
    if (i == 0) FUZZ_CHECK(name == "bambu_stream_up" && value == (h.started ? "1" : "0"));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  check_rfc3339(text);
  StreamHealth h = bambu::judge_heartbeat(text, k_path, fuzz::k_max_age_s, fuzz::k_now);
  check_verdict(text, h);
  check_status_json(h);
  check_metrics(h);
  return 0;
}
