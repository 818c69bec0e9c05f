// AddonConfigOptions: the options of `bambu-stream addon-config`, a plain
// value that the command line fills and app/addon_command.h reads. Here,
// below the CLI, so that the CLI parses into it without knowing the add-on.
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <string_view>

#include "core/log.h"

namespace bambu {

/// The largest options file addon-config reads (the Supervisor's are a few
/// hundred bytes per printer); a larger one is a usage error.
inline constexpr std::size_t k_max_addon_options_bytes = std::size_t{1} << 20;

/// One field of the add-on's options as addon/config.yaml's `schema`
/// declares it (Home Assistant's option types: str, password, match(RE),
/// list(A|B), a trailing ? for optional). The one list of them:
/// `addon-config --help` prints it, and scripts/check-addon compares it with
/// config.yaml, so the schema and what addon-config reads cannot drift apart.
struct AddonOptionField {
  std::string_view name;     ///< the key in /data/options.json
  std::string_view schema;   ///< its type in config.yaml's schema
  std::string_view meaning;  ///< one line for --help
};

/// The fields of each printer, in the schema's order. addon-config refuses a
/// printer whose required fields (no ?) are missing.
inline constexpr std::array<AddonOptionField, 7> k_addon_printer_fields{{
    {"name", "match(^[a-z0-9_]{1,32}$)", "go2rtc's stream name, and the files NAME.code, NAME.json, NAME.jpg"},
    {"host", "str", "the printer's IP address or host name"},
    {"access_code", "password", "its 8-character LAN access code (written to NAME.code, mode 0600)"},
    {"serial", "str?", "its serial number: picks the camera protocol with source auto"},
    {"source", "list(auto|jpeg|rtsps)?", "the camera protocol, auto when not given"},
    {"print_state", "bool?", "true: read the print state over the printer's MQTT (needs serial), for status"},
    {"chamber_light", "bool?", "true: the chamber light on while someone watches (needs serial)"},
}};

/// The options beside `printers` (a list of the fields above), in the
/// schema's order.
inline constexpr std::array<AddonOptionField, 1> k_addon_other_fields{{
    {"webrtc_candidate", "str?", "HOST:PORT that WebRTC viewers reach go2rtc at (webrtc.candidates)"},
}};

/// Options of `bambu-stream addon-config`, which turns Home Assistant's
/// add-on options into go2rtc's configuration. Every path is absolute once
/// parsed, and the three that go into go2rtc's exec: lines (binary,
/// codes_dir, heartbeat_dir) hold only A-Z a-z 0-9 / . _ + -, so that
/// go2rtc splits each line into the arguments that were checked.
struct AddonConfigOptions {
  /// --options: the add-on's options, which the Supervisor writes from
  /// config.yaml's schema (JSON, at most k_max_addon_options_bytes).
  std::string options_path = "/data/options.json";
  /// --go2rtc-config: the go2rtc configuration written (JSON, which is YAML 1.2).
  std::string go2rtc_config_path = "/tmp/bambu/go2rtc.yaml";
  /// --codes-dir: one NAME.code file (mode 0600) per printer, its access code.
  std::string codes_dir = "/tmp/bambu/codes";
  /// --heartbeat-dir: each printer's heartbeat NAME.json and snapshot NAME.jpg,
  /// the folder `status --heartbeat-dir` serves.
  std::string heartbeat_dir = "/tmp/bambu";
  /// --binary: the bambu-stream that go2rtc runs, on every exec: line and in
  /// exec.allow_paths.
  std::string binary = "/usr/local/bin/bambu-stream";
  LogLevel log_level = LogLevel::info;
};

}  // namespace bambu
