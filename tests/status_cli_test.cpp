// The command line of `status` and of --check, and what --check reports.
#include <catch2/catch.hpp>

#include <stdlib.h>


#include "app/check_command.h"
#include "cli/cli.h"
#include "support/cli_parse.h"

using namespace bambu;
using namespace bambu::test;

namespace {

StatusConfig status(std::vector<const char*> args) { return std::get<StatusConfig>(parse(std::move(args)).command); }

}  // namespace

TEST_CASE("status: defaults, a one-shot check of the file given") {
  CleanEnv env;
  auto c = status({"status", "--heartbeat", "/run/hb.json"});
  CHECK(c.heartbeat_path == "/run/hb.json");
  CHECK(c.max_age_s == 5);
  CHECK_FALSE(c.serve);
  CHECK(c.log_level == LogLevel::info);
}

TEST_CASE("status: the file from BAMBU_HEARTBEAT, the command line wins") {
  CleanEnv env;
  ::setenv("BAMBU_HEARTBEAT", "/env/hb.json", 1);
  CHECK(status({"status"}).heartbeat_path == "/env/hb.json");
  CHECK(status({"status", "--heartbeat", "/cli/hb.json"}).heartbeat_path == "/cli/hb.json");
}

TEST_CASE("status: no heartbeat file is a usage error") {
  CleanEnv env;
  CHECK_THAT(usage_error({"status"}), Catch::StartsWith("no heartbeat file given"));
  ::setenv("BAMBU_HEARTBEAT", "", 1);  // empty counts as unset
  CHECK_THAT(usage_error({"status"}), Catch::StartsWith("no heartbeat file given"));
}

TEST_CASE("status: --listen serves HTTP on HOST:PORT") {
  CleanEnv env;
  auto c = status({"status", "--heartbeat", "h", "--listen", "0.0.0.0:8081", "--max-age", "2.5", "-q"});
  CHECK(c.serve);
  CHECK(c.listen_host == "0.0.0.0");
  CHECK(c.listen_port == 8081);
  CHECK(c.max_age_s == 2.5);
  CHECK(c.log_level == LogLevel::error);
  auto v6 = status({"status", "--heartbeat", "h", "--listen", "[::1]:0"});
  CHECK(v6.listen_host == "::1");
  CHECK(v6.listen_port == 0);
}

TEST_CASE("status: bad values are usage errors naming the option") {
  CleanEnv env;
  CHECK_THAT(usage_error({"status", "--heartbeat", "h", "--listen", "8081"}), Catch::Contains("--listen 8081"));
  CHECK_THAT(usage_error({"status", "--heartbeat", "h", "--listen", "host:http"}), Catch::Contains("not a number"));
  CHECK_THAT(usage_error({"status", "--heartbeat", "h", "--listen", "h:65536"}), Catch::Contains("out of range"));
  CHECK_THAT(usage_error({"status", "--heartbeat", "h", "--max-age", "0"}), Catch::Contains("--max-age"));
  CHECK_THAT(usage_error({"status", "--heartbeat", "h", "--max-age", "soon"}), Catch::Contains("--max-age"));
  CHECK_THAT(usage_error({"status", "--heartbeat", "h", "-v", "-q"}), Catch::Contains("contradict"));
  CHECK_THAT(usage_error({"status", "--heartbeat", "h", "--host", "x"}), Catch::Contains("--host"));
}

TEST_CASE("status: --go2rtc-url, or BAMBU_GO2RTC_URL, kept without its trailing '/'") {
  CleanEnv env;
  CHECK(status({"status", "--heartbeat", "h"}).go2rtc_url.empty());
  CHECK(status({"status", "--heartbeat", "h", "--go2rtc-url", "http://192.168.1.10:1984"}).go2rtc_url ==
        "http://192.168.1.10:1984");
  CHECK(status({"status", "--heartbeat", "h", "--go2rtc-url", "HTTPS://cams.example/go2rtc//"}).go2rtc_url ==
        "HTTPS://cams.example/go2rtc");
  CHECK(status({"status", "--heartbeat", "h", "--go2rtc-url", "http://[fd00::7]:1984/"}).go2rtc_url ==
        "http://[fd00::7]:1984");
  ::setenv("BAMBU_GO2RTC_URL", "http://nas:1984", 1);
  CHECK(status({"status", "--heartbeat", "h"}).go2rtc_url == "http://nas:1984");
  CHECK(status({"status", "--heartbeat", "h", "--go2rtc-url", "http://pi:1984"}).go2rtc_url == "http://pi:1984");
}

