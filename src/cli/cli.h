// The command line: CLI11 definitions, environment variables and validation.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "config/addon_config_options.h"
#include "config/stream_config.h"
#include "simulator/simulate_config.h"
#include "status/status_config.h"
#include "core/errors.h"

namespace bambu {

/// What main() should do after parsing.
struct ParsedCommand {
  /// Exactly one of: a stream to run (or to --check), a simulator to run,
  /// a status to report (`status` needs --heartbeat or BAMBU_HEARTBEAT), the
  /// add-on's options to turn into go2rtc's configuration (`addon-config`),
  /// or text to print on stderr followed by exit (--help, --version).
  std::variant<StreamConfig, SimulateConfig, std::string, StatusConfig, AddonConfigOptions> command;
};

/// The text --help ends with: the exit codes.
extern const char* const k_exit_code_help;

/// Parses argv (and the environment: PRINTER_ADDRESS, PRINTER_ACCESS_CODE,
/// PRINTER_SERIAL, PRINTER_SOURCE, BAMBU_ENCODER, BAMBU_HEARTBEAT,
/// BAMBU_SNAPSHOT, and for `status` BAMBU_HEARTBEAT_DIR; the command line
/// wins, an empty variable counts as unset) and validates the result.
/// Resolves --source and --format as far as possible without the network
/// (config/source_choice.h, resolve_source_offline(): with --source auto and
/// nothing that decides it, source stays automatic and port 0, to be probed
/// at run time).
/// Throws FatalError(usage) with a one-line reason on any bad option or
/// conflicting --source/--format. Never prints anything itself.
ParsedCommand parse_command_line(int argc, const char* const* argv);

/// Overwrites, in place, every value given to --access-code in argv (either
/// form) with as many '*', so that ps(1) and /proc/PID/cmdline stop showing
/// it once parse_command_line() has read it. Other users of the machine can
/// read a process's command line; they cannot read its environment or a
/// mode-600 --access-code-file, which is why those are the safer ways.
/// The process's start-up window (before this runs) still shows the code.
void hide_access_code_arguments(int argc, char** argv);

/// Why `code` cannot be a printer's LAN access code, as the one-line reason
/// (exit 2, before anything is contacted), or nullopt if it can: it must be
/// 8 characters (port6000-protocol.md, "Login packet"), with no space, tab,
/// line break, control or non-ASCII character. `given_by` names where it
/// came from (--access-code, --access-code-file, PRINTER_ACCESS_CODE). The
/// reason gives counts only, never the code or any of its characters.
std::optional<std::string> printer_access_code_problem(const std::string& code, std::string_view given_by);

/// Reads the access code from `path`: the first line, without its line ending.
/// Throws FatalError(usage) if the file cannot be read or is empty.
std::string read_access_code_file(const std::string& path);

}  // namespace bambu
