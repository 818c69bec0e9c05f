#include "cli/cli.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <utility>

#include "core/log.h"
#include "protocol/login.h"
#include "protocol/models.h"
#include "config/source_choice.h"
#include "config/go2rtc_stream_url.h"

namespace bambu {

const char* const k_exit_code_help =
    "Exit codes:\n"
    "  0  stopped cleanly (SIGTERM, SIGINT, SIGHUP, stdout closed, --frames reached)\n"
    "  1  internal error\n"
    "  2  bad usage or configuration\n"
    "  3  access code rejected (the printer closed the session after the login)\n"
    "  4  printer unreachable, or no first frame within --start-timeout\n"
    "  5  stream lost and not regained within --retry-for\n"
    "  6  TLS verification failed (--tls-fingerprint, --ca-file)\n"
    "\n"
    "stdout carries the video only; logs, --help and --version go to stderr.";

namespace {

[[noreturn]] void usage_error(const std::string& message) { throw FatalError(ExitCode::usage, message); }

// -v and -q as given; log_level() turns them into a level after parsing.
struct Verbosity {
  bool verbose = false;
  bool quiet = false;
};

// Adds -v and -q to `app`, bound to `flags`. Throws nothing.
void add_verbosity(CLI::App& app, Verbosity& flags) {
  app.add_flag("-v,--verbose", flags.verbose, "Log more: connection steps, the certificate fingerprint");
  app.add_flag("-q,--quiet", flags.quiet, "Log errors only");
}

// The level that -v and -q ask for. Throws FatalError(usage) if both are given.
LogLevel log_level(const Verbosity& flags) {
  if (flags.verbose && flags.quiet) usage_error("-v and -q contradict each other");
  return flags.verbose ? LogLevel::debug : flags.quiet ? LogLevel::error : LogLevel::info;
}

std::pair<std::string, std::uint16_t> parse_listen(const std::string& text) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos || colon + 1 == text.size()) {
    usage_error(fmt::format("--listen {}: expected HOST:PORT, e.g. 127.0.0.1:6000", text));
  }
  std::string host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  unsigned long port = 0;
  try {
    std::size_t used = 0;
    port = std::stoul(text.substr(colon + 1), &used);
    if (used != text.size() - colon - 1) throw std::invalid_argument("trailing");
  } catch (const std::exception&) {
    usage_error(fmt::format("--listen {}: the port is not a number", text));
  }
  if (port > 65535) usage_error(fmt::format("--listen {}: port out of range", text));
  return {host, static_cast<std::uint16_t>(port)};
}

// Access codes shorter than this are refused: printers use 8 characters, and
// the logger cannot redact a shorter secret without mangling ordinary words.
constexpr std::size_t k_min_access_code_size = 4;
// The length of every printer's LAN access code (port6000-protocol.md, "Login
// packet"; the printer shows it in its network or LAN settings).
constexpr std::size_t k_printer_access_code_size = 8;

// The simulator's rule: anything that fits the login packet and can be redacted.
void check_access_code(const std::string& code) {
  if (code.size() < k_min_access_code_size || !make_login_packet(code)) {
    usage_error(fmt::format("the access code must be {} to {} characters (the printer shows 8)",
                            k_min_access_code_size, k_max_access_code_size));
  }
}

}  // namespace

std::optional<std::string> printer_access_code_problem(const std::string& code, std::string_view given_by) {
  // Names the count and kind of the bad characters, never the characters:
  // the message is printed, and part of a code is still a secret.
  const auto spaces = static_cast<std::size_t>(std::count_if(
      code.begin(), code.end(), [](unsigned char c) { return std::isspace(c) != 0; }));
  if (spaces > 0) {
    return fmt::format("the access code must not contain spaces, but the one given by {} has {} (a space, tab or "
                       "line break): copy it again from the printer's screen (network or LAN settings), without "
                       "quotes or blanks",
                       given_by, spaces);
  }
  const auto controls = static_cast<std::size_t>(
      std::count_if(code.begin(), code.end(), [](unsigned char c) { return std::iscntrl(c) != 0 || c >= 0x80; }));
  if (controls > 0) {
    return fmt::format("the access code must be letters and digits, but the one given by {} has {} other "
                       "character(s): copy it again from the printer's screen (network or LAN settings)",
                       given_by, controls);
  }
  if (code.size() != k_printer_access_code_size) {
    return fmt::format("the access code must be {} characters, but the one given by {} has {}: copy it again from "
                       "the printer's screen (network or LAN settings)",
                       k_printer_access_code_size, given_by, code.size());
  }
  return std::nullopt;
}

namespace {

// Where each value given to --access-code sits in argv, in either form
// (--access-code X, --access-code=X): the argument's index and the value's
// offset in it.
std::vector<std::pair<int, std::size_t>> access_code_arguments(int argc, const char* const* argv) {
  std::vector<std::pair<int, std::size_t>> found;
  const std::string_view flag = "--access-code";
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == flag && i + 1 < argc) {
      found.emplace_back(++i, 0);
    } else if (arg.size() > flag.size() + 1 && arg.substr(0, flag.size() + 1) == "--access-code=") {
      found.emplace_back(i, flag.size() + 1);
    }
  }
  return found;
}

