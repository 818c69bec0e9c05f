// Shared by the command-line tests: a clean environment and parse helpers
// around parse_command_line().
#pragma once

#include <stdlib.h>

#include <catch2/catch.hpp>

#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "cli/cli.h"
#include "support/cli_env.h"

namespace bambu::test {

/// Clears every variable the CLI reads (k_cli_env_vars) when made and
/// again when destroyed, so neither the machine's environment nor a test's
/// own setenv() leaks into another test.
struct CleanEnv {
  CleanEnv() { clear(); }
  ~CleanEnv() { clear(); }
  static void clear() {
    for (const std::string& name : k_cli_env_vars) ::unsetenv(name.c_str());
  }
};

/// parse_command_line() of "bambu-stream" followed by `args`.
inline ParsedCommand parse(std::vector<const char*> args) {
  args.insert(args.begin(), "bambu-stream");
  return parse_command_line(static_cast<int>(args.size()), args.data());
}

/// The StreamConfig that `args` parse to (throws if they parse to something else).
inline StreamConfig stream(std::vector<const char*> args) {
  return std::get<StreamConfig>(parse(std::move(args)).command);
}

/// The usage error's message (checking it is ExitCode::usage), or "" if parsing succeeded.
inline std::string usage_error(std::vector<const char*> args) {
  try {
    parse(std::move(args));
  } catch (const FatalError& e) {
    CHECK(e.code() == ExitCode::usage);
    return e.what();
  }
  return "";
}

}  // namespace bambu::test
