// The Home Assistant add-on's options (/data/options.json, written by the
// Supervisor from addon/config.yaml's schema), read into printers, and what
// addon-config makes of them: each printer's go2rtc exec: line and go2rtc's
// configuration. Pure: no I/O, no logging.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/addon_config_options.h"

namespace bambu {

/// One printer of the options whose fields each passed their own check
/// (read_addon_options()); the CLI's check of its exec: line is still to come.
struct AddonPrinter {
  std::size_t number = 0;   ///< its place in `printers`, from 1
  std::string name;         ///< ^[a-z0-9_]{1,32}$
  std::string host;         ///< letters, digits and . - : _ %, not starting with '-'
  std::string access_code;  ///< passed printer_access_code_problem(); never logged
  std::string serial;       ///< letters and digits; empty: not given
  std::string source;       ///< "auto", "jpeg" or "rtsps"
  bool print_state = false;    ///< --mqtt: the print state in the heartbeat; only with a serial
  bool chamber_light = false;  ///< --chamber-light, following go2rtc's viewers; only with a serial
};

/// The options, read. A printer with a bad field is not in `printers`: it is
/// one line of `problems` instead.
struct AddonOptions {
  std::vector<AddonPrinter> printers;  ///< in the order of the options
  /// One line per printer left out, naming the printer (`printer "x1c"`, or
  /// `printer 2` while its name is not known to be good) and the field, e.g.
  /// `printer 2: name: "X 1" is not 1-32 of a-z, 0-9, _`. Never an access
  /// code or any part of one.
  std::vector<std::string> problems;
  /// Every string given as an access_code, good or bad, for the logger to
  /// redact: a printer's other fields may hold it by mistake.
  std::vector<std::string> access_codes;
  std::optional<std::string> webrtc_candidate;  ///< HOST:PORT; nullopt: not given, empty or refused
  /// Why webrtc_candidate was refused, as one line (`webrtc_candidate: ...`); nullopt if it was not.
  std::optional<std::string> webrtc_problem;
};

/// Reads the options file's content. Each printer is checked field by field
/// (k_addon_printer_fields): name missing, not a string, not
/// ^[a-z0-9_]{1,32}$ or already another printer's; host missing or not a
/// host name or address; access_code missing or refused by
/// printer_access_code_problem(); serial not letters and digits; source not
/// auto, jpeg or rtsps; print_state or chamber_light not true or false, or
/// true without a serial. serial, source and webrtc_candidate may be missing,
/// null or "" (not given); print_state and chamber_light missing or null
/// (false). Throws FatalError(usage), naming `path` and never
/// quoting the content, if `json_text` is not JSON, not an object, or its
/// `printers` is missing or not a list.
AddonOptions read_addon_options(std::string_view json_text, const std::string& path);

/// The file `dir`/`name``suffix` (suffix ".code", ".json" or ".jpg"): a
/// printer's access code, heartbeat or snapshot.
std::string addon_printer_file(const std::string& dir, const std::string& name, std::string_view suffix);

/// The exec: source go2rtc runs for `printer`:
/// `exec:BINARY --host HOST --access-code-file CODES/NAME.code [--serial S]
/// --source SOURCE --format mpegts --heartbeat HB/NAME.json --snapshot
/// HB/NAME.jpg [--mqtt] [--chamber-light --go2rtc-stream
/// http://127.0.0.1:1984/api/streams?src=NAME]#killsignal=15#killtimeout=5`:
/// --mqtt for print_state; --chamber-light for chamber_light, with the
/// stream's URL in go2rtc's API (on go2rtc's default port, which the
/// add-on's configuration keeps) because go2rtc preloads every stream, so
/// the light follows the viewers go2rtc counts. Every option is written
/// out: the process inherits go2rtc's environment, and an option left out
/// would take a PRINTER_* variable's value.
std::string addon_exec_source(const AddonPrinter& printer, const AddonConfigOptions& options);

/// The arguments go2rtc runs an exec: source with (binary first): the part
/// after "exec:" and before the first '#', split at blanks. Our sources hold
/// no quotes, so go2rtc's quote handling never applies.
std::vector<std::string> exec_source_arguments(std::string_view source);

/// The add-on field a CLI error message is about, and the message with each
/// option name replaced by its field: --host is host, --access-code-file
/// access_code, --serial serial, --source source, --mqtt print_state,
/// --chamber-light chamber_light (the first one named in the message decides
/// the field); an empty field when none is named.
std::pair<std::string, std::string> addon_field_of_cli_error(std::string message);

/// go2rtc's configuration as a JSON document (which is YAML 1.2, and go2rtc
/// reads it as such): `streams` (name: exec source, in the order given),
/// `preload` (name: "video" for each, so every stream runs from go2rtc's
/// start), `exec.allow_paths` [binary], and `webrtc.candidates` [candidate]
/// only with a candidate. Ends with a newline.
std::string go2rtc_config_json(const std::vector<std::pair<std::string, std::string>>& streams,
                               const std::string& binary, const std::optional<std::string>& webrtc_candidate);

}  // namespace bambu