// CLI11's parse errors quote the arguments they did not expect, and a typo
// such as --acess-code puts the access code among them: replace every value
// given to --access-code (in either form) or PRINTER_ACCESS_CODE.
std::string redact_access_codes(std::string message, int argc, const char* const* argv) {
  std::vector<std::string> secrets;
  if (const char* env = std::getenv("PRINTER_ACCESS_CODE"); env != nullptr && *env != '\0') secrets.emplace_back(env);
  for (auto [index, offset] : access_code_arguments(argc, argv)) secrets.emplace_back(argv[index] + offset);
  for (const auto& secret : secrets) redact(message, secret);
  return message;
}

// CLI11 lists every argument it did not expect. After a mistyped option
// (--acess-code 12345678) that list holds the access code, and nothing marks
// it as one: name only the option-like words and count the rest.
std::string describe_extras(std::string_view cli11_message) {
  auto colon = cli11_message.find(": ");
  std::string_view list = colon == std::string_view::npos ? "" : cli11_message.substr(colon + 2);
  std::string options;
  std::size_t values = 0;
  while (!list.empty()) {
    auto space = list.find(' ');
    std::string_view word = list.substr(0, space);
    list = space == std::string_view::npos ? "" : list.substr(space + 1);
    if (word.empty()) continue;
    if (word.front() == '-') {
      options += options.empty() ? "" : " ";
      options += word.substr(0, word.find('='));  // --opt=value: the value may be the code
    } else {
      ++values;
    }
  }
  std::string message = options.empty() ? "unexpected arguments" : "unknown options or arguments: " + options;
  if (values > 0) message += fmt::format(" (and {} value(s), not shown: one may be the access code)", values);
  return message + "; see --help";
}

// A number of `unit` (e.g. "seconds") in (min, max] (or [min, max] with
// `min_inclusive`), never NaN or infinite, with a message a user can read
// in go2rtc's error line (CLI11's own range text prints DBL_MAX in full,
// and its Range lets NaN through). `name`: the value's name in --help.
CLI::Validator number_in(double min, double max, bool min_inclusive, const std::string& unit, const std::string& name) {
  return CLI::Validator(
      [=](std::string& text) -> std::string {
        double v = 0;
        try {
          std::size_t used = 0;
          v = std::stod(text, &used);
          if (used != text.size()) throw std::invalid_argument("trailing");
        } catch (const std::exception&) {
          return "'" + text + "' is not a number of " + unit;
        }
        bool ok = std::isfinite(v) && (min_inclusive ? v >= min : v > min) && v <= max;
        if (!ok) return fmt::format("{} is out of range: {} {} {} and at most {}", text, unit,
                                    min_inclusive ? "from" : "above", min, max);
        return {};
      },
      name);
}

// A duration option in seconds (number_in).
CLI::Validator seconds_in(double min, double max, bool min_inclusive = false) {
  return number_in(min, max, min_inclusive, "seconds", "SECONDS");
}

}  // namespace

void hide_access_code_arguments(int argc, char** argv) {
  for (auto [index, offset] : access_code_arguments(argc, argv)) {
    for (char* c = argv[index] + offset; *c != '\0'; ++c) *c = '*';
  }
}

std::string read_access_code_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) usage_error(fmt::format("--access-code-file {}: cannot read it", path));
  std::string line;
  std::getline(in, line);
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n' || line.back() == ' ')) line.pop_back();
  if (line.empty()) usage_error(fmt::format("--access-code-file {}: the file is empty", path));
  return line;
}

