#include "app/addon_options.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <filesystem>
#include <map>

#include "cli/cli.h"
#include "core/errors.h"

namespace bambu {

namespace {

using nlohmann::json;

// Longest printer name: config.yaml's match(^[a-z0-9_]{1,32}$).
constexpr std::size_t k_max_name_size = 32;
// Longest host: a DNS name (RFC 1035, 2.3.4).
constexpr std::size_t k_max_host_size = 253;
// Longest serial: Bambu Lab's are 15 characters; room for others.
constexpr std::size_t k_max_serial_size = 32;
// At most this many bytes of a refused value are quoted in its line.
constexpr std::size_t k_shown_value_size = 40;
// go2rtc's exec: parameters: SIGTERM, then SIGKILL after 5 s (go2rtc.yaml.example says why).
constexpr std::string_view k_kill_options = "#killsignal=15#killtimeout=5";
// go2rtc's answer for one stream, NAME appended: its API on go2rtc's default
// listen address (:1984, also the add-on's ingress_port), which the add-on's
// configuration keeps.
constexpr std::string_view k_go2rtc_stream_url = "http://127.0.0.1:1984/api/streams?src=";

// A field that fails its check: which one, and why (without the printer).
struct FieldProblem {
  std::string field;
  std::string message;
};

// `value` quoted as a JSON string for a log line: control characters
// escaped (one line whatever it holds), cut to k_shown_value_size bytes.
std::string shown(const std::string& value) {
  std::string text =
      json(value.substr(0, k_shown_value_size)).dump(-1, ' ', false, json::error_handler_t::replace);
  if (value.size() > k_shown_value_size) text.insert(text.size() - 1, "...");
  return text;
}

// The text of `field` in `printer`; nullopt when it is missing, null or ""
// (not given). Throws FieldProblem when it is not text.
std::optional<std::string> text_field(const json& printer, const std::string& field) {
  const auto it = printer.find(field);
  if (it == printer.end() || it->is_null()) return std::nullopt;
  if (!it->is_string()) throw FieldProblem{field, fmt::format("must be text, not {}", it->type_name())};
  std::string text = it->get<std::string>();
  if (text.empty()) return std::nullopt;
  return text;
}

// The text of a required `field`. Throws FieldProblem when it is not given or not text.
std::string required_field(const json& printer, const std::string& field) {
  auto text = text_field(printer, field);
  if (!text) throw FieldProblem{field, "missing"};
  return *text;
}

bool all_of_chars(const std::string& text, bool (*allowed)(unsigned char)) {
  return std::all_of(text.begin(), text.end(), [allowed](char c) { return allowed(static_cast<unsigned char>(c)); });
}

bool name_char(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'; }
bool alnum_char(unsigned char c) { return std::isalnum(c) != 0; }
// An IPv4 or IPv6 address (with a zone after %) or a host name: never a
// blank, quote, '#' or '$', which go2rtc would split at or rewrite.
bool host_char(unsigned char c) { return alnum_char(c) || c == '.' || c == '-' || c == ':' || c == '_' || c == '%'; }

// The printer's name. Throws FieldProblem when it is missing or not a name.
std::string printer_name(const json& printer) {
  std::string name = required_field(printer, "name");
  if (name.size() > k_max_name_size || !all_of_chars(name, name_char)) {
    throw FieldProblem{"name", fmt::format("{} is not 1-32 of a-z, 0-9, _", shown(name))};
  }
  return name;
}

// The value of the optional boolean `field` in `printer`: false when it is
// missing or null. Throws FieldProblem when it is not true or false.
bool bool_field(const json& printer, const std::string& field) {
  const auto it = printer.find(field);
  if (it == printer.end() || it->is_null()) return false;
  if (!it->is_boolean()) throw FieldProblem{field, fmt::format("must be true or false, not {}", it->type_name())};
  return it->get<bool>();
}

// Fills `out`'s print_state and chamber_light from `printer`. Throws
// FieldProblem when one is not a boolean, or true without out.serial.
void read_mqtt_fields(const json& printer, AddonPrinter& out) {
  out.print_state = bool_field(printer, "print_state");
  out.chamber_light = bool_field(printer, "chamber_light");
  if (out.serial.empty() && (out.print_state || out.chamber_light)) {
    throw FieldProblem{out.chamber_light ? "chamber_light" : "print_state",
                       "needs serial: the printer reports and takes commands over MQTT under its serial (on its "
                       "screen and in Bambu Studio)"};
  }
}

// Fills `out` from `printer`'s host, access_code, serial, source,
// print_state and chamber_light, in that order. Throws FieldProblem at the
// first that fails its check.
void read_printer_fields(const json& printer, AddonPrinter& out) {
  out.host = required_field(printer, "host");
  if (out.host.size() > k_max_host_size || out.host.front() == '-' || !all_of_chars(out.host, host_char)) {
    throw FieldProblem{"host", fmt::format("{} is not an IP address or host name (letters, digits and . - : _ %)",
                                           shown(out.host))};
  }
  out.access_code = required_field(printer, "access_code");
  if (auto problem = printer_access_code_problem(out.access_code, "the add-on's options")) {
    throw FieldProblem{"access_code", *problem};
  }
  out.serial = text_field(printer, "serial").value_or("");
  if (out.serial.size() > k_max_serial_size || !all_of_chars(out.serial, alnum_char)) {
    throw FieldProblem{"serial", fmt::format("{} is not 1-32 letters and digits (the printer shows it in its settings)",
                                             shown(out.serial))};
  }
  out.source = text_field(printer, "source").value_or("auto");
  if (out.source != "auto" && out.source != "jpeg" && out.source != "rtsps") {
    throw FieldProblem{"source", fmt::format("{} is not auto, jpeg or rtsps", shown(out.source))};
  }
  read_mqtt_fields(printer, out);
}

// Every access_code given as text or a number, for the logger to redact.
void collect_access_codes(const json& printers, std::vector<std::string>& codes) {
  for (const auto& printer : printers) {
    if (!printer.is_object()) continue;
    const auto it = printer.find("access_code");
    if (it == printer.end()) continue;
    if (it->is_string()) codes.push_back(it->get<std::string>());
    if (it->is_number()) codes.push_back(it->dump());
  }
}

// Checks printer `number` and adds it to `out`, or one line to `out.problems`.
// `names` holds the names of the printers before it, with their numbers.
void read_printer(const json& printer, std::size_t number, std::map<std::string, std::size_t>& names,
                  AddonOptions& out) {
  std::string who = fmt::format("printer {}", number);
  if (!printer.is_object()) {
    out.problems.push_back(fmt::format("{}: must be an entry with name, host and access_code, not {}", who,
                                       printer.type_name()));
    return;
  }
  try {
    AddonPrinter entry;
    entry.number = number;
    entry.name = printer_name(printer);
    if (const auto [first, added] = names.emplace(entry.name, number); !added) {
      throw FieldProblem{"name", fmt::format("{} is printer {}'s already", shown(entry.name), first->second)};
    }
    who = fmt::format("printer \"{}\"", entry.name);
    read_printer_fields(printer, entry);
    out.printers.push_back(std::move(entry));
  } catch (const FieldProblem& problem) {
    out.problems.push_back(fmt::format("{}: {}: {}", who, problem.field, problem.message));
  }
}

// webrtc_candidate: HOST:PORT, or nullopt (with `problem` set when it is
// given but refused).
std::optional<std::string> read_webrtc_candidate(const json& options, std::optional<std::string>& problem) {
  try {
    auto candidate = text_field(options, "webrtc_candidate");
    if (!candidate) return std::nullopt;
    const auto colon = candidate->rfind(':');
    const std::string host = candidate->substr(0, colon == std::string::npos ? 0 : colon);
    const std::string port = colon == std::string::npos ? "" : candidate->substr(colon + 1);
    // An IPv6 address goes in brackets here, as go2rtc writes it.
    const bool host_ok = !host.empty() && host.size() <= k_max_host_size + 2 &&
                         all_of_chars(host, [](unsigned char c) { return host_char(c) || c == '[' || c == ']'; });
    const bool port_ok = !port.empty() && port.size() <= 5 && all_of_chars(port, [](unsigned char c) {
                           return std::isdigit(c) != 0;
                         }) && std::stoul(port) >= 1 && std::stoul(port) <= 65535;
    if (host_ok && port_ok) return candidate;
    throw FieldProblem{"webrtc_candidate",
                       fmt::format("{} is not HOST:PORT (e.g. 192.168.1.10:8555)", shown(*candidate))};
  } catch (const FieldProblem& refused) {
    problem = fmt::format("{}: {}; WebRTC is left to go2rtc's defaults", refused.field, refused.message);
  }
  return std::nullopt;
}

// Line and column (from 1) of byte `offset` of `text`, for a parse error
// that must not quote the text.
std::pair<std::size_t, std::size_t> line_and_column(std::string_view text, std::size_t offset) {
  offset = std::min(offset, text.size());
  const std::string_view before = text.substr(0, offset);
  const auto line = static_cast<std::size_t>(std::count(before.begin(), before.end(), '\n')) + 1;
  const auto last_newline = before.rfind('\n');
  return {line, last_newline == std::string_view::npos ? offset + 1 : offset - last_newline};
}

// The options document. Throws FatalError(usage) if it is not a JSON object.
json parse_options(std::string_view json_text, const std::string& path) {
  json options;
  try {
    options = json::parse(json_text);
  } catch (const json::parse_error& e) {
    // e.what() quotes the bytes it last read, which may be an access code.
    const auto [line, column] = line_and_column(json_text, e.byte == 0 ? 0 : e.byte - 1);
    throw FatalError(ExitCode::usage,
                     fmt::format("options {} is not JSON (line {}, column {})", path, line, column));
  }
  if (!options.is_object()) {
    throw FatalError(ExitCode::usage,
                     fmt::format("options {} must be a JSON object, not {}", path, options.type_name()));
  }
  return options;
}

}  // namespace

AddonOptions read_addon_options(std::string_view json_text, const std::string& path) {
  const json options = parse_options(json_text, path);
  const auto printers = options.find("printers");
  if (printers == options.end()) {
    throw FatalError(ExitCode::usage, fmt::format("options {}: no printers list", path));
  }
  if (!printers->is_array()) {
    throw FatalError(ExitCode::usage,
                     fmt::format("options {}: printers must be a list, not {}", path, printers->type_name()));
  }
  AddonOptions out;
  collect_access_codes(*printers, out.access_codes);
  std::map<std::string, std::size_t> names;
  std::size_t number = 0;
  for (const auto& printer : *printers) read_printer(printer, ++number, names, out);
  out.webrtc_candidate = read_webrtc_candidate(options, out.webrtc_problem);
  return out;
}

std::string addon_printer_file(const std::string& dir, const std::string& name, std::string_view suffix) {
  return (std::filesystem::path(dir) / (name + std::string(suffix))).string();
}

std::string addon_exec_source(const AddonPrinter& printer, const AddonConfigOptions& options) {
  std::string source = fmt::format("exec:{} --host {} --access-code-file {}", options.binary, printer.host,
                                   addon_printer_file(options.codes_dir, printer.name, ".code"));
  if (!printer.serial.empty()) source += " --serial " + printer.serial;
  source += fmt::format(" --source {} --format mpegts --heartbeat {} --snapshot {}", printer.source,
                        addon_printer_file(options.heartbeat_dir, printer.name, ".json"),
                        addon_printer_file(options.heartbeat_dir, printer.name, ".jpg"));
  if (printer.print_state) source += " --mqtt";
  if (printer.chamber_light) {
    source += fmt::format(" --chamber-light --go2rtc-stream {}{}", k_go2rtc_stream_url, printer.name);
  }
  source += k_kill_options;
  return source;
}

std::vector<std::string> exec_source_arguments(std::string_view source) {
  constexpr std::string_view prefix = "exec:";
  if (source.substr(0, prefix.size()) == prefix) source.remove_prefix(prefix.size());
  source = source.substr(0, source.find('#'));
  std::vector<std::string> arguments;
  while (!source.empty()) {
    const auto start = source.find_first_not_of(" \t");
    if (start == std::string_view::npos) break;
    source.remove_prefix(start);
    const auto end = source.find_first_of(" \t");
    arguments.emplace_back(source.substr(0, end));
    source.remove_prefix(end == std::string_view::npos ? source.size() : end);
  }
  return arguments;
}

namespace {

// Where `option` is named in `message` from `from` on, as a whole word (no
// letter, digit or '-' follows it), or npos.
std::size_t find_option(const std::string& message, std::string_view option, std::size_t from) {
  for (auto pos = message.find(option, from); pos != std::string::npos; pos = message.find(option, pos + 1)) {
    const std::size_t end = pos + option.size();
    const bool word_goes_on =
        end < message.size() && (std::isalnum(static_cast<unsigned char>(message[end])) != 0 || message[end] == '-');
    if (!word_goes_on) return pos;
  }
  return std::string::npos;
}

}  // namespace

std::pair<std::string, std::string> addon_field_of_cli_error(std::string message) {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 6> k_fields{{
      {"--access-code-file", "access_code"},
      {"--host", "host"},
      {"--serial", "serial"},
      {"--source", "source"},
      {"--mqtt", "print_state"},
      {"--chamber-light", "chamber_light"}}};
  std::string field;
  std::size_t first = std::string::npos;
  for (const auto& [option, name] : k_fields) {
    if (const auto pos = find_option(message, option, 0); pos < first) {
      first = pos;
      field = name;
    }
  }
  for (const auto& [option, name] : k_fields) {
    for (auto pos = find_option(message, option, 0); pos != std::string::npos;
         pos = find_option(message, option, pos + name.size())) {
      message.replace(pos, option.size(), name);
    }
  }
  return {field, message};
}

std::string go2rtc_config_json(const std::vector<std::pair<std::string, std::string>>& streams,
                               const std::string& binary, const std::optional<std::string>& webrtc_candidate) {
  nlohmann::ordered_json config;
  config["streams"] = nlohmann::ordered_json::object();
  config["preload"] = nlohmann::ordered_json::object();
  for (const auto& [name, source] : streams) {
    config["streams"][name] = source;
    config["preload"][name] = "video";
  }
  config["exec"]["allow_paths"] = nlohmann::ordered_json::array({binary});
  if (webrtc_candidate) config["webrtc"]["candidates"] = nlohmann::ordered_json::array({*webrtc_candidate});
  return config.dump(2) + "\n";
}

}  // namespace bambu
