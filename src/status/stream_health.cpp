#include "status/stream_health.h"

#include <fmt/format.h>

#include <cmath>
#include <cstdint>

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

// A sample of one printer: its labels after printer="NAME" (empty: none)
// and its value, as Prometheus text.
struct Sample {
  std::string labels;
  std::string value;
};

// The sample of one k_metrics entry: "up" from the verdict, the others
// from a numeric heartbeat field.
std::optional<Sample> stream_sample(const StreamHealth& h, const char* field) {
  std::optional<std::string> value =
      field == nullptr ? std::optional<std::string>(h.started ? "1" : "0") : number_field(h.heartbeat, field);
  return value ? std::optional<Sample>(Sample{"", std::move(*value)}) : std::nullopt;
}

// What stdout carries, as labels of a constant 1 (the Prometheus "info"
// idiom), from the heartbeat's format, codec and encoder where they are strings.
std::optional<Sample> info_sample(const StreamHealth& h) {
  std::string labels;
  for (const char* field : {"format", "codec", "encoder"}) {
    const auto it = h.heartbeat.is_object() ? h.heartbeat.find(field) : h.heartbeat.end();
    if (it == h.heartbeat.end() || !it->is_string()) continue;
    labels += fmt::format("{}{}=\"{}\"", labels.empty() ? "" : ",", field, label_value(it->get<std::string>()));
  }
  return labels.empty() ? std::nullopt : std::optional<Sample>(Sample{std::move(labels), "1"});
}

// The print state as a label of a constant 1 (one sample: the state now).
std::optional<Sample> print_state_sample(const StreamHealth& h) {
  if (!h.print || !h.print->print_state) return std::nullopt;
  return Sample{fmt::format("state=\"{}\"", label_value(*h.print->print_state)), "1"};
}

// One integer gauge from the print state (nullopt: no sample).
struct PrintMetric {
  const char* name;
  const char* help;
  std::optional<std::int64_t> (*value)(const PrintStatus&);
};
constexpr PrintMetric k_print_metrics[] = {
    {"bambu_print_percent", "The print job's progress in percent, as the printer reports it.",
     [](const PrintStatus& p) { return p.print_percent; }},
    {"bambu_print_layer", "The layer printing now.", [](const PrintStatus& p) { return p.print_layer; }},
    {"bambu_print_layers_total", "The print job's number of layers.",
     [](const PrintStatus& p) { return p.print_layers_total; }},
    {"bambu_print_remaining_seconds", "The printer's estimate of the print job's time left, in seconds.",
     [](const PrintStatus& p) {
       return p.print_remaining_minutes ? std::optional<std::int64_t>(*p.print_remaining_minutes * 60)
                                        : std::nullopt;
     }},
    {"bambu_chamber_light", "1 while the chamber light is on, 0 while it is off.",
     [](const PrintStatus& p) -> std::optional<std::int64_t> {
       if (p.chamber_light == "on") return 1;
       if (p.chamber_light == "off") return 0;
       return std::nullopt;  // unknown, or flashing: neither on nor off
     }},
    {"bambu_mqtt_connected", "1 while bambu-stream's MQTT session with the printer is connected, else 0.",
     [](const PrintStatus& p) -> std::optional<std::int64_t> {
       if (!p.mqtt_connected) return std::nullopt;
       return *p.mqtt_connected ? 1 : 0;
     }},
};

// judge_heartbeat() without the print state.
StreamHealth judge_stream(std::string_view text, std::string_view path, double max_age_s,
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

}  // namespace

StreamHealth judge_heartbeat(std::string_view text, std::string_view path, double max_age_s,
                             system_clock::time_point now) {
  StreamHealth h = judge_stream(text, path, max_age_s, now);
  h.print = read_print_status(h.heartbeat);
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
  drop_invalid_print_keys(j);
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
  std::string out;
  // One family: HELP and TYPE, then a sample per printer that has a value,
  // labelled printer="NAME" first and the sample's own labels after it
  // (no braces when both are empty); nothing if no printer has one.
  auto family = [&](const char* name, const char* type, const char* help, const auto& sample_of) {
    std::string samples;
    for (std::size_t i = 0; i < healths.size(); ++i) {
      const std::optional<Sample> sample = sample_of(healths[i]);
      if (!sample) continue;  // unknown: no sample rather than a made-up 0
      std::string labels = printers.empty() ? "" : fmt::format("printer=\"{}\"", label_value(printers[i]));
      if (!sample->labels.empty()) labels += (labels.empty() ? "" : ",") + sample->labels;
      samples += fmt::format("{}{} {}\n", name, labels.empty() ? labels : "{" + labels + "}", sample->value);
    }
    if (!samples.empty()) out += fmt::format("# HELP {} {}\n# TYPE {} {}\n{}", name, help, name, type, samples);
  };
  for (const auto& m : k_metrics) {
    family(m.name, m.type, m.help, [&](const StreamHealth& h) { return stream_sample(h, m.field); });
  }
  family("bambu_stream_info", "gauge", "What stdout carries: output format, codec and H.264 encoder.", info_sample);
  family("bambu_print_state", "gauge",
         "The printer's print state (its gcode_state: IDLE, PREPARE, RUNNING, PAUSE, FINISH, FAILED, ...) as the "
         "state label of a constant 1.",
         print_state_sample);
  for (const auto& m : k_print_metrics) {
    family(m.name, "gauge", m.help, [&](const StreamHealth& h) -> std::optional<Sample> {
      const std::optional<std::int64_t> v = h.print ? m.value(*h.print) : std::nullopt;
      return v ? std::optional<Sample>(Sample{"", fmt::format("{}", *v)}) : std::nullopt;
    });
  }
  return out;
}

}  // namespace bambu