namespace {

// What --version prints. The static build also names what it contains,
// since those set its licence.
std::string version_text() {
  std::string text = std::string("bambu-stream ") + BAMBU_VERSION;
#ifdef BAMBU_STATIC_COMPONENTS
  text += "\nstatic build, distributed under the GPL-3.0 as a whole (THIRD-PARTY.md); it contains " BAMBU_STATIC_COMPONENTS;
#endif
  return text;
}

// Adds an option bound to `value` that `rule` must accept, its default shown
// in --help. Throws nothing: every option name is fixed and distinct.
template <typename T>
CLI::Option* add_checked_option(CLI::App& app, const std::string& name, T& value, const std::string& description,
                                CLI::Validator rule) {
  return app.add_option(name, value, description)->check(std::move(rule))->capture_default_str();
}

// --source's names, for CLI11's check and then the parsed value.
const std::map<std::string, SourceChoice>& source_names() {
  static const std::map<std::string, SourceChoice> names{
      {"auto", SourceChoice::automatic}, {"jpeg", SourceChoice::jpeg}, {"rtsps", SourceChoice::rtsps}};
  return names;
}

// --format's names, for CLI11's check and then the parsed value.
const std::map<std::string, OutputFormat>& format_names() {
  static const std::map<std::string, OutputFormat> names{{"auto", OutputFormat::automatic},
                                                         {"mjpeg", OutputFormat::mjpeg},
                                                         {"mpegts", OutputFormat::mpegts},
                                                         {"h264", OutputFormat::h264}};
  return names;
}

// simulate --fault's names, for CLI11's check and then the parsed value.
const std::map<std::string, SimulatorFault>& fault_names() {
  static const std::map<std::string, SimulatorFault> names{{"none", SimulatorFault::none},
                                                           {"drop-mid-frame", SimulatorFault::drop_mid_frame},
                                                           {"stall", SimulatorFault::stall},
                                                           {"oversize", SimulatorFault::oversize},
                                                           {"non-jpeg", SimulatorFault::non_jpeg},
                                                           {"undecodable", SimulatorFault::undecodable},
                                                           {"undecodable-all", SimulatorFault::undecodable_all},
                                                           {"resize", SimulatorFault::resize},
                                                           {"tunnel", SimulatorFault::tunnel},
                                                           {"slots-full", SimulatorFault::slots_full}};
  return names;
}

// The stream command's options as CLI11 fills them: the config, and the values
// that stream_config() checks and converts into it. CLI11 holds references
// into it, so it stays where it was declared until parsing is over.
struct StreamOptions {
  StreamConfig config;
  std::string access_code_file;
  std::string fingerprint;
  std::string source = "auto";
  std::string format = "auto";
  std::string go2rtc_stream;  // --go2rtc-stream as given; stream_config() parses it
  bool no_empty_pes = false;
  Verbosity verbosity;
  // --access-code itself: its count tells "given" from "not given" (either
  // on the command line or by PRINTER_ACCESS_CODE).
  const CLI::Option* access_code = nullptr;
};

// simulate's options as CLI11 fills them; simulate_config() finishes them.
struct SimulateOptions {
  SimulateConfig config;
  std::string listen = "127.0.0.1:6000";
  std::string fault = "none";
  Verbosity verbosity;
};

// status's options as CLI11 fills them; status_config() finishes them.
struct StatusOptions {
  StatusConfig config;
  std::string listen;
  Verbosity verbosity;
};

// addon-config's options as CLI11 fills them; addon_config_options() finishes them.
struct AddonCommandOptions {
  AddonConfigOptions config;
  Verbosity verbosity;
};

// Adds the stream command's options that name the printer, its camera and
// the output format. Throws nothing.
void add_printer_options(CLI::App& app, StreamOptions& options) {
  StreamConfig& stream = options.config;
  app.add_option("--host", stream.host, "Printer IP address or name")->envname("PRINTER_ADDRESS");
  options.access_code = app.add_option("--access-code", stream.access_code,
                                       "The printer's LAN access code (8 characters, shown on its screen)")
                            ->envname("PRINTER_ACCESS_CODE");
  app.add_option("--access-code-file", options.access_code_file,
                 "Read the access code from this file (Docker secrets); wins over --access-code");
  app.add_option("--serial", stream.serial, "Printer serial number (picks the source; the certificate's CN)")
      ->envname("PRINTER_SERIAL");
  app.add_option("--source", options.source, "Camera protocol: auto, jpeg (port 6000) or rtsps (port 322)")
      ->envname("PRINTER_SOURCE")
      ->transform(CLI::IsMember(source_names(), CLI::ignore_case))
      ->capture_default_str();
  app.add_option("--port", stream.port, "Camera port (default: 6000 for jpeg, 322 for rtsps)")
      ->check(CLI::Range(1, 65535));
  app.add_option("--format", options.format,
                 "Output on stdout: mjpeg (jpeg source: raw JPEG sequence), mpegts (rtsps default: MPEG-TS) or "
                 "h264 (rtsps: Annex-B); auto: the source's own")
      ->transform(CLI::IsMember(format_names(), CLI::ignore_case))
      ->capture_default_str();
  app.add_flag("--wallclock-timestamps", stream.wallclock_timestamps,
               "rtsps: stamp packets on arrival, for firmware whose timestamps do not advance");
}

// Adds the stream command's options of the JPEG-to-H.264 encoder and the
// MPEG-TS muxer. Throws nothing.
void add_encoder_options(CLI::App& app, StreamOptions& options) {
  EncoderSettings& encoder = options.config.encoder;
  app.add_option("--encoder", encoder.encoder,
                 "jpeg source, --format mpegts/h264: the libavcodec H.264 encoder (only libx264 is tested; "
                 "e.g. h264_v4l2m2m on a Raspberry Pi 4)")
      ->envname("BAMBU_ENCODER")
      ->capture_default_str();
  app.add_option("--bitrate", encoder.bitrate_kbps, "Encoder: cap the H.264 bitrate at KBPS kbit/s (default: none)")
      ->check(CLI::Range(EncoderSettings::k_min_bitrate_kbps, EncoderSettings::k_max_bitrate_kbps)
                  .description("KBPS in 50..100000"));
  add_checked_option(app, "--quality", encoder.quality,
                     "Encoder: quality as libx264's CRF (0 best .. 51 smallest), or the encoder's nearest equivalent",
                     CLI::Range(0, EncoderSettings::k_max_quality).description("CRF in 0..51"));
  add_checked_option(app, "--keyframe-interval", encoder.keyframe_interval_s,
                     "Encoder: camera seconds between keyframes, at most 2 (late viewers wait at most this)",
                     seconds_in(0, EncoderSettings::k_max_keyframe_interval_s));
  add_checked_option(app, "--keyframe-burst", encoder.burst_s,
                     "Encoder: seconds after the start and each reconnect in which every frame is a keyframe, and "
                     "the newest picture is repeated as one 4 times a second, so a viewer that connects meanwhile "
                     "sees a picture at once (0: neither)",
                     seconds_in(0, 60, true));
  add_checked_option(app, "--output-fps", encoder.output_fps,
                     "Encoder: repeat the newest picture (as a P-frame) to a steady FPS frames per second, for "
                     "consumers that expect a camera's rate; timestamps stay real (default 0: off)",
                     number_in(0, EncoderSettings::k_max_output_fps, true, "frames per second", "FPS"));
  app.add_flag("--no-empty-pes", options.no_empty_pes,
               "Testing: leave out the empty PES after each MPEG-TS access unit (go2rtc then holds each frame "
               "until the next)");
}

// Adds the stream command's options of what it writes besides the video:
// timing lines, the frame limit, the heartbeat and the snapshot. Throws nothing.
void add_output_options(CLI::App& app, StreamConfig& stream) {
  app.add_option("--timing", stream.timing_path,
                 "Testing: one line per unit written to stdout, 'MONOTONIC_NS BYTES KEYFRAME REPEAT' (emptied at start)");
  app.add_option("--frames", stream.frames, "Stop after N frames and exit 0 (1 = snapshot)");
  app.add_option("--heartbeat", stream.heartbeat_path, "Keep a JSON status file here (docs/heartbeat.md)")
      ->envname("BAMBU_HEARTBEAT");
  app.add_option("--snapshot", stream.snapshot_path,
                 "Keep the newest picture here as a JPEG file, replaced atomically (status --listen serves it "
                 "as /snapshot.jpg)")
      ->envname("BAMBU_SNAPSHOT");
  add_checked_option(app, "--snapshot-interval", stream.snapshot_interval_s,
                     "Seconds between --snapshot updates, at least", seconds_in(0.1, 3600, true));
}

// Adds the stream command's options of the connection: its deadlines and
// the certificate check. Throws nothing.
void add_connection_options(CLI::App& app, StreamOptions& options) {
  StreamConfig& stream = options.config;
  add_checked_option(app, "--start-timeout", stream.start_timeout_s,
                     "Seconds to wait for the first frame, then exit 4", seconds_in(0, 3600));
  add_checked_option(app, "--stall-timeout", stream.stall_timeout_s,
                     "Seconds without a frame before the session is dropped and redialled", seconds_in(0, 3600));
  add_checked_option(app, "--retry-for", stream.retry_for_s,
                     "Seconds to keep reconnecting after the stream is lost, then exit 5 (at most a year)",
                     seconds_in(0, 365 * 86400, true));
  app.add_option("--tls-fingerprint", options.fingerprint,
                 "Accept only the certificate with this SHA-256 fingerprint (64 hex digits; -v prints it)");
  app.add_option("--ca-file", stream.tls.ca_file,
                 "Accept only certificates issued by a CA in this PEM file (with --serial: and CN = serial)");
}

// Adds the stream command's options of the printer's MQTT broker: its
// state, the chamber light. Throws nothing.
void add_mqtt_options(CLI::App& app, StreamOptions& options) {
  StreamConfig& stream = options.config;
  app.add_flag("--mqtt", stream.mqtt,
               "Read the printer's own state over its MQTT broker (needs --serial): print state in the "
               "heartbeat, and its word on LAN Only Liveview and the camera source")
      ->envname("BAMBU_MQTT");
  app.add_option("--mqtt-port", stream.mqtt_port, "The printer's MQTT broker port")
      ->envname("BAMBU_MQTT_PORT")
      ->check(CLI::Range(1, 65535))
      ->capture_default_str();
  app.add_flag("--chamber-light", stream.chamber_light,
               "Switch the chamber light on while the stream runs (with --go2rtc-stream: while someone "
               "watches), and back off after if it was off; implies --mqtt")
      ->envname("BAMBU_CHAMBER_LIGHT");
  app.add_option("--go2rtc-stream", options.go2rtc_stream,
                 "With --chamber-light (else unused): go2rtc's API URL of this stream, e.g. "
                 "http://127.0.0.1:1984/api/streams?src=printer; the light follows its viewers (preload not "
                 "counted), asked every second")
      ->envname("BAMBU_GO2RTC_STREAM");
}

// Adds the stream command's options (those of `bambu-stream` itself) to
// `app`, in the order --help lists them. Throws nothing.
void add_stream_options(CLI::App& app, StreamOptions& options) {
  add_printer_options(app, options);
  add_encoder_options(app, options);
  add_output_options(app, options.config);
  add_connection_options(app, options);
  add_mqtt_options(app, options);
  app.add_flag("--demo", options.config.demo, "Stream from the built-in printer simulator (no printer needed)");
  app.add_flag("--check", options.config.check,
               "Validate the options and report the camera source, then exit 0 or 2; never connects");
  add_verbosity(app, options.verbosity);
}

// Adds the `simulate` subcommand with its options to `app` and returns it.
// Throws nothing.
CLI::App* add_simulate_command(CLI::App& app, SimulateOptions& options) {
  SimulateConfig& sim = options.config;
  auto* simulate = app.add_subcommand("simulate", "Run a fake P1/A1 camera (port-6000 protocol) to test with");
  simulate->footer("Port 0 picks a free port; the address is logged as 'listening on HOST:PORT'.");
  simulate->add_option("--listen", options.listen, "Address to listen on, HOST:PORT")->capture_default_str();
  simulate->add_option("--access-code", sim.access_code, "The access code clients must send")
      ->envname("PRINTER_ACCESS_CODE")
      ->required();
  add_checked_option(*simulate, "--fps", sim.fps, "Frames per second per session (0.01 to 120)",
                     seconds_in(0.01, 120, true).description("FPS"));
  simulate->add_option("--serial", sim.serial, "Serial number (the certificate's CN)")->capture_default_str();
  simulate->add_option("--frames", sim.frames, "Exit after sending N frames in all (0: never)");
  add_checked_option(*simulate, "--max-sessions", sim.max_sessions,
                     "Sessions served at once; more get no TLS answer until one ends, like the printer",
                     CLI::Range(1, 64));
  simulate->add_option("--fault", options.fault,
                       "Testing: break the first session: drop-mid-frame, stall, oversize, non-jpeg, undecodable (one JPEG "
                       "that does not decode), undecodable-all (only such from then on), resize (half size from "
                       "then on); or every session: tunnel (port 6000 of an RTSPS model), slots-full (login accepted, "
                       "then silence)")
      ->transform(CLI::IsMember(fault_names()));
  simulate->add_option("--fault-after", sim.fault_after, "Testing: whole frames sent before the fault")
      ->capture_default_str();
  simulate->add_option("--record", sim.record_path, "Testing: write every whole JPEG sent to this file, in order (emptied at start)");
  simulate->add_option("--cert-out", sim.cert_out, "Write the simulator's certificate (PEM) to this file");
  auto* cert_opt = simulate->add_option("--cert", sim.cert_file,
                                        "Testing: serve this certificate (PEM) instead of a self-signed one for --serial");
  auto* key_opt = simulate->add_option("--key", sim.key_file, "Testing: the private key (PEM) of --cert");
  cert_opt->needs(key_opt);
  key_opt->needs(cert_opt);
  simulate->add_option("--timing", sim.timing_path,
                       "Testing: one line per whole frame sent, 'SESSION FRAME MONOTONIC_NS BYTES' (emptied at start)");
  simulate->add_option("--frames-dir", sim.frames_dir,
                       "Serve the JPEGs of the .jpg, .jpeg and .mjpeg files of this folder in name order, looping, "
                       "instead of the test pattern (a --record capture works too)")
      ->check(CLI::ExistingDirectory);
  add_checked_option(*simulate, "--jitter", sim.jitter_ms,
                     "Testing: vary each frame interval at random by up to this many ms either way",
                     CLI::Range(0.0, 10000.0));
  add_verbosity(*simulate, options.verbosity);
  return simulate;
}

// Adds the `status` subcommand with its options to `app` and returns it.
// Throws nothing.
CLI::App* add_status_command(CLI::App& app, StatusOptions& options) {
  StatusConfig& status = options.config;
  auto* status_cmd =
      app.add_subcommand("status", "Report the stream's health from its heartbeat file (exit 0: streaming)");
  status_cmd->footer(
      "Exit codes:\n"
      "  0  streaming: the heartbeat says streaming and was updated within --max-age\n"
      "  1  not streaming, stale, missing or unreadable heartbeat (stderr says which)\n"
      "  2  bad usage, or --listen cannot bind its address\n"
      "\n"
      "stdout carries the JSON only. With --listen: GET / (the farm page: a card per printer), /farm (its JSON),\n"
      "/stream_started, /health, /status, /metrics, /snapshot.jpg, and with --heartbeat-dir /printers and\n"
      "/printers/NAME/{stream_started,status,snapshot.jpg,metrics}.");
  status_cmd->add_option("--heartbeat", status.heartbeat_path, "The heartbeat file bambu-stream --heartbeat writes")
      ->envname("BAMBU_HEARTBEAT");
  status_cmd
      ->add_option("--heartbeat-dir", status.heartbeat_dir,
                   "A folder of heartbeats, NAME.json for each printer: the verdict covers them all, served per "
                   "printer under /printers/NAME/")
      ->envname("BAMBU_HEARTBEAT_DIR");
  add_checked_option(*status_cmd, "--max-age", status.max_age_s,
                     "Seconds after its updated_at that the heartbeat still counts as fresh", seconds_in(0, 3600));
  status_cmd->add_option("--listen", options.listen,
                         "Serve HTTP on HOST:PORT instead of printing once (port 0: a free port)");
  status_cmd
      ->add_option("--go2rtc-url", status.go2rtc_url,
                   "go2rtc's web address as a browser reaches it (http://HOST:1984): the farm page at / links each "
                   "printer to URL/stream.html?src=NAME")
      ->envname("BAMBU_GO2RTC_URL");
  add_verbosity(*status_cmd, options.verbosity);
  status_cmd->get_option("--verbose")->description("Log more: every HTTP request");
  return status_cmd;
}

// addon-config's --help footer: the options file's fields, from the one
// list of them (config/addon_config_options.h), then the exit codes.
std::string addon_config_footer() {
  std::string text = fmt::format(
      "The options file (JSON, at most {} bytes) is what Home Assistant's Supervisor writes from the add-on's\n"
      "options: {{\"printers\": [PRINTER, ...], ...}}. Its fields, with their types in the add-on's schema:\n",
      k_max_addon_options_bytes);
  for (const auto& field : k_addon_other_fields) {
    text += fmt::format("  {:<17} {:<26} {}\n", field.name, field.schema, field.meaning);
  }
  text += "Each PRINTER:\n";
  for (const auto& field : k_addon_printer_fields) {
    text += fmt::format("  {:<17} {:<26} {}\n", field.name, field.schema, field.meaning);
  }
  return text +
         "\n"
         "Each printer's exec: line is checked as --check checks it; a printer that fails is left out, with one\n"
         "line naming it and its field, and the others are written.\n"
         "\n"
         "Exit codes:\n"
         "  0  go2rtc's configuration was written (printers left out do not change this)\n"
         "  1  internal error\n"
         "  2  bad usage; the options file unreadable, too large, not JSON, or `printers` not a list\n"
         "     (then nothing is written); or a folder or file that cannot be written";
}

// Adds the `addon-config` subcommand with its options to `app` and returns
// it. Throws nothing.
CLI::App* add_addon_config_command(CLI::App& app, AddonCommandOptions& options) {
  AddonConfigOptions& addon = options.config;
  auto* cmd = app.add_subcommand(
      "addon-config", "Home Assistant add-on: write go2rtc's configuration and the access code files from its options");
  cmd->footer(addon_config_footer());
  cmd->add_option("--options", addon.options_path, "The add-on's options (JSON)")->capture_default_str();
  cmd->add_option("--go2rtc-config", addon.go2rtc_config_path,
                  "Write go2rtc's configuration here (JSON, which go2rtc reads as YAML), replaced atomically")
      ->capture_default_str();
  cmd->add_option("--codes-dir", addon.codes_dir, "Write each printer's access code here, as NAME.code (mode 0600)")
      ->capture_default_str();
  cmd->add_option("--heartbeat-dir", addon.heartbeat_dir,
                  "Each stream's --heartbeat NAME.json and --snapshot NAME.jpg go here (status --heartbeat-dir)")
      ->capture_default_str();
  cmd->add_option("--binary", addon.binary, "The bambu-stream that go2rtc runs (absolute; exec.allow_paths)")
      ->capture_default_str();
  add_verbosity(*cmd, options.verbosity);
  cmd->get_option("--verbose")->description("Log more: how each printer's camera source is chosen");
  return cmd;
}

// Parses argv into the options that `app` declares. Returns the text to
// print for --help or --version, else nullopt. Throws FatalError(usage) with
// CLI11's reason: unexpected arguments named as describe_extras() does, any
// other message with the access code redacted.
std::optional<std::string> parse_arguments(CLI::App& app, int argc, const char* const* argv) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    return app.help();
  } catch (const CLI::CallForAllHelp&) {
    return app.help("", CLI::AppFormatMode::All);
  } catch (const CLI::CallForVersion& e) {
    return std::string(e.what()) + "\n";
  } catch (const CLI::ExtrasError& e) {
    usage_error(describe_extras(e.what()));
  } catch (const CLI::ParseError& e) {
    usage_error(redact_access_codes(e.what(), argc, argv));
  }
  return std::nullopt;
}