TEST_CASE("status: a --go2rtc-url that is not an http(s) address a page can link is a usage error") {
  CleanEnv env;
  auto refused = [](const char* url) { return usage_error({"status", "--heartbeat", "h", "--go2rtc-url", url}); };
  const auto only_http = Catch::Contains("only http:// and https:// addresses");
  CHECK_THAT(refused("javascript:alert(1)"), Catch::StartsWith("--go2rtc-url javascript:alert(1): ") && only_http);
  CHECK_THAT(refused("ftp://nas:1984"), only_http);
  CHECK_THAT(refused("nas:1984"), only_http);
  CHECK_THAT(refused("//nas:1984"), only_http);
  CHECK_THAT(refused("x/http://nas"), only_http);
  CHECK_THAT(refused("http://"), Catch::Contains("no host"));
  CHECK_THAT(refused("http:///go2rtc"), Catch::Contains("no host"));
  CHECK_THAT(refused("http://:1984"), Catch::Contains("no host"));
  CHECK_THAT(refused("http://nas:port"), Catch::Contains("the port is not a number from 1 to 65535"));
  CHECK_THAT(refused("http://nas:65536"), Catch::Contains("from 1 to 65535"));
  CHECK_THAT(refused("http://nas:0"), Catch::Contains("from 1 to 65535"));
  CHECK_THAT(refused("http://fd00::7:1984"), Catch::Contains("in brackets"));
  CHECK_THAT(refused("http://[fd00::7"), Catch::Contains("closing ]"));
  for (const char* bad : {"http://nas:1984/?src=x", "http://nas:1984/#x", "http://user:pw@nas:1984",
                          "http://nas:1984/\"><script>", "http://nas:1984/'x", "http://nas 1984", "http://nas\t",
                          "http://nas/\xc3\xa9"}) {
    INFO(bad);
    CHECK_THAT(refused(bad), Catch::Contains("are not allowed"));
  }
  CHECK_THAT(refused(("http://nas/" + std::string(2040, 'a')).c_str()), Catch::Contains("longer than 2048 bytes"));
  CHECK_THAT(usage_error({"status", "--heartbeat", "h", "--go2rtc-url"}), Catch::Contains("--go2rtc-url"));
}

TEST_CASE("status --help shows its own options and exit codes") {
  CleanEnv env;
  auto text = std::get<std::string>(parse({"status", "--help"}).command);
  CHECK_THAT(text, Catch::Contains("--max-age") && Catch::Contains("--listen") && Catch::Contains("--go2rtc-url") &&
                       Catch::Contains("1  not streaming, stale, missing or unreadable heartbeat"));
  CHECK(text.find("--access-code") == std::string::npos);
}

TEST_CASE("option --check: parsed like a stream, validated the same way, with the source as given") {
  CleanEnv env;
  auto c = stream({"--check", "--host", "192.0.2.10", "--access-code", "12345678"});
  CHECK(c.check);
  CHECK(c.source == SourceChoice::automatic);
  CHECK(c.source_basis == SourceBasis::probe);
  auto given = stream({"--check", "--host", "h", "--access-code", "12345678", "--source", "JPEG"});
  CHECK(given.source == SourceChoice::jpeg);
  CHECK(given.source_basis == SourceBasis::given);
  CHECK_FALSE(stream({"--host", "h", "--access-code", "12345678"}).check);
  CHECK_THAT(usage_error({"--check", "--host", "h"}), Catch::StartsWith("no access code given"));
  CHECK_THAT(usage_error({"--check", "--access-code", "12345678"}), Catch::StartsWith("no printer given"));
  CHECK_THAT(usage_error({"--check", "--host", "h", "--access-code", "123"}), Catch::Contains("must be 8 characters"));
}

