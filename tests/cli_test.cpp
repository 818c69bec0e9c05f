// Command-line parsing: names, environment variables, validation, exit codes.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <regex>
#include <set>

#include "cli/cli.h"
#include "support/cli_env.h"
#include "support/cli_parse.h"

using namespace bambu;
using namespace bambu::test;

TEST_CASE("defaults for a P1/A1 printer") {
  CleanEnv env;
  auto c = stream({"--host", "192.0.2.10", "--access-code", "12345678", "--serial", "01P00A000000001"});
  CHECK(c.host == "192.0.2.10");
  CHECK(c.access_code == "12345678");
  CHECK(c.source == SourceChoice::jpeg);
  CHECK(c.port == 6000);
  CHECK(c.format == OutputFormat::mjpeg);
  CHECK_FALSE(c.wallclock_timestamps);
  CHECK(c.frames == 0);
  CHECK(c.start_timeout_s == 15);
  CHECK(c.stall_timeout_s == 20);
  CHECK(c.retry_for_s == 120);
  CHECK(c.backoff_initial_s == 1);
  CHECK(c.backoff_max_s == 15);
  CHECK(c.log_level == LogLevel::info);
  CHECK_FALSE(c.tls.fingerprint);
  CHECK(c.tls.ca_file.empty());
  CHECK_FALSE(c.demo);
}

TEST_CASE("every option is read") {
  CleanEnv env;
  auto c = stream({"--host", "printer.lan", "--access-code", "abcdefgh", "--serial", "01S00C000000000", "--source",
                   "JPEG", "--port", "7000", "--format", "mjpeg", "--frames", "1", "--heartbeat", "/tmp/hb.json",
                   "--start-timeout", "2.5", "--stall-timeout", "30", "--retry-for", "0", "--ca-file", "/x.pem",
                   "--tls-fingerprint", std::string(64, 'A').c_str(), "-v"});
  CHECK(c.host == "printer.lan");
  CHECK(c.serial == "01S00C000000000");
  CHECK(c.port == 7000);
  CHECK(c.frames == 1);
  CHECK(c.heartbeat_path == "/tmp/hb.json");
  CHECK(c.start_timeout_s == 2.5);
  CHECK(c.stall_timeout_s == 30);
  CHECK(c.retry_for_s == 0);
  CHECK(c.tls.ca_file == "/x.pem");
  CHECK(c.tls.expected_cn == "01S00C000000000");  // --serial with --ca-file checks the CN
  REQUIRE(c.tls.fingerprint);
  CHECK((*c.tls.fingerprint)[0] == 0xAA);
  CHECK(c.log_level == LogLevel::debug);
}

TEST_CASE("environment variables fill options, the command line wins, empty counts as unset") {
  CleanEnv env;
  ::setenv("PRINTER_ADDRESS", "192.0.2.20", 1);
  ::setenv("PRINTER_ACCESS_CODE", "87654321", 1);
  ::setenv("PRINTER_SERIAL", "01P00A000000001", 1);
  ::setenv("BAMBU_HEARTBEAT", "/run/hb.json", 1);
  ::setenv("PRINTER_SOURCE", "jpeg", 1);
  auto c = stream({});
  CHECK(c.host == "192.0.2.20");
  CHECK(c.access_code == "87654321");
  CHECK(c.serial == "01P00A000000001");
  CHECK(c.heartbeat_path == "/run/hb.json");

  CHECK(stream({"--host", "192.0.2.30"}).host == "192.0.2.30");

  ::setenv("PRINTER_ACCESS_CODE", "", 1);
  CHECK_THAT(usage_error({}), Catch::Contains("no access code given"));
}

TEST_CASE("option --access-code-file: the first line without its newline, and it wins") {
  CleanEnv env;
  char path[] = "/tmp/bambu-code-XXXXXX";
  int fd = ::mkstemp(path);
  REQUIRE(fd >= 0);
  ::close(fd);
  std::ofstream(path) << "secret99\r\n";
  auto c = stream({"--host", "h", "--access-code", "other123", "--access-code-file", path});
  CHECK(c.access_code == "secret99");

  std::ofstream(path) << "\n";
  CHECK_THAT(usage_error({"--host", "h", "--access-code-file", path}), Catch::Contains("empty"));
  ::unlink(path);
  CHECK_THAT(usage_error({"--host", "h", "--access-code-file", path}), Catch::Contains("cannot read"));
}

