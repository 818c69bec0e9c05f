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

#include "core/log.h"
#include "protocol/login.h"
#include "protocol/models.h"
#include "config/source_choice.h"

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

// Adds -v and -q to `app`; verbosity() turns them into a level after parsing.
void add_verbosity(CLI::App& app, bool& verbose, bool& quiet) {
  app.add_flag("-v,--verbose", verbose, "Log more: connection steps, the certificate fingerprint");
  app.add_flag("-q,--quiet", quiet, "Log errors only");
}

LogLevel verbosity(bool verbose, bool quiet) {
  if (verbose && quiet) usage_error("-v and -q contradict each other");
  return verbose ? LogLevel::debug : quiet ? LogLevel::error : LogLevel::info;
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

// A duration option in seconds: a number in (min, max] (or [min, max] with
// `min_inclusive`), never NaN or infinite, with a message a user can read
// in go2rtc's error line (CLI11's own range text prints DBL_MAX in full).
CLI::Validator seconds_in(double min, double max, bool min_inclusive = false) {
  return CLI::Validator(
      [=](std::string& text) -> std::string {
        double v = 0;
        try {
          std::size_t used = 0;
          v = std::stod(text, &used);
          if (used != text.size()) throw std::invalid_argument("trailing");
        } catch (const std::exception&) {
          return "'" + text + "' is not a number of seconds";
        }
        bool ok = std::isfinite(v) && (min_inclusive ? v >= min : v > min) && v <= max;
        if (!ok) return fmt::format("{} is out of range: seconds {} {} and at most {}", text,
                                    min_inclusive ? "from" : "above", min, max);
        return {};
      },
      "SECONDS");
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

// What --version prints. The static build (issue 18) also names what it
// contains, since those set its licence.
std::string version_text() {
  std::string text = std::string("bambu-stream ") + BAMBU_VERSION;
#ifdef BAMBU_STATIC_COMPONENTS
  text += "\nstatic build, distributed under the GPL-3.0 as a whole (THIRD-PARTY.md); it contains " BAMBU_STATIC_COMPONENTS;
#endif
  return text;
}

}  // namespace

ParsedCommand parse_command_line(int argc, const char* const* argv) {
  CLI::App app{"Streams a Bambu Lab printer's camera to stdout, for go2rtc, ffplay or Frigate.",
               "bambu-stream"};
  app.footer(k_exit_code_help);
  app.set_version_flag("--version", version_text());
  app.require_subcommand(0, 1);

  StreamConfig stream;
  std::string access_code_file, fingerprint;
  bool verbose = false, quiet = false;
  const std::map<std::string, SourceChoice> sources{
      {"auto", SourceChoice::automatic}, {"jpeg", SourceChoice::jpeg}, {"rtsps", SourceChoice::rtsps}};
  const std::map<std::string, OutputFormat> formats{{"auto", OutputFormat::automatic},
                                                    {"mjpeg", OutputFormat::mjpeg},
                                                    {"mpegts", OutputFormat::mpegts},
                                                    {"h264", OutputFormat::h264}};

  app.add_option("--host", stream.host, "Printer IP address or name")->envname("PRINTER_ADDRESS");
  auto* code_opt = app.add_option("--access-code", stream.access_code,
                                  "The printer's LAN access code (8 characters, shown on its screen)")
                       ->envname("PRINTER_ACCESS_CODE");
  app.add_option("--access-code-file", access_code_file,
                 "Read the access code from this file (Docker secrets); wins over --access-code");
  app.add_option("--serial", stream.serial, "Printer serial number (picks the source; the certificate's CN)")
      ->envname("PRINTER_SERIAL");
  std::string source = "auto", format = "auto";
  app.add_option("--source", source, "Camera protocol: auto, jpeg (port 6000) or rtsps (port 322)")
      ->envname("PRINTER_SOURCE")
      ->transform(CLI::IsMember(sources, CLI::ignore_case))
      ->capture_default_str();
  app.add_option("--port", stream.port, "Camera port (default: 6000 for jpeg, 322 for rtsps)")
      ->check(CLI::Range(1, 65535));
  app.add_option("--format", format,
                 "Output on stdout: mjpeg (jpeg source: raw JPEG sequence), mpegts (rtsps default: MPEG-TS) or "
                 "h264 (rtsps: Annex-B); auto: the source's own")
      ->transform(CLI::IsMember(formats, CLI::ignore_case))
      ->capture_default_str();
  app.add_flag("--wallclock-timestamps", stream.wallclock_timestamps,
               "rtsps: stamp packets on arrival, for firmware whose timestamps do not advance");
  app.add_option("--encoder", stream.encoder.encoder,
                 "jpeg source, --format mpegts/h264: the libavcodec H.264 encoder (only libx264 is tested; "
                 "e.g. h264_v4l2m2m on a Raspberry Pi 4)")
      ->envname("BAMBU_ENCODER")
      ->capture_default_str();
  app.add_option("--bitrate", stream.encoder.bitrate_kbps, "Encoder: cap the H.264 bitrate at KBPS kbit/s (default: none)")
      ->check(CLI::Range(EncoderSettings::k_min_bitrate_kbps, EncoderSettings::k_max_bitrate_kbps)
                  .description("KBPS in 50..100000"));
  app.add_option("--quality", stream.encoder.quality,
                 "Encoder: quality as libx264's CRF (0 best .. 51 smallest), or the encoder's nearest equivalent")
      ->check(CLI::Range(0, EncoderSettings::k_max_quality).description("CRF in 0..51"))
      ->capture_default_str();
  app.add_option("--keyframe-interval", stream.encoder.keyframe_interval_s,
                 "Encoder: camera seconds between keyframes, at most 2 (late viewers wait at most this)")
      ->check(seconds_in(0, EncoderSettings::k_max_keyframe_interval_s))
      ->capture_default_str();
  app.add_option("--keyframe-burst", stream.encoder.burst_s,
                 "Encoder: seconds after the start and each reconnect in which every frame is a keyframe, so a "
                 "viewer that connects meanwhile sees the next frame")
      ->check(seconds_in(0, 60, true))
      ->capture_default_str();
  bool no_empty_pes = false;
  app.add_flag("--no-empty-pes", no_empty_pes,
               "Testing: leave out the empty PES after each MPEG-TS access unit (go2rtc then holds each frame "
               "until the next)");
  app.add_option("--timing", stream.timing_path,
                 "Testing: one line per unit written to stdout, 'MONOTONIC_NS BYTES KEYFRAME' (emptied at start)");
  app.add_option("--frames", stream.frames, "Stop after N frames and exit 0 (1 = snapshot)");
  app.add_option("--heartbeat", stream.heartbeat_path, "Keep a JSON status file here (see README)")
      ->envname("BAMBU_HEARTBEAT");
  app.add_option("--snapshot", stream.snapshot_path,
                 "Keep the newest picture here as a JPEG file, replaced atomically (status --listen serves it "
                 "as /snapshot.jpg)")
      ->envname("BAMBU_SNAPSHOT");
  app.add_option("--snapshot-interval", stream.snapshot_interval_s, "Seconds between --snapshot updates, at least")
      ->check(seconds_in(0.1, 3600, true))
      ->capture_default_str();
  app.add_option("--start-timeout", stream.start_timeout_s, "Seconds to wait for the first frame, then exit 4")
      ->check(seconds_in(0, 3600))
      ->capture_default_str();
  app.add_option("--stall-timeout", stream.stall_timeout_s,
                 "Seconds without a frame before the session is dropped and redialled")
      ->check(seconds_in(0, 3600))
      ->capture_default_str();
  app.add_option("--retry-for", stream.retry_for_s,
                 "Seconds to keep reconnecting after the stream is lost, then exit 5 (at most a year)")
      ->check(seconds_in(0, 365 * 86400, true))
      ->capture_default_str();
  app.add_option("--tls-fingerprint", fingerprint,
                 "Accept only the certificate with this SHA-256 fingerprint (64 hex digits; -v prints it)");
  app.add_option("--ca-file", stream.tls.ca_file,
                 "Accept only certificates issued by a CA in this PEM file (with --serial: and CN = serial)");
  app.add_flag("--demo", stream.demo, "Stream from the built-in printer simulator (no printer needed)");
  app.add_flag("--check", stream.check,
               "Validate the options and report the camera source, then exit 0 or 2; never connects");
  add_verbosity(app, verbose, quiet);

  SimulateConfig sim;
  std::string listen = "127.0.0.1:6000";
  std::string fault = "none";
  bool sim_verbose = false, sim_quiet = false;
  const std::map<std::string, SimulatorFault> faults{{"none", SimulatorFault::none},
                                                     {"drop-mid-frame", SimulatorFault::drop_mid_frame},
                                                     {"stall", SimulatorFault::stall},
                                                     {"oversize", SimulatorFault::oversize},
                                                     {"non-jpeg", SimulatorFault::non_jpeg},
                                                     {"undecodable", SimulatorFault::undecodable},
                                                     {"undecodable-all", SimulatorFault::undecodable_all},
                                                     {"resize", SimulatorFault::resize},
                                                     {"tunnel", SimulatorFault::tunnel},
                                                     {"slots-full", SimulatorFault::slots_full}};
  auto* simulate = app.add_subcommand("simulate", "Run a fake P1/A1 camera (port-6000 protocol) to test with");
  simulate->footer("Port 0 picks a free port; the address is logged as 'listening on HOST:PORT'.");
  simulate->add_option("--listen", listen, "Address to listen on, HOST:PORT")->capture_default_str();
  simulate->add_option("--access-code", sim.access_code, "The access code clients must send")
      ->envname("PRINTER_ACCESS_CODE")
      ->required();
  simulate->add_option("--fps", sim.fps, "Frames per second per session (0.01 to 120)")
      ->check(seconds_in(0.01, 120, true).description("FPS"))
      ->capture_default_str();
  simulate->add_option("--serial", sim.serial, "Serial number (the certificate's CN)")->capture_default_str();
  simulate->add_option("--frames", sim.frames, "Exit after sending N frames in all (0: never)");
  simulate->add_option("--max-sessions", sim.max_sessions,
                       "Sessions served at once; more get no TLS answer until one ends, like the printer")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  simulate->add_option("--fault", fault,
                       "Testing: break the first session: drop-mid-frame, stall, oversize, non-jpeg, undecodable (one JPEG "
                       "that does not decode), undecodable-all (only such from then on), resize (half size from "
                       "then on); or every session: tunnel (port 6000 of an RTSPS model), slots-full (login accepted, "
                       "then silence)")
      ->transform(CLI::IsMember(faults));
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
  simulate->add_option("--jitter", sim.jitter_ms,
                       "Testing: vary each frame interval at random by up to this many ms either way")
      ->check(CLI::Range(0.0, 10000.0))
      ->capture_default_str();
  add_verbosity(*simulate, sim_verbose, sim_quiet);

  StatusConfig status_config;
  std::string status_listen;
  bool status_verbose = false, status_quiet = false;
  auto* status_cmd =
      app.add_subcommand("status", "Report the stream's health from its heartbeat file (exit 0: streaming)");
  status_cmd->footer(
      "Exit codes:\n"
      "  0  streaming: the heartbeat says streaming and was updated within --max-age\n"
      "  1  not streaming, stale, missing or unreadable heartbeat (stderr says which)\n"
      "  2  bad usage, or --listen cannot bind its address\n"
      "\n"
      "stdout carries the JSON only. With --listen: GET /stream_started, /health, /status, /metrics,\n"
      "/snapshot.jpg, and with --heartbeat-dir /printers and /printers/NAME/{stream_started,status,snapshot.jpg,metrics}.");
  status_cmd
      ->add_option("--heartbeat", status_config.heartbeat_path, "The heartbeat file bambu-stream --heartbeat writes")
      ->envname("BAMBU_HEARTBEAT");
  status_cmd
      ->add_option("--heartbeat-dir", status_config.heartbeat_dir,
                   "A folder of heartbeats, NAME.json for each printer: the verdict covers them all, served per "
                   "printer under /printers/NAME/")
      ->envname("BAMBU_HEARTBEAT_DIR");
  status_cmd->add_option("--max-age", status_config.max_age_s,
                         "Seconds after its updated_at that the heartbeat still counts as fresh")
      ->check(seconds_in(0, 3600))
      ->capture_default_str();
  status_cmd->add_option("--listen", status_listen,
                         "Serve HTTP on HOST:PORT instead of printing once (port 0: a free port)");
  add_verbosity(*status_cmd, status_verbose, status_quiet);
  status_cmd->get_option("--verbose")->description("Log more: every HTTP request");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    return ParsedCommand{app.help()};
  } catch (const CLI::CallForAllHelp&) {
    return ParsedCommand{app.help("", CLI::AppFormatMode::All)};
  } catch (const CLI::CallForVersion& e) {
    return ParsedCommand{std::string(e.what()) + "\n"};
  } catch (const CLI::ExtrasError& e) {
    usage_error(describe_extras(e.what()));
  } catch (const CLI::ParseError& e) {
    usage_error(redact_access_codes(e.what(), argc, argv));
  }

  if (simulate->parsed()) {
    sim.log_level = verbosity(sim_verbose, sim_quiet);
    std::tie(sim.listen_host, sim.listen_port) = parse_listen(listen);
    sim.fault = faults.at(fault);
    check_access_code(sim.access_code);
    return ParsedCommand{sim};
  }

  if (status_cmd->parsed()) {
    status_config.log_level = verbosity(status_verbose, status_quiet);
    if (status_config.heartbeat_path.empty() && status_config.heartbeat_dir.empty()) {
      usage_error("no heartbeat file given: set --heartbeat or BAMBU_HEARTBEAT to the file bambu-stream writes "
                  "(or --heartbeat-dir to a folder of them)");
    }
    if (!status_listen.empty()) {
      status_config.serve = true;
      std::tie(status_config.listen_host, status_config.listen_port) = parse_listen(status_listen);
    }
    return ParsedCommand{status_config};
  }

  stream.empty_pes = !no_empty_pes;
  // Absolute: the heartbeat names it for the status server, which runs elsewhere.
  if (!stream.snapshot_path.empty()) stream.snapshot_path = std::filesystem::absolute(stream.snapshot_path).string();
  stream.log_level = verbosity(verbose, quiet);
  stream.source = sources.at(source);
  stream.format = formats.at(format);
  if (!fingerprint.empty()) {
    stream.tls.fingerprint = parse_fingerprint(fingerprint);
    if (!stream.tls.fingerprint) {
      usage_error("--tls-fingerprint must be 64 hex digits (the SHA-256 that -v prints; ':' allowed)");
    }
  }
  if (!stream.tls.ca_file.empty()) stream.tls.expected_cn = stream.serial;
  if (stream.demo) {
    if (stream.source == SourceChoice::rtsps) {
      usage_error("--demo runs the built-in simulator, which serves the port-6000 (jpeg) camera only");
    }
    settle_source(stream, SourceChoice::jpeg);
    return ParsedCommand{stream};
  }
  if (stream.host.empty()) {
    usage_error("no printer given: set --host or PRINTER_ADDRESS to the printer's IP address (or try --demo)");
  }
  if (!access_code_file.empty()) {
    stream.access_code = read_access_code_file(access_code_file);
  } else if (code_opt->count() == 0 || stream.access_code.empty()) {
    usage_error("no access code given: set --access-code, --access-code-file or PRINTER_ACCESS_CODE "
                "(the printer's 8-character LAN access code, shown on its screen in the network or LAN settings)");
  }
  const std::string given_by = !access_code_file.empty()                     ? "--access-code-file"
                               : !access_code_arguments(argc, argv).empty() ? "--access-code"
                                                                            : "PRINTER_ACCESS_CODE";
  if (auto problem = printer_access_code_problem(stream.access_code, given_by)) usage_error(*problem);
  resolve_source_offline(stream);
  return ParsedCommand{stream};
}

}  // namespace bambu
