// `bambu-stream addon-config`: the Home Assistant add-on's options turned
// into go2rtc's configuration and one access code file per printer, before
// the add-on's container starts go2rtc.
#pragma once

#include "config/addon_config_options.h"
#include "core/errors.h"

namespace bambu {

/// Reads options.options_path (at most k_max_addon_options_bytes, with
/// read_addon_options()), then for each printer: writes its access code to
/// CODES/NAME.code (mode 0600, atomically), builds its exec: line
/// (addon_exec_source()) and checks that line's arguments with the CLI's
/// own parser exactly as `bambu-stream ARGS --check` does (offline; the
/// environment counts, as it does for the process go2rtc starts). A printer
/// that fails any check is left out with one stderr line naming it and its
/// add-on field (the CLI's option names mapped back to the fields), and its
/// code file removed; the others are written. Then writes go2rtc's
/// configuration (go2rtc_config_json()) atomically to
/// options.go2rtc_config_path, and logs one summary line: "N printers:
/// NAME, ..." or, with none, where to add them. Lines start "addon-config: ";
/// the access codes are registered with the logger and never written.
///
/// Returns ExitCode::ok once the configuration is written, whatever number
/// of printers was left out. Throws FatalError(usage) with a line starting
/// "addon-config: " when the options cannot be read, are over the size
/// limit, are not JSON or have no `printers` list (nothing written then), or
/// when a folder or the configuration cannot be written (the code files of
/// this run are removed again).
ExitCode run_addon_config(const AddonConfigOptions& options);

}  // namespace bambu