TEST_CASE("missing or bad options are usage errors that say what to do") {
  CleanEnv env;
  CHECK_THAT(usage_error({"--access-code", "12345678"}), Catch::Contains("--host"));
  CHECK_THAT(usage_error({"--host", "h"}), Catch::Contains("--access-code"));
  CHECK_THAT(usage_error({"--host", "h", "--access-code", std::string(33, 'x').c_str()}),
             Catch::StartsWith("the access code must be 8 characters, but the one given by --access-code has 33"));
  CHECK_THAT(usage_error({"--host", "h", "--access-code", "123"}), Catch::Contains("has 3:"));
  CHECK_THAT(usage_error({"--host", "h", "--access-code", "12345678", "--tls-fingerprint", "abcd"}),
             Catch::Contains("64 hex digits"));
  CHECK_THAT(usage_error({"--host", "h", "--access-code", "12345678", "-v", "-q"}), Catch::Contains("-v and -q"));
  CHECK_FALSE(usage_error({"--host", "h", "--access-code", "12345678", "--port", "70000"}).empty());
  for (const char* bad : {"0", "-1", "nan", "inf", "1e10", "3601", "abc", "5s"}) {
    auto message = usage_error({"--host", "h", "--access-code", "12345678", "--start-timeout", bad});
    CHECK_THAT(message, Catch::Contains("--start-timeout"));
    CHECK(message.size() < 200);  // readable inside go2rtc's 512-byte error
  }
  CHECK_FALSE(usage_error({"--host", "h", "--access-code", "12345678", "--retry-for", "1e10"}).empty());
  CHECK_FALSE(usage_error({"--host", "h", "--access-code", "12345678", "--stall-timeout", "nan"}).empty());
  CHECK(stream({"--host", "h", "--access-code", "12345678", "--retry-for", "0"}).retry_for_s == 0);
  CHECK(stream({"--host", "h", "--access-code", "12345678", "--start-timeout", "3600"}).start_timeout_s == 3600);
  CHECK_FALSE(usage_error({"--host", "h", "--access-code", "12345678", "--format", "h265"}).empty());
  CHECK_FALSE(usage_error({"--host", "h", "--access-code", "12345678", "--bogus"}).empty());
  CHECK_FALSE(usage_error({"--host", "h", "--access-code", "12345678", "--source", "webrtc"}).empty());
}

TEST_CASE("a parse error never repeats the access code") {
  CleanEnv env;
  for (auto args : {std::vector<const char*>{"--host", "h", "--acess-code", "s3cr3tAC"},
                    std::vector<const char*>{"--host", "--access-code", "s3cr3tAC", "extra"},
                    std::vector<const char*>{"--host", "h", "--access-code=s3cr3tAC", "--bogus", "s3cr3tAC"},
                    std::vector<const char*>{"simulate", "--access-code", "s3cr3tAC", "stray", "s3cr3tAC"}}) {
    std::vector<const char*> argv{"bambu-stream"};
    argv.insert(argv.end(), args.begin(), args.end());
    try {
      parse_command_line(static_cast<int>(argv.size()), argv.data());
      FAIL("parsed");
    } catch (const FatalError& e) {
      CHECK(std::string(e.what()).find("s3cr3tAC") == std::string::npos);
    }
  }
  ::setenv("PRINTER_ACCESS_CODE", "envS3cret", 1);
  CHECK(usage_error({"--host", "h", "envS3cret"}).find("envS3cret") == std::string::npos);
}