// The stream's access code: the first line of --access-code-file if given,
// else --access-code or PRINTER_ACCESS_CODE. Throws FatalError(usage) if the
// file cannot be read or is empty, if no code is given, or with the reason of
// printer_access_code_problem().
std::string stream_access_code(const StreamOptions& options, int argc, const char* const* argv) {
  std::string code = options.config.access_code;
  if (!options.access_code_file.empty()) {
    code = read_access_code_file(options.access_code_file);
  } else if (options.access_code->count() == 0 || code.empty()) {
    usage_error("no access code given: set --access-code, --access-code-file or PRINTER_ACCESS_CODE "
                "(the printer's 8-character LAN access code, shown on its screen in the network or LAN settings)");
  }
  const std::string given_by = !options.access_code_file.empty()             ? "--access-code-file"
                               : !access_code_arguments(argc, argv).empty() ? "--access-code"
                                                                            : "PRINTER_ACCESS_CODE";
  if (auto problem = printer_access_code_problem(code, given_by)) usage_error(*problem);
  return code;
}

// The MQTT options of `stream`, checked: --chamber-light sets --mqtt;
// `go2rtc_stream` (--go2rtc-stream's text, empty when not given) must be an
// http:// URL, parsed into stream.go2rtc_stream (only --chamber-light uses
// it, so that the image can set it for its one stream whether or not the
// light is asked for); --mqtt needs --serial and a printer (not --demo).
// Throws FatalError(usage) naming the problem.
void check_mqtt_options(StreamConfig& stream, const std::string& go2rtc_stream) {
  if (stream.chamber_light) stream.mqtt = true;
  if (!go2rtc_stream.empty()) {
    std::string why;
    stream.go2rtc_stream = parse_go2rtc_stream_url(go2rtc_stream, why);
    if (!stream.go2rtc_stream) usage_error(why);
  }
  if (!stream.mqtt) return;
  const char* given = stream.chamber_light ? "--chamber-light" : "--mqtt";
  if (stream.demo) usage_error(fmt::format("{}: the built-in simulator of --demo has no MQTT broker", given));
  if (stream.serial.empty()) {
    usage_error(fmt::format("{} needs --serial (or PRINTER_SERIAL): the printer publishes its state on "
                            "device/SERIAL/report; the serial is on its screen and in Bambu Studio",
                            given));
  }
}

