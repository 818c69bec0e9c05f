// Creating the folders a file is to be written in, as `mkdir -p` does, so
// that `--heartbeat /tmp/bambu/printer.json` works where nothing made
// /tmp/bambu first (a go2rtc exec: line, a fresh container).
#pragma once

#include <string>

namespace bambu {

/// Creates every missing folder above the file at `path`, outermost first,
/// each with mode 0755 (less the umask); folders that exist are left as
/// they are. A `path` without a folder part needs nothing. Throws
/// std::system_error whose message names the folder that could not be
/// made (not writable, a file in the way, a name too long).
void make_parent_folders(const std::string& path);

}  // namespace bambu
