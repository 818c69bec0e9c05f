// The printer's print state and MQTT session as a heartbeat written with
// --mqtt carries them: flat keys beside the stream's own (docs/heartbeat.md,
// "Print state"). The heartbeat is any file's content, so every key is
// checked for its type and range; a bad one counts as absent, and never
// changes the stream's verdict.
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

namespace bambu {

/// The longest text kept from a print key (print_state, print_job,
/// chamber_light, mqtt_error), in bytes; a longer one counts as absent.
inline constexpr std::size_t k_max_print_text_bytes = 512;

/// The largest layer number, layer count or minutes kept; a larger one
/// counts as absent (a real print has a few thousand layers and at most some
/// thousands of minutes; the bound keeps minutes x 60 far from overflow).
inline constexpr std::int64_t k_max_print_count = 1'000'000'000;

/// What a heartbeat says of the printer, each field nullopt when its key is
/// missing, null, of the wrong type or out of range.
struct PrintStatus {
  /// "print_state": the printer's gcode_state in its own words (IDLE,
  /// PREPARE, RUNNING, PAUSE, FINISH, FAILED, or another).
  std::optional<std::string> print_state;
  std::optional<std::int64_t> print_percent;            ///< "print_percent": 0 to 100
  std::optional<std::int64_t> print_layer;              ///< "print_layer": the layer printing now, >= 0
  std::optional<std::int64_t> print_layers_total;       ///< "print_layers_total": the job's layers, >= 0
  std::optional<std::int64_t> print_remaining_minutes;  ///< "print_remaining_minutes": minutes, >= 0
  std::optional<std::string> print_job;                 ///< "print_job": the job's name
  std::optional<std::string> chamber_light;  ///< "chamber_light": "on", "off", "flashing" (or another word)
  std::optional<bool> mqtt_connected;        ///< "mqtt": "connected" is true, "disconnected" false
  std::optional<std::string> mqtt_error;     ///< "mqtt_error": the MQTT session's last failure
};

/// The nine print keys, in the order above ("print_state" ... "mqtt_error").
std::span<const char* const> print_status_keys();

/// Reads the print keys of `heartbeat` (a JSON object; anything else has
/// none). nullopt when it has none of them with a valid value or null: the
/// stream runs without --mqtt. Never throws except std::bad_alloc.
std::optional<PrintStatus> read_print_status(const nlohmann::json& heartbeat);

/// Removes from the JSON object `j` every print key whose value is neither
/// null nor valid (the wrong type, out of range, too long), so that what
/// `status` shows has the heartbeat's documented types only. Other keys and
/// a non-object `j` are left as they are.
void drop_invalid_print_keys(nlohmann::json& j);

}  // namespace bambu