// The stream command's parsed options, validated into its StreamConfig, with
// the source resolved as far as it can be offline. Throws FatalError(usage)
// at the first problem, in this order: -v with -q, a bad --tls-fingerprint,
// --demo with --source rtsps, no printer, the access code
// (stream_access_code()), then a --source/--format conflict
// (resolve_source_offline()).
StreamConfig stream_config(const StreamOptions& options, int argc, const char* const* argv) {
  StreamConfig stream = options.config;
  stream.empty_pes = !options.no_empty_pes;
  // Absolute: the heartbeat names it for the status server, which runs elsewhere.
  if (!stream.snapshot_path.empty()) stream.snapshot_path = std::filesystem::absolute(stream.snapshot_path).string();
  stream.log_level = log_level(options.verbosity);
  stream.source = source_names().at(options.source);
  stream.format = format_names().at(options.format);
  if (!options.fingerprint.empty()) {
    stream.tls.fingerprint = parse_fingerprint(options.fingerprint);
    if (!stream.tls.fingerprint) {
      usage_error("--tls-fingerprint must be 64 hex digits (the SHA-256 that -v prints; ':' allowed)");
    }
  }
  if (!stream.tls.ca_file.empty()) stream.tls.expected_cn = stream.serial;
  check_mqtt_options(stream, options.go2rtc_stream);
  if (stream.demo) {
    if (stream.source == SourceChoice::rtsps) {
      usage_error("--demo runs the built-in simulator, which serves the port-6000 (jpeg) camera only");
    }
    settle_source(stream, SourceChoice::jpeg);
    return stream;
  }
  if (stream.host.empty()) {
    usage_error("no printer given: set --host or PRINTER_ADDRESS to the printer's IP address (or try --demo)");
  }
  stream.access_code = stream_access_code(options, argc, argv);
  resolve_source_offline(stream);
  return stream;
}