TEST_CASE("the source follows --source, then the serial, then --format, else a probe at run time") {
  CleanEnv env;
  auto with = [](std::vector<const char*> extra) {
    std::vector<const char*> args{"--host", "h", "--access-code", "12345678"};
    args.insert(args.end(), extra.begin(), extra.end());
    return stream(args);
  };
  // Explicit rtsps: port 322, MPEG-TS.
  auto r = with({"--source", "RTSPS"});
  CHECK(r.source == SourceChoice::rtsps);
  CHECK(r.port == 322);
  CHECK(r.format == OutputFormat::mpegts);
  CHECK(with({"--source", "rtsps", "--format", "h264", "--port", "8322"}).port == 8322);
  CHECK(with({"--source", "rtsps", "--format", "h264"}).format == OutputFormat::h264);
  CHECK(with({"--source", "rtsps", "--wallclock-timestamps"}).wallclock_timestamps);
  // auto with an X1 serial: rtsps; with a P1 serial: jpeg.
  CHECK(with({"--serial", "00M09A000000000"}).source == SourceChoice::rtsps);
  CHECK(with({"--serial", "039XXXX"}).source == SourceChoice::jpeg);
  // forcing jpeg on an X1 serial is allowed
  CHECK(with({"--serial", "00M1", "--source", "jpeg"}).port == 6000);
  // auto, no known serial: --format decides, else it is left to the probe.
  CHECK(with({"--format", "mjpeg"}).source == SourceChoice::jpeg);
  // mpegts and h264 fit both cameras (remuxed or encoded): only the probe can tell.
  CHECK(with({"--format", "mpegts"}).source == SourceChoice::automatic);
  CHECK(with({"--format", "h264"}).format == OutputFormat::h264);
  // jpeg with mpegts or h264: the JPEGs are encoded.
  CHECK(with({"--source", "jpeg", "--format", "mpegts"}).format == OutputFormat::mpegts);
  CHECK(with({"--serial", "01P00A0", "--format", "h264"}).source == SourceChoice::jpeg);
  auto probe = with({"--serial", "ZZZ"});
  CHECK(probe.source == SourceChoice::automatic);
  CHECK(probe.port == 0);
  CHECK(probe.format == OutputFormat::automatic);
  CHECK(with({}).source == SourceChoice::automatic);
}

TEST_CASE("a --format that does not fit the source is a usage error") {
  CleanEnv env;
  CHECK_THAT(usage_error({"--host", "h", "--access-code", "12345678", "--source", "rtsps", "--format", "mjpeg"}),
             Catch::Contains("never re-encodes"));
  CHECK_THAT(usage_error({"--host", "h", "--access-code", "12345678", "--source", "jpeg", "--wallclock-timestamps"}),
             Catch::Contains("for the RTSPS camera"));
  CHECK_THAT(usage_error({"--host", "h", "--access-code", "12345678", "--port", "6000"}),
             Catch::Contains("--port needs --source jpeg or rtsps"));
  CHECK_THAT(usage_error({"--demo", "--source", "rtsps"}), Catch::Contains("port-6000 (jpeg) camera only"));
}

TEST_CASE("option --demo needs neither host nor access code") {
  CleanEnv env;
  auto c = stream({"--demo", "--frames", "3"});
  CHECK(c.demo);
  CHECK(c.frames == 3);
}

TEST_CASE("option --help lists the exit codes, --version names the program") {
  CleanEnv env;
  auto help = std::get<std::string>(parse({"--help"}).command);
  CHECK_THAT(help, Catch::Contains("Exit codes") && Catch::Contains("PRINTER_ACCESS_CODE") &&
                       Catch::Contains("--stall-timeout") && Catch::Contains("6  TLS verification failed"));
  CHECK_THAT(std::get<std::string>(parse({"--version"}).command), Catch::StartsWith("bambu-stream "));
  CHECK_THAT(std::get<std::string>(parse({"simulate", "--help"}).command), Catch::Contains("--max-sessions"));
}

TEST_CASE("the tests clear every environment variable an option reads, in every command") {
  CleanEnv env;
  std::set<std::string> read;
  for (const std::vector<const char*>& help : {std::vector<const char*>{"--help"}, {"simulate", "--help"},
                                              {"status", "--help"}}) {
    const auto text = std::get<std::string>(parse(help).command);
    const std::regex env_name(R"(\(Env:([A-Z0-9_]+)\))");
    for (auto it = std::sregex_iterator(text.begin(), text.end(), env_name); it != std::sregex_iterator(); ++it) {
      read.insert((*it)[1].str());
    }
  }
  CHECK(read.size() >= 8);  // the regex still finds CLI11's "(Env:NAME)"
  CHECK(read == std::set<std::string>(k_cli_env_vars.begin(), k_cli_env_vars.end()));
}

