// bambu-stream: a Bambu Lab printer's camera on stdout, for go2rtc's exec: source.
// Everything but argument dispatch and exit-code mapping lives in bambu_core.
#include <fmt/format.h>

#include <exception>
#include <memory>

#include "app/addon_command.h"
#include "app/check_command.h"
#include "app/commands.h"
#include "app/status_command.h"
#include "cli/cli.h"
#include "core/log.h"
#include "core/signals.h"

int main(int argc, char** argv) {
  using namespace bambu;
  Logger log(LogLevel::error);
  try {
    auto stop = std::make_shared<StopFlag>();
    stop_on_signals(stop);
    ParsedCommand parsed = parse_command_line(argc, argv);
    hide_access_code_arguments(argc, argv);
    if (auto* text = std::get_if<std::string>(&parsed.command)) {
      // --help and --version: stderr too, since stdout is for video only.
      write_all_fd(2, text->data(), text->size());
      return 0;
    }
    if (auto* sim = std::get_if<SimulateConfig>(&parsed.command)) {
      return static_cast<int>(run_simulate(*sim, *stop));
    }
    if (auto* status = std::get_if<StatusConfig>(&parsed.command)) {
      return static_cast<int>(run_status(*status, *stop));
    }
    if (auto* addon = std::get_if<AddonConfigOptions>(&parsed.command)) {
      return static_cast<int>(run_addon_config(*addon));
    }
    auto& config = std::get<StreamConfig>(parsed.command);
    if (config.check) return static_cast<int>(run_check(config));
    return static_cast<int>(run_stream(config, *stop));
  } catch (const FatalError& e) {
    log.error("{}", e.what());
    return static_cast<int>(e.code());
  } catch (const std::exception& e) {
    log.error("internal error: {}", e.what());
    return static_cast<int>(ExitCode::internal);
  }
}