// simulate's parsed options, validated into its SimulateConfig. Throws
// FatalError(usage) at the first problem, in this order: -v with -q, a bad
// --listen, an access code that the login packet cannot carry.
SimulateConfig simulate_config(const SimulateOptions& options) {
  SimulateConfig sim = options.config;
  sim.log_level = log_level(options.verbosity);
  std::tie(sim.listen_host, sim.listen_port) = parse_listen(options.listen);
  sim.fault = fault_names().at(options.fault);
  check_access_code(sim.access_code);
  return sim;
}

// Why `authority` (HOST, HOST:PORT, [IPv6] or [IPv6]:PORT) cannot be the
// host part of a --go2rtc-url, or nullopt.
std::optional<std::string> authority_problem(std::string_view authority) {
  std::string_view host = authority, port;
  if (authority.starts_with('[')) {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return "an IPv6 address needs its closing ]";
    host = authority.substr(1, close - 1);
    port = authority.substr(close + 1);
    if (!port.empty() && !port.starts_with(':')) return "only :PORT may follow [IPv6]";
  } else if (const std::size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon);
  }
  if (host.empty()) return "no host";
  if (!authority.starts_with('[') && host.find(':') != std::string_view::npos) {
    return "an IPv6 address goes in brackets, [ADDRESS]:PORT";
  }
  if (port.empty()) return std::nullopt;
  port.remove_prefix(1);
  const bool digits = !port.empty() && port.size() <= 5 &&
                      std::all_of(port.begin(), port.end(), [](unsigned char c) { return std::isdigit(c) != 0; });
  if (!digits || std::stoul(std::string(port)) == 0 || std::stoul(std::string(port)) > 65535) {
    return "the port is not a number from 1 to 65535";
  }
  return std::nullopt;
}

