// Options of `bambu-stream status`, filled by the command line.
// Kept apart from config.h so the stream's options and these evolve separately.
#pragma once

#include <cstdint>
#include <string>

#include "core/log.h"

namespace bambu {

/// Options of `bambu-stream status` (one-shot check, or with --listen an HTTP server).
struct StatusConfig {
  std::string heartbeat_path;  ///< the heartbeat file to read (--heartbeat / BAMBU_HEARTBEAT); may be empty with heartbeat_dir
  /// --heartbeat-dir / BAMBU_HEARTBEAT_DIR: a folder of NAME.json heartbeats, one per
  /// printer (status/printers.h); with it the verdict covers every printer there.
  /// Empty: none. At least one of the two is set.
  std::string heartbeat_dir;
  /// --max-age: seconds after updated_at that the file counts as fresh. The
  /// writer rewrites it at least once a second, so 5 s tolerates a busy machine.
  double max_age_s = 5;
  bool serve = false;          ///< true with --listen: serve HTTP instead of printing once
  std::string listen_host;     ///< --listen host (brackets of an IPv6 literal removed)
  std::uint16_t listen_port = 0;  ///< --listen port; 0 picks a free one (logged as "listening on HOST:PORT")
  /// --go2rtc-url / BAMBU_GO2RTC_URL: go2rtc's web address as a browser
  /// reaches it (http:// or https://, no query or fragment, no trailing '/';
  /// the CLI checks it), for the farm page's links to each printer's player,
  /// URL/stream.html?src=NAME. Empty: no links.
  std::string go2rtc_url;
  LogLevel log_level = LogLevel::info;
};

}  // namespace bambu