TEST_CASE("option --check: what it reports for each way of choosing the source") {
  CleanEnv env;
  auto describe = [](std::initializer_list<const char*> args) { return describe_check(stream(args)); };
  CHECK(describe({"--check", "--host", "192.0.2.10", "--access-code", "12345678"}) ==
        "192.0.2.10, source auto: no --serial, so the camera protocol is probed at run time");
  CHECK(describe({"--check", "--host", "192.0.2.10", "--access-code", "12345678", "--serial", "03919C000000001"}) ==
        "192.0.2.10:6000, source auto: serial prefix 039 is model A1, so jpeg (TLS, JPEG frames)");
  CHECK(describe({"--check", "--host", "p.lan", "--access-code", "12345678", "--serial", "ZZZ1"}) ==
        "p.lan, source auto: serial prefix ZZZ is not a known model, so the camera protocol is probed at run time");
  CHECK(describe({"--check", "--host", "p.lan", "--access-code", "12345678", "--source", "jpeg", "--port", "7000"}) ==
        "p.lan:7000, source jpeg (TLS, JPEG frames), as given");
  CHECK(describe({"--check", "--host", "::1", "--access-code", "12345678", "--source", "jpeg", "--serial",
                  "00M00A000000001"}) == "[::1]:6000, source jpeg (TLS, JPEG frames), as given");
  CHECK(describe({"--check", "--demo"}) == "--demo: the built-in printer simulator, source jpeg");
}

TEST_CASE("option --check: with --mqtt it says the printer's report will decide, and what the light follows") {
  CleanEnv env;
  auto describe = [](std::initializer_list<const char*> args) { return describe_check(stream(args)); };
  CHECK(describe({"--check", "--host", "p.lan", "--access-code", "12345678", "--serial", "ZZZ1", "--mqtt"}) ==
        "p.lan, source auto: serial prefix ZZZ is not a known model, so the printer's MQTT report decides at run "
        "time (the ports are probed if it has not come within 3 s); the printer's MQTT broker on port 8883 is read");
  CHECK(describe({"--check", "--host", "p.lan", "--access-code", "12345678", "--serial", "00M00A000000001",
                  "--mqtt", "--mqtt-port", "18883"}) ==
        "p.lan:322, source auto: serial prefix 00M is model X1/X1C, so rtsps (RTSP over TLS, H.264); the printer's "
        "MQTT broker on port 18883 is read first (up to 3 s): if its report says LAN Only Liveview is off, the run "
        "ends there (exit 4)");
  CHECK(describe({"--check", "--host", "p.lan", "--access-code", "12345678", "--serial", "01P00A000000001",
                  "--chamber-light"}) ==
        "p.lan:6000, source auto: serial prefix 01P is model P1S, so jpeg (TLS, JPEG frames); the printer's MQTT "
        "broker on port 8883 is read; the chamber light is on while the stream runs");
  CHECK_THAT(describe({"--check", "--host", "p.lan", "--access-code", "12345678", "--serial", "01P00A000000001",
                       "--chamber-light", "--go2rtc-stream", "http://127.0.0.1:1984/api/streams?src=p1"}),
             Catch::EndsWith("; the chamber light is on while go2rtc's stream has viewers"));
}

TEST_CASE("option --check: names only the option that decided the source, as the run decides it") {
  CleanEnv env;
  struct Case {
    std::vector<const char*> args;
    SourceChoice source;
    const char* report;
  };
  const std::vector<Case> cases = {
      {{"--wallclock-timestamps"}, SourceChoice::rtsps,
       "127.0.0.1:322, source auto: --wallclock-timestamps means rtsps (RTSP over TLS, H.264)"},
      {{"--format", "mjpeg"}, SourceChoice::jpeg, "127.0.0.1:6000, source auto: --format mjpeg means jpeg (TLS, JPEG frames)"},
      {{"--format", "mpegts"}, SourceChoice::automatic,
       "127.0.0.1, source auto: no --serial, so the camera protocol is probed at run time"},
      {{"--format", "h264", "--serial", "ZZZ1"}, SourceChoice::automatic,
       "127.0.0.1, source auto: serial prefix ZZZ is not a known model, so the camera protocol is probed at run time"},
      {{"--serial", "00M00A000000001", "--wallclock-timestamps"}, SourceChoice::rtsps,
       "127.0.0.1:322, source auto: serial prefix 00M is model X1/X1C, so rtsps (RTSP over TLS, H.264)"},
  };
  for (const Case& c : cases) {
    std::vector<const char*> check = {"--check", "--host", "127.0.0.1", "--access-code", "12345678"};
    check.insert(check.end(), c.args.begin(), c.args.end());
    CAPTURE(c.report);
    const StreamConfig parsed = stream(check);
    CHECK(describe_check(parsed) == c.report);
    // The run takes the same decision: the same command line without --check.
    check.erase(check.begin());
    CHECK(stream(check).source == c.source);
    CHECK(parsed.source == c.source);
  }
}