// --go2rtc-url's value, checked, without its trailing '/'s: http:// or
// https:// (either in any case), a host with an optional :PORT, an optional
// path; at most 2048 bytes of printable ASCII, without the characters a
// link would need escaped (blanks, quotes, < > \ ` { } | ^), credentials
// ('@') or a query or fragment ('?', '#': the page appends
// /stream.html?src=NAME). Throws FatalError(usage), naming the problem.
std::string checked_go2rtc_url(const std::string& text) {
  auto fail = [&](const std::string& why) {
    usage_error(fmt::format("--go2rtc-url {}: {}; give go2rtc's web address as a browser reaches it, "
                            "e.g. http://192.168.1.10:1984",
                            text, why));
  };
  const std::size_t separator = text.find("://");
  std::string scheme = text.substr(0, separator == std::string::npos ? 0 : separator + 3);
  std::transform(scheme.begin(), scheme.end(), scheme.begin(), [](unsigned char c) { return std::tolower(c); });
  if (scheme != "http://" && scheme != "https://") fail("only http:// and https:// addresses can be linked");
  if (text.size() > 2048) fail("longer than 2048 bytes");
  constexpr std::string_view k_refused = "\"'<>\\`{}|^@?#";
  const bool plain = std::all_of(text.begin(), text.end(), [&](unsigned char c) {
    return c > 0x20 && c < 0x7f && k_refused.find(static_cast<char>(c)) == std::string_view::npos;
  });
  if (!plain) fail("blanks, quotes and < > \\ ` { } | ^ @ ? # are not allowed");
  std::string url = text;
  while (url.size() > scheme.size() && url.back() == '/') url.pop_back();
  const std::string_view rest = std::string_view(url).substr(scheme.size());
  if (auto problem = authority_problem(rest.substr(0, rest.find('/')))) fail(*problem);
  return url;
}