TEST_CASE("simulate options") {
  CleanEnv env;
  auto s = std::get<SimulateConfig>(
      parse({"simulate", "--listen", "127.0.0.1:0", "--access-code", "12345678", "--fps", "30", "--frames", "9",
             "--fault", "drop-mid-frame", "--fault-after", "2", "--max-sessions", "1"})
          .command);
  CHECK(s.listen_host == "127.0.0.1");
  CHECK(s.listen_port == 0);
  CHECK(s.fps == 30);
  CHECK(s.frames == 9);
  CHECK(s.fault == SimulatorFault::drop_mid_frame);
  CHECK(s.fault_after == 2);
  CHECK(s.max_sessions == 1);
  auto v6 = std::get<SimulateConfig>(parse({"simulate", "--listen", "[::1]:6000", "--access-code", "1234"}).command);
  CHECK(v6.listen_host == "::1");
  CHECK(v6.listen_port == 6000);
  CHECK_THAT(usage_error({"simulate", "--listen", "127.0.0.1", "--access-code", "12345678"}),
             Catch::Contains("HOST:PORT"));
  CHECK_FALSE(usage_error({"simulate"}).empty());  // --access-code is required
}

TEST_CASE("encoder options: defaults, values, environment and bounds") {
  CleanEnv env;
  auto d = stream({"--host", "h", "--access-code", "12345678", "--source", "jpeg", "--format", "mpegts"});
  CHECK(d.encoder.encoder == "libx264");
  CHECK(d.encoder.bitrate_kbps == 0);
  CHECK(d.encoder.quality == EncoderSettings::k_default_quality);
  CHECK(d.encoder.keyframe_interval_s == 2);
  CHECK(d.encoder.burst_s == 4);
  CHECK(d.encoder.output_fps == 0);
  CHECK(d.empty_pes);
  CHECK(d.timing_path.empty());
  auto c = stream({"--host", "h", "--access-code", "12345678", "--source", "jpeg", "--format", "h264", "--encoder",
                   "h264_v4l2m2m", "--bitrate", "800", "--quality", "28", "--keyframe-interval", "0.5",
                   "--no-empty-pes", "--timing", "/tmp/t.txt", "--keyframe-burst", "0", "--output-fps", "5"});
  CHECK(c.encoder.burst_s == 0);
  CHECK(c.encoder.output_fps == 5);
  CHECK(c.encoder.encoder == "h264_v4l2m2m");
  CHECK(c.encoder.bitrate_kbps == 800);
  CHECK(c.encoder.quality == 28);
  CHECK(c.encoder.keyframe_interval_s == 0.5);
  CHECK_FALSE(c.empty_pes);
  CHECK(c.timing_path == "/tmp/t.txt");
  ::setenv("BAMBU_ENCODER", "libopenh264", 1);
  CHECK(stream({"--host", "h", "--access-code", "12345678"}).encoder.encoder == "libopenh264");
  ::unsetenv("BAMBU_ENCODER");
  for (const char* bad : {"49", "100001", "-1", "fast"}) {
    CHECK_THAT(usage_error({"--host", "h", "--access-code", "12345678", "--bitrate", bad}),
               Catch::Contains("--bitrate"));
  }
  for (const char* bad : {"-1", "52", "x"}) {
    CHECK_THAT(usage_error({"--host", "h", "--access-code", "12345678", "--quality", bad}),
               Catch::Contains("--quality"));
  }
  for (const char* bad : {"-1", "30.5", "nan", "x"}) {
    CHECK_THAT(usage_error({"--host", "h", "--access-code", "12345678", "--output-fps", bad}),
               Catch::Contains("--output-fps"));
  }
  for (const char* bad : {"0", "2.5", "nan"}) {
    CHECK_THAT(usage_error({"--host", "h", "--access-code", "12345678", "--keyframe-interval", bad}),
               Catch::Contains("--keyframe-interval"));
  }
}

