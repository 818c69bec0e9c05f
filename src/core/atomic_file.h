// Replacing a file atomically, so that a reader (Home Assistant, a Docker
// health check, `cat`, the status server) never sees half of it.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>

namespace bambu {

/// Replaces the file at `path` with `content`: writes `path`.tmp.<pid>, then
/// rename(2)s it over `path`. The file gets `mode` less the umask, from its
/// creation on, so a secret (0600) is never readable by others, not even as
/// the temporary file. Throws std::system_error (message names the path) if
/// the directory is not writable or the disk is full; the temporary file is
/// removed on failure.
void write_file_atomically(const std::string& path, std::string_view content, mode_t mode = 0644);

}  // namespace bambu