// status's parsed options, validated into its StatusConfig. Throws
// FatalError(usage) at the first problem, in this order: -v with -q, neither
// --heartbeat nor --heartbeat-dir, a bad --listen, a bad --go2rtc-url.
StatusConfig status_config(const StatusOptions& options) {
  StatusConfig status = options.config;
  status.log_level = log_level(options.verbosity);
  if (status.heartbeat_path.empty() && status.heartbeat_dir.empty()) {
    usage_error("no heartbeat file given: set --heartbeat or BAMBU_HEARTBEAT to the file bambu-stream writes "
                "(or --heartbeat-dir to a folder of them)");
  }
  if (!options.listen.empty()) {
    status.serve = true;
    std::tie(status.listen_host, status.listen_port) = parse_listen(options.listen);
  }
  if (!status.go2rtc_url.empty()) status.go2rtc_url = checked_go2rtc_url(status.go2rtc_url);
  return status;
}

// The reason `path`, given to `option`, cannot go into a go2rtc exec: line,
// or nullopt: go2rtc splits the line at blanks and quotes, reads what
// follows a '#' as its own parameters and fills in ${VAR}s, so only
// characters it leaves alone are allowed.
std::optional<std::string> exec_line_path_problem(std::string_view option, const std::string& path) {
  const bool plain = std::all_of(path.begin(), path.end(), [](unsigned char c) {
    return std::isalnum(c) != 0 || c == '/' || c == '.' || c == '_' || c == '+' || c == '-';
  });
  if (!path.empty() && plain) return std::nullopt;
  return fmt::format("{} {}: it goes into go2rtc's exec: lines, so only letters, digits and / . _ + - are allowed",
                     option, path);
}

// addon-config's parsed options, validated into its AddonConfigOptions: the
// folders made absolute. Throws FatalError(usage) at the first problem, in
// this order: -v with -q, an empty --options or --go2rtc-config, a --binary
// that is not absolute, then a path of an exec: line that go2rtc would
// split or rewrite (--binary, --codes-dir, --heartbeat-dir).
AddonConfigOptions addon_config_options(const AddonCommandOptions& options) {
  AddonConfigOptions addon = options.config;
  addon.log_level = log_level(options.verbosity);
  if (addon.options_path.empty()) usage_error("--options: give the add-on's options file, e.g. /data/options.json");
  if (addon.go2rtc_config_path.empty()) usage_error("--go2rtc-config: give the file to write");
  if (addon.binary.empty() || addon.binary.front() != '/') {
    usage_error(fmt::format("--binary {}: go2rtc's exec.allow_paths needs an absolute path", addon.binary));
  }
  addon.codes_dir = std::filesystem::absolute(addon.codes_dir).lexically_normal().string();
  addon.heartbeat_dir = std::filesystem::absolute(addon.heartbeat_dir).lexically_normal().string();
  for (const auto& [option, path] : {std::pair{"--binary", addon.binary}, std::pair{"--codes-dir", addon.codes_dir},
                                     std::pair{"--heartbeat-dir", addon.heartbeat_dir}}) {
    if (auto problem = exec_line_path_problem(option, path)) usage_error(*problem);
  }
  return addon;
}

}  // namespace

ParsedCommand parse_command_line(int argc, const char* const* argv) {
  CLI::App app{"Streams a Bambu Lab printer's camera to stdout, for go2rtc, ffplay or Frigate.",
               "bambu-stream"};
  app.footer(k_exit_code_help);
  app.set_version_flag("--version", version_text());
  app.require_subcommand(0, 1);

  // Declared in this order, which is also the order of --help.
  StreamOptions stream;
  add_stream_options(app, stream);
  SimulateOptions simulate;
  const CLI::App* simulate_cmd = add_simulate_command(app, simulate);
  StatusOptions status;
  const CLI::App* status_cmd = add_status_command(app, status);
  AddonCommandOptions addon;
  const CLI::App* addon_cmd = add_addon_config_command(app, addon);

  if (auto text = parse_arguments(app, argc, argv)) return ParsedCommand{std::move(*text)};
  if (simulate_cmd->parsed()) return ParsedCommand{simulate_config(simulate)};
  if (status_cmd->parsed()) return ParsedCommand{status_config(status)};
  if (addon_cmd->parsed()) return ParsedCommand{addon_config_options(addon)};
  return ParsedCommand{stream_config(stream, argc, argv)};
}

}  // namespace bambu