TEST_CASE("MQTT options: defaults, values, environment, and what each needs") {
  CleanEnv env;
  auto d = stream({"--host", "h", "--access-code", "12345678"});
  CHECK_FALSE(d.mqtt);
  CHECK(d.mqtt_port == 8883);
  CHECK_FALSE(d.chamber_light);
  CHECK_FALSE(d.go2rtc_stream);
  auto m = stream({"--host", "h", "--access-code", "12345678", "--serial", "01P00A000000001", "--mqtt",
                   "--mqtt-port", "18883"});
  CHECK(m.mqtt);
  CHECK(m.mqtt_port == 18883);
  CHECK_FALSE(m.chamber_light);
  auto l = stream({"--host", "h", "--access-code", "12345678", "--serial", "01P00A000000001", "--chamber-light",
                   "--go2rtc-stream", "http://127.0.0.1:1984/api/streams?src=p1"});
  CHECK(l.mqtt);  // implied
  CHECK(l.chamber_light);
  REQUIRE(l.go2rtc_stream);
  CHECK(to_string(*l.go2rtc_stream) == "http://127.0.0.1:1984/api/streams?src=p1");
  ::setenv("BAMBU_CHAMBER_LIGHT", "1", 1);
  ::setenv("BAMBU_MQTT_PORT", "28883", 1);
  ::setenv("PRINTER_SERIAL", "01P00A000000001", 1);
  auto e = stream({"--host", "h", "--access-code", "12345678"});
  CHECK(e.chamber_light);
  CHECK(e.mqtt);
  CHECK(e.mqtt_port == 28883);
  ::unsetenv("BAMBU_CHAMBER_LIGHT");
  ::unsetenv("BAMBU_MQTT_PORT");
  ::unsetenv("PRINTER_SERIAL");
  ::setenv("BAMBU_MQTT", "true", 1);
  CHECK_THAT(usage_error({"--host", "h", "--access-code", "12345678"}),
             Catch::StartsWith("--mqtt needs --serial (or PRINTER_SERIAL)"));
  ::unsetenv("BAMBU_MQTT");
  CHECK_THAT(usage_error({"--host", "h", "--access-code", "12345678", "--chamber-light"}),
             Catch::StartsWith("--chamber-light needs --serial"));
  CHECK_THAT(usage_error({"--demo", "--mqtt", "--serial", "01P00A000000001"}),
             Catch::StartsWith("--mqtt: the built-in simulator of --demo has no MQTT broker"));
  // Unused without --chamber-light, so that the image can set it for its one stream either way.
  const auto unused = stream({"--host", "h", "--access-code", "12345678", "--go2rtc-stream",
                              "http://127.0.0.1:1984/api/streams?src=p1"})
                          .go2rtc_stream;
  REQUIRE(unused);
  CHECK(to_string(*unused) == "http://127.0.0.1:1984/api/streams?src=p1");
  CHECK_THAT(usage_error({"--host", "h", "--access-code", "12345678", "--serial", "01P00A000000001",
                          "--chamber-light", "--go2rtc-stream", "https://127.0.0.1:1984/api/streams?src=p1"}),
             Catch::StartsWith("--go2rtc-stream: "));
  for (const char* bad : {"0", "65536", "x"}) {
    CHECK_THAT(usage_error({"--host", "h", "--access-code", "12345678", "--mqtt-port", bad}),
               Catch::Contains("--mqtt-port"));
  }
}

TEST_CASE("simulate: --frames-dir must be a folder, --jitter is bounded") {
  CleanEnv env;
  auto s = std::get<SimulateConfig>(
      parse({"simulate", "--access-code", "12345678", "--frames-dir", "/tmp", "--jitter", "40", "--fault",
             "undecodable-all"})
          .command);
  CHECK(s.frames_dir == "/tmp");
  CHECK(s.jitter_ms == 40);
  CHECK(s.fault == SimulatorFault::undecodable_all);
  CHECK(std::get<SimulateConfig>(parse({"simulate", "--access-code", "12345678", "--fault", "resize"}).command).fault ==
        SimulatorFault::resize);
  CHECK_THAT(usage_error({"simulate", "--access-code", "12345678", "--frames-dir", "/nonexistent/dir"}),
             Catch::Contains("--frames-dir"));
  CHECK_THAT(usage_error({"simulate", "--access-code", "12345678", "--jitter", "-5"}), Catch::Contains("--jitter"));
}
