#include "app/addon_command.h"

#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <filesystem>
#include <optional>
#include <string>
#include <system_error>
#include <utility>
#include <variant>
#include <vector>

#include "app/addon_options.h"
#include "app/check_command.h"
#include "cli/cli.h"
#include "core/atomic_file.h"
#include "core/bounded_read.h"
#include "core/log.h"
#include "core/parent_folders.h"

namespace bambu {

namespace {

namespace fs = std::filesystem;

// Only the owner may list or read the access codes' folder.
constexpr fs::perms k_codes_dir_perms = fs::perms::owner_all;
// An access code file: read and written by its owner only.
constexpr mode_t k_code_file_mode = 0600;

[[noreturn]] void fail(const std::string& message) { throw FatalError(ExitCode::usage, "addon-config: " + message); }

// The options file, read and checked. Throws FatalError(usage) as
// run_addon_config() says, before anything is written.
AddonOptions read_options_file(const AddonConfigOptions& options) {
  const BoundedFile file = read_bounded_file(options.options_path, k_max_addon_options_bytes, "options");
  if (!file.failure.empty()) fail(file.failure);
  try {
    return read_addon_options(file.bytes, options.options_path);
  } catch (const FatalError& e) {
    fail(e.what());
  }
}

// Makes the folders addon-config and the streams write in: the heartbeat
// folder, the codes folder (mode 0700 when made here) and the
// configuration's. Throws FatalError(usage) naming the folder that cannot be made.
void make_folders(const AddonConfigOptions& options) {
  for (const std::string& dir : {options.heartbeat_dir, options.codes_dir}) {
    std::error_code error;
    const bool made = fs::create_directories(dir, error);
    if (error) fail(fmt::format("cannot make folder {}: {}", dir, error.message()));
    if (made && dir == options.codes_dir) fs::permissions(dir, k_codes_dir_perms, error);
    if (error) fail(fmt::format("cannot make folder {} private: {}", dir, error.message()));
  }
  try {
    make_parent_folders(options.go2rtc_config_path);
  } catch (const std::system_error& e) {
    fail(e.what());
  }
}

// The StreamConfig that go2rtc's process for exec: `source` would parse,
// with --check as `bambu-stream ARGS --check` adds it. Throws FatalError
// with the CLI's reason when its arguments are refused.
StreamConfig check_exec_source(const std::string& source) {
  std::vector<std::string> arguments = exec_source_arguments(source);
  arguments.emplace_back("--check");
  std::vector<const char*> argv;
  for (const auto& argument : arguments) argv.push_back(argument.c_str());
  ParsedCommand parsed = parse_command_line(static_cast<int>(argv.size()), argv.data());
  auto* config = std::get_if<StreamConfig>(&parsed.command);
  if (config == nullptr || !config->check) {
    throw FatalError(ExitCode::internal, "the exec: line did not parse as a stream to check");
  }
  return *config;
}

// `printer`'s exec: source, with its code file written; or nullopt, with
// one line logged and the code file removed, when it fails a check.
std::optional<std::string> stream_source(const AddonPrinter& printer, const AddonConfigOptions& options,
                                         const Logger& log, std::vector<std::string>& code_files) {
  const std::string code_file = addon_printer_file(options.codes_dir, printer.name, ".code");
  try {
    write_file_atomically(code_file, printer.access_code + "\n", k_code_file_mode);
  } catch (const std::system_error& e) {
    log.info("printer \"{}\": access_code: {}", printer.name, e.what());
    return std::nullopt;
  }
  const std::string source = addon_exec_source(printer, options);
  try {
    const StreamConfig config = check_exec_source(source);
    log.debug("printer \"{}\": {}", printer.name, describe_check(config));
    code_files.push_back(code_file);
    return source;
  } catch (const FatalError& e) {
    ::unlink(code_file.c_str());
    const auto [field, message] = addon_field_of_cli_error(e.what());
    log.info("printer \"{}\": {}{}", printer.name, field.empty() ? "" : field + ": ", message);
    return std::nullopt;
  }
}

// The summary line: the printers written, or where to add them.
std::string summary(const std::vector<std::pair<std::string, std::string>>& streams, std::size_t left_out) {
  const std::string tab = "the add-on's Configuration tab, then restart the add-on";
  if (streams.empty() && left_out == 0) {
    return "no printers yet: add them (name, host, access_code) on " + tab;
  }
  if (streams.empty()) return fmt::format("no printers to stream: {} left out (above); fix them on {}", left_out, tab);
  std::string names;
  for (const auto& [name, source] : streams) names += (names.empty() ? "" : ", ") + name;
  std::string line = fmt::format("{} printer{}: {}", streams.size(), streams.size() == 1 ? "" : "s", names);
  if (left_out > 0) line += fmt::format("; {} left out (above)", left_out);
  return line;
}

}  // namespace

ExitCode run_addon_config(const AddonConfigOptions& options) {
  Logger log(options.log_level, "addon-config: ");
  const AddonOptions read = read_options_file(options);
  for (const auto& code : read.access_codes) log.add_secret(code);
  make_folders(options);
  for (const auto& problem : read.problems) log.info("{}", problem);
  if (read.webrtc_problem) log.info("{}", *read.webrtc_problem);

  std::vector<std::pair<std::string, std::string>> streams;
  std::vector<std::string> code_files;
  for (const auto& printer : read.printers) {
    if (auto source = stream_source(printer, options, log, code_files)) streams.emplace_back(printer.name, *source);
  }
  try {
    write_file_atomically(options.go2rtc_config_path,
                          go2rtc_config_json(streams, options.binary, read.webrtc_candidate));
  } catch (const std::system_error& e) {
    for (const auto& file : code_files) ::unlink(file.c_str());
    fail(e.what());
  }
  const std::size_t left_out = read.problems.size() + read.printers.size() - streams.size();
  log.info("{}", summary(streams, left_out));
  log.debug("go2rtc's configuration: {}", options.go2rtc_config_path);
  return ExitCode::ok;
}

}  // namespace bambu
