#include "status/stream_health.h"

#include <fmt/format.h>

#include <cmath>

#include "core/bounded_read.h"
#include "core/rfc3339.h"

namespace bambu {

namespace {

using std::chrono::system_clock;



// Makes `text` fit on one line of a reason: control characters become
// spaces, and a long text is cut (a corrupt file may hold anything).
std::string one_line(std::string text) {
  for (auto& c : text) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  }
  if (text.size() > StreamHealth::k_max_reason_size) {
    std::size_t cut = StreamHealth::k_max_reason_size - 3;
    // Not inside a UTF-8 sequence: back up over continuation bytes.
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
    text.resize(cut);
    text += "...";
  }
  return text;
}

StreamHealth not_started(std::string reason, nlohmann::json heartbeat = nlohmann::json::object()) {
  StreamHealth h;
  h.reason = one_line(std::move(reason));
  h.heartbeat = std::move(heartbeat);
  return h;
}

// "12.3 s": seconds for reasons, without a trail of digits.
std::string seconds_text(double s) { return fmt::format("{:.1f} s", s); }

// A heartbeat counter as a Prometheus sample value, if it is a JSON number.
std::optional<std::string> number_field(const nlohmann::json& heartbeat, const char* name) {
  auto it = heartbeat.find(name);
  if (it == heartbeat.end()) return std::nullopt;
  if (it->is_number_unsigned()) return fmt::format("{}", it->get<std::uint64_t>());
  if (it->is_number_integer()) return fmt::format("{}", it->get<std::int64_t>());
  if (it->is_number_float()) {
    double v = it->get<double>();
    if (!std::isfinite(v)) return std::nullopt;
    return fmt::format("{}", v);
  }
  return std::nullopt;
}

// A Prometheus label value: backslash, double quote and newline escaped
// (exposition format 0.0.4); the heartbeat is any file's content.
std::string label_value(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

// One Prometheus metric of metrics_text(), from one numeric heartbeat field.
struct Metric {
  const char* name;
  const char* type;
  const char* help;
  const char* field;  // heartbeat field; nullptr for "up"
};
constexpr Metric k_metrics[] = {
    {"bambu_stream_up", "gauge", "1 while the heartbeat says streaming and is fresh, else 0.", nullptr},
    {"bambu_stream_frames_total", "counter", "Frames written to stdout by the current bambu-stream process.",
     "frames"},
    {"bambu_stream_reconnects_total", "counter", "Sessions dialled after the first by the current process.",
     "reconnects"},
    {"bambu_stream_dropped_frames_total", "counter",
     "Frames dropped because stdout's reader, or the encoder, was too slow, by the current process.", "dropped"},
    {"bambu_stream_fps", "gauge", "Frames written per second over the last 10 s.", "fps"},
    {"bambu_stream_skipped_frames_total", "counter", "Camera payloads skipped because they were not whole JPEGs.",
     "skipped"},
    {"bambu_stream_frames_encoded_total", "counter", "JPEGs encoded to H.264 by the current process.",
     "frames_encoded"},
    {"bambu_stream_decode_failures_total", "counter", "JPEGs that did not decode, skipped by the encoder.",
     "decode_failures"},
    {"bambu_stream_encode_ms_last", "gauge", "Milliseconds the last JPEG took to decode and encode.",
     "encode_ms_last"},
    {"bambu_stream_encode_ms_mean", "gauge", "Mean milliseconds per JPEG to decode and encode.", "encode_ms_mean"},
    {"bambu_stream_bitrate_kbps", "gauge", "Mean kbit/s written to stdout since the first frame.", "bitrate_kbps"},
    {"bambu_stream_snapshot_age_seconds", "gauge", "Seconds from the last --snapshot to the heartbeat's update.",
     "snapshot_age"},
};

}  // namespace


StreamHealth judge_heartbeat(std::string_view text, std::string_view path, double max_age_s,
                             system_clock::time_point now) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    return not_started(fmt::format("heartbeat {} is not valid JSON ({} bytes)", path, text.size()));
  }
  if (!j.is_object()) return not_started(fmt::format("heartbeat {} is not a JSON object", path));

  auto state_it = j.find("state");
  if (state_it == j.end() || !state_it->is_string()) {
    return not_started(fmt::format("heartbeat {} has no \"state\"", path), std::move(j));
  }
  std::string state = state_it->get<std::string>();
  auto updated_it = j.find("updated_at");
  std::optional<system_clock::time_point> updated;
  if (updated_it != j.end() && updated_it->is_string()) updated = parse_rfc3339(updated_it->get<std::string>());
  if (!updated) {
    return not_started(fmt::format("heartbeat {} has no valid \"updated_at\" (RFC 3339)", path), std::move(j));
  }
  // Not `now - *updated`: in 64-bit nanoseconds that overflows when
  // updated_at is near either end of system_clock's range (years 1677,
  // 2262). A long double (64-bit significand or wider on amd64 and arm64)
  // holds the difference exactly, so ages are what they always were.
  long double age_ns = static_cast<long double>(now.time_since_epoch().count()) -
                       static_cast<long double>(updated->time_since_epoch().count());
  static_assert(std::is_same_v<system_clock::period, std::nano>, "system_clock counts nanoseconds");
  double age = static_cast<double>(age_ns) / 1e9;

  StreamHealth h;
  h.age_s = age;
  if (state != "streaming") {
    std::string reason = fmt::format("not streaming: state is {}", state);
    if (auto err = j.find("last_error"); err != j.end() && err->is_string()) {
      reason += fmt::format(" (last error: {})", err->get<std::string>());
    }
    h.reason = one_line(std::move(reason));
  } else if (age > max_age_s) {
    h.reason = fmt::format("heartbeat {} is stale: last updated {} ago, more than the {} allowed; "
                           "bambu-stream is no longer running",
                           path, seconds_text(age), seconds_text(max_age_s));
  } else if (age < -max_age_s) {
    h.reason = fmt::format("heartbeat {} was updated {} in the future: the clock was changed", path,
                           seconds_text(-age));
  } else {
    h.started = true;
  }
  h.reason = one_line(std::move(h.reason));
  h.heartbeat = std::move(j);
  return h;
}

