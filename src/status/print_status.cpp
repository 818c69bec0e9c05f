#include "status/print_status.h"

#include <array>
#include <string_view>

namespace bambu {

namespace {

// What a print key holds when it is not null (docs/heartbeat.md, "Print state").
enum class Kind { text, percent, count, mqtt };

struct PrintKey {
  const char* name;
  Kind kind;
};

constexpr std::array<PrintKey, 9> k_print_keys = {{{"print_state", Kind::text},
                                                   {"print_percent", Kind::percent},
                                                   {"print_layer", Kind::count},
                                                   {"print_layers_total", Kind::count},
                                                   {"print_remaining_minutes", Kind::count},
                                                   {"print_job", Kind::text},
                                                   {"chamber_light", Kind::text},
                                                   {"mqtt", Kind::mqtt},
                                                   {"mqtt_error", Kind::text}}};

constexpr std::array<const char*, k_print_keys.size()> k_key_names = [] {
  std::array<const char*, k_print_keys.size()> names{};
  for (std::size_t i = 0; i < names.size(); ++i) names[i] = k_print_keys[i].name;
  return names;
}();

// Whether `v` is a valid non-null value of `kind`. Integers must be JSON
// integers (nlohmann reads every one >= 0 as unsigned): 42.0 or "42" is not one.
bool valid_value(const nlohmann::json& v, Kind kind) {
  switch (kind) {
    case Kind::text:
      return v.is_string() && v.get_ref<const std::string&>().size() <= k_max_print_text_bytes;
    case Kind::percent:
      return v.is_number_unsigned() && v.get<std::uint64_t>() <= 100;
    case Kind::count:
      return v.is_number_unsigned() && v.get<std::uint64_t>() <= static_cast<std::uint64_t>(k_max_print_count);
    case Kind::mqtt:
      return v == "connected" || v == "disconnected";
  }
  return false;
}

// The valid non-null value of `key` in the object `heartbeat`, or nullptr.
const nlohmann::json* value_of(const nlohmann::json& heartbeat, const PrintKey& key) {
  const auto it = heartbeat.find(key.name);
  return it != heartbeat.end() && valid_value(*it, key.kind) ? &*it : nullptr;
}

const PrintKey& key_named(std::string_view name) {
  for (const auto& key : k_print_keys) {
    if (name == key.name) return key;
  }
  return k_print_keys[0];  // unreachable: callers name keys of the table
}

std::optional<std::string> text_at(const nlohmann::json& heartbeat, std::string_view name) {
  const nlohmann::json* v = value_of(heartbeat, key_named(name));
  return v ? std::optional<std::string>(v->get<std::string>()) : std::nullopt;
}

std::optional<std::int64_t> integer_at(const nlohmann::json& heartbeat, std::string_view name) {
  const nlohmann::json* v = value_of(heartbeat, key_named(name));
  return v ? std::optional<std::int64_t>(static_cast<std::int64_t>(v->get<std::uint64_t>())) : std::nullopt;
}

}  // namespace

std::span<const char* const> print_status_keys() { return k_key_names; }

std::optional<PrintStatus> read_print_status(const nlohmann::json& heartbeat) {
  if (!heartbeat.is_object()) return std::nullopt;
  bool any = false;
  for (const auto& key : k_print_keys) {
    const auto it = heartbeat.find(key.name);
    any = any || (it != heartbeat.end() && (it->is_null() || valid_value(*it, key.kind)));
  }
  if (!any) return std::nullopt;
  PrintStatus p;
  p.print_state = text_at(heartbeat, "print_state");
  p.print_percent = integer_at(heartbeat, "print_percent");
  p.print_layer = integer_at(heartbeat, "print_layer");
  p.print_layers_total = integer_at(heartbeat, "print_layers_total");
  p.print_remaining_minutes = integer_at(heartbeat, "print_remaining_minutes");
  p.print_job = text_at(heartbeat, "print_job");
  p.chamber_light = text_at(heartbeat, "chamber_light");
  if (const nlohmann::json* mqtt = value_of(heartbeat, key_named("mqtt"))) p.mqtt_connected = *mqtt == "connected";
  p.mqtt_error = text_at(heartbeat, "mqtt_error");
  return p;
}

void drop_invalid_print_keys(nlohmann::json& j) {
  if (!j.is_object()) return;
  for (const auto& key : k_print_keys) {
    const auto it = j.find(key.name);
    if (it != j.end() && !it->is_null() && !valid_value(*it, key.kind)) j.erase(it);
  }
}

}  // namespace bambu
