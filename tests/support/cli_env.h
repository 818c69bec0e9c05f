// The environment variables bambu-stream reads, which every test clears.
#pragma once

#include <string>
#include <vector>

namespace bambu::test {

/// Every environment variable that bambu-stream reads: the `->envname()`
/// of each option in src/cli/cli.cpp (the access code's is also read with
/// getenv, to redact it). Tests remove them all, in-process (CleanEnv,
/// support/cli_parse.h) and from every child they start
/// (ChildOptions::env_unset), so that the environment of whoever runs the
/// tests cannot change what a test sees. cli_test checks this list against
/// the `(Env:NAME)` of every --help, so a variable added to the CLI must be
/// added here.
inline const std::vector<std::string> k_cli_env_vars = {
    "PRINTER_ADDRESS", "PRINTER_ACCESS_CODE", "PRINTER_SERIAL", "PRINTER_SOURCE",      "BAMBU_ENCODER",
    "BAMBU_HEARTBEAT", "BAMBU_SNAPSHOT",      "BAMBU_HEARTBEAT_DIR", "BAMBU_GO2RTC_URL",
    "BAMBU_MQTT",      "BAMBU_MQTT_PORT",     "BAMBU_CHAMBER_LIGHT", "BAMBU_GO2RTC_STREAM"};

}  // namespace bambu::test