StreamHealth read_stream_health(const std::string& path, double max_age_s, system_clock::time_point now) {
  BoundedFile file = read_bounded_file(path, k_max_heartbeat_bytes, "heartbeat");
  if (file.missing) {
    return not_started(fmt::format("heartbeat {} does not exist: no bambu-stream has written it yet", path));
  }
  if (file.failure.find("is larger than") != std::string::npos) file.failure += ": not a heartbeat file";
  if (!file.failure.empty()) return not_started(std::move(file.failure));
  return judge_heartbeat(file.bytes, path, max_age_s, now);
}

nlohmann::json status_json(const StreamHealth& health) {
  nlohmann::json j = health.heartbeat.is_object() ? health.heartbeat : nlohmann::json::object();
  j["started"] = health.started;
  j["reason"] = health.started ? nlohmann::json() : nlohmann::json(health.reason);
  j["age"] = health.age_s ? nlohmann::json(std::round(*health.age_s * 100.0) / 100.0) : nlohmann::json();
  return j;
}

std::string json_line(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

std::string metrics_text(const StreamHealth& health) { return metrics_text(std::span(&health, 1), {}); }

std::string metrics_text(std::span<const StreamHealth> healths, std::span<const std::string> printers) {
  // printer="NAME" first, then `more` (no braces when both are empty).
  auto labels_of = [&](std::size_t i, const std::string& more) {
    std::string labels = printers.empty() ? "" : fmt::format("printer=\"{}\"", label_value(printers[i]));
    if (!more.empty()) labels += (labels.empty() ? "" : ",") + more;
    return labels.empty() ? labels : "{" + labels + "}";
  };
  std::string out;
  for (const auto& m : k_metrics) {
    std::string samples;
    for (std::size_t i = 0; i < healths.size(); ++i) {
      const StreamHealth& health = healths[i];
      std::optional<std::string> value =
          m.field == nullptr ? std::optional<std::string>(health.started ? "1" : "0")
                             : number_field(health.heartbeat, m.field);
      if (!value) continue;  // unknown: no sample rather than a made-up 0
      samples += fmt::format("{}{} {}\n", m.name, labels_of(i, ""), *value);
    }
    if (samples.empty()) continue;
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n{}", m.name, m.help, m.name, m.type, samples);
  }
  // What stdout carries, as labels of a constant 1 (the Prometheus "info" idiom).
  std::string info;
  for (std::size_t i = 0; i < healths.size(); ++i) {
    const nlohmann::json& heartbeat = healths[i].heartbeat;
    std::string labels;
    for (const char* field : {"format", "codec", "encoder"}) {
      const auto it = heartbeat.is_object() ? heartbeat.find(field) : heartbeat.end();
      if (it == heartbeat.end() || !it->is_string()) continue;
      labels += fmt::format("{}{}=\"{}\"", labels.empty() ? "" : ",", field, label_value(it->get<std::string>()));
    }
    if (!labels.empty()) info += fmt::format("bambu_stream_info{} 1\n", labels_of(i, labels));
  }
  if (!info.empty()) {
    out += "# HELP bambu_stream_info What stdout carries: output format, codec and H.264 encoder.\n"
           "# TYPE bambu_stream_info gauge\n" + info;
  }
  return out;
}

}  // namespace bambu
