// The farm page of `bambu-stream status --listen`: one HTML page at GET /
// with a card per printer (name, live snapshot, state, frame rate, age of
// the last frame, print progress when the heartbeat has it), and the JSON
// it polls, GET /farm. The page is self-contained (no external asset) and
// puts every text from a heartbeat into the DOM as text, never as markup;
// its Content-Security-Policy allows only its own script and style, so
// even injected markup could run nothing.
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <string>
#include <string_view>

#include "status/status_config.h"

namespace bambu {

/// The page: one UTF-8 HTML document with its CSS and JavaScript inline
/// (src/status/farm_page_html.cpp). It asks only its own server, with
/// URLs relative to the page (so it also works behind a proxy's path
/// prefix): `farm` every 2 s, and each printer's snapshot every 3 s while
/// the heartbeat says a fresh one exists (so the browser never meets a
/// 404 or 503 it could log). Static: the same bytes for every server.
std::string_view farm_page_html();

/// The Content-Security-Policy header value served with farm_page_html():
/// nothing from anywhere (default-src 'none') except the page's one inline
/// <script> and one inline <style>, allowed by their SHA-256 hashes (so an
/// inline event handler or an injected <script> would not run), images and
/// fetches from the page's own origin, and data: images (the page's empty
/// icon, which keeps the browser from asking for /favicon.ico). Computed once from the page's text;
/// throws std::logic_error if the page has no single <script> or <style>
/// (a broken build, caught by the status tests).
const std::string& farm_page_security_policy();

/// What GET /farm answers, everything the page shows:
///   {"go2rtc_url": config.go2rtc_url or null,
///    "max_age": config.max_age_s,
///    "folder": true when the printers are those of --heartbeat-dir (each
///              has /printers/NAME/snapshot.jpg), false for the one
///              --heartbeat (its snapshot is /snapshot.jpg),
///    "printers": [{"name": NAME, "status": status_json() of its heartbeat}, ...]}
/// With --heartbeat-dir: every printer there (printer_names(), sorted).
/// Otherwise one printer, named after the heartbeat's file name without
/// its ".json" (the heartbeat itself has no name field): any text, which
/// the page shows as text. Judged at `now`. Never throws except std::bad_alloc.
nlohmann::json farm_json(const StatusConfig& config, std::chrono::system_clock::time_point now);

}  // namespace bambu
