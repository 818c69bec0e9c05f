// The Home Assistant add-on's options read in-process (app/addon_options.h):
// each field's check and its one line, the exec: lines and go2rtc's
// configuration they make, CLI messages mapped back to the add-on's fields,
// and the command line of `addon-config`. The built binary is run in
// addon_config_e2e_test.cpp.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "app/addon_options.h"
#include "cli/cli.h"
#include "support/cli_parse.h"

using namespace bambu;
using namespace bambu::test;
using nlohmann::json;

namespace {

const std::string k_path = "/data/options.json";

// A printer entry with every field good; a test changes one.
json good_printer(const std::string& name = "p1s") {
  return {{"name", name}, {"host", "192.168.1.50"}, {"access_code", "12345678"}, {"serial", "01P00A000000001"},
          {"source", "auto"}};
}

AddonOptions read(const json& options) { return read_addon_options(options.dump(), k_path); }

// The options with one printer `entry` after a good one; its one problem
// line (the test fails unless there is exactly one and the good printer is kept).
std::string problem_of(const json& entry) {
  const AddonOptions out = read({{"printers", {good_printer("good"), entry}}});
  REQUIRE(out.printers.size() == 1);
  CHECK(out.printers[0].name == "good");
  REQUIRE(out.problems.size() == 1);
  return out.problems[0];
}

// The usage error's message of read_addon_options() on `text`.
std::string fatal_of(const std::string& text) {
  try {
    read_addon_options(text, k_path);
  } catch (const FatalError& e) {
    CHECK(e.code() == ExitCode::usage);
    return e.what();
  }
  FAIL("no usage error for " << text);
  return "";
}

AddonConfigOptions addon_options(std::vector<const char*> args) {
  args.insert(args.begin(), "addon-config");
  return std::get<AddonConfigOptions>(parse(std::move(args)).command);
}

}  // namespace

TEST_CASE("add-on options: two printers read field by field, optional fields defaulted") {
  json second = {{"name", "x1c"}, {"host", "printer.lan"}, {"access_code", "87654321"}};
  const AddonOptions out = read({{"printers", {good_printer(), second}}, {"webrtc_candidate", "192.168.1.10:8555"}});
  REQUIRE(out.printers.size() == 2);
  CHECK(out.problems.empty());
  CHECK(out.printers[0].number == 1);
  CHECK(out.printers[0].name == "p1s");
  CHECK(out.printers[0].host == "192.168.1.50");
  CHECK(out.printers[0].access_code == "12345678");
  CHECK(out.printers[0].serial == "01P00A000000001");
  CHECK(out.printers[0].source == "auto");
  CHECK(out.printers[1].number == 2);
  CHECK(out.printers[1].serial.empty());
  CHECK(out.printers[1].source == "auto");
  for (const auto& printer : out.printers) {
    CHECK_FALSE(printer.print_state);
    CHECK_FALSE(printer.chamber_light);
  }
  CHECK(out.webrtc_candidate == "192.168.1.10:8555");
  CHECK_FALSE(out.webrtc_problem);
  CHECK(out.access_codes == std::vector<std::string>{"12345678", "87654321"});
}

TEST_CASE("add-on options: optional fields null or empty count as not given") {
  json entry = good_printer();
  entry["serial"] = "";
  entry["source"] = nullptr;
  const AddonOptions out = read({{"printers", {entry}}, {"webrtc_candidate", ""}});
  REQUIRE(out.printers.size() == 1);
  CHECK(out.printers[0].serial.empty());
  CHECK(out.printers[0].source == "auto");
  CHECK_FALSE(out.webrtc_candidate);
  CHECK_FALSE(out.webrtc_problem);
  CHECK(read({{"printers", json::array()}}).printers.empty());
}

TEST_CASE("add-on options: each required field missing, null, empty or not text is one line naming it") {
  for (const char* field : {"name", "host", "access_code"}) {
    INFO(field);
    json entry = good_printer("bad");
    entry.erase(field);
    const std::string who = std::string(field) == "name" ? "printer 2" : "printer \"bad\"";
    CHECK(problem_of(entry) == who + ": " + field + ": missing");
    entry[field] = nullptr;
    CHECK(problem_of(entry) == who + ": " + field + ": missing");
    entry[field] = "";
    CHECK(problem_of(entry) == who + ": " + field + ": missing");
    entry[field] = 12345678;
    CHECK(problem_of(entry) == who + ": " + field + ": must be text, not number");
  }
  for (const char* field : {"serial", "source"}) {
    INFO(field);
    json entry = good_printer("bad");
    entry[field] = json::array({"x"});
    CHECK(problem_of(entry) == std::string("printer \"bad\": ") + field + ": must be text, not array");
  }
}

TEST_CASE("add-on options: the printer fields read are exactly the schema's list") {
  std::vector<std::string> names;
  for (const auto& field : k_addon_printer_fields) names.emplace_back(field.name);
  CHECK(names ==
        std::vector<std::string>{"name", "host", "access_code", "serial", "source", "print_state", "chamber_light"});
  // Required in the schema (no trailing ?) exactly when a missing one is refused.
  for (const auto& field : k_addon_printer_fields) {
    INFO(field.name);
    json entry = good_printer("bad");
    entry.erase(std::string(field.name));
    const AddonOptions out = read({{"printers", {entry}}});
    CHECK(out.printers.empty() == (field.schema.back() != '?'));
  }
  // Each value of source's list() is taken as it is, and nothing else.
  for (const char* source : {"auto", "jpeg", "rtsps"}) {
    CHECK(std::string(k_addon_printer_fields[4].schema).find(source) != std::string::npos);
    json entry = good_printer();
    entry["source"] = source;
    CHECK(read({{"printers", {entry}}}).printers.at(0).source == source);
  }
  std::vector<std::string> others;
  for (const auto& field : k_addon_other_fields) others.emplace_back(field.name);
  CHECK(others == std::vector<std::string>{"webrtc_candidate"});
}

TEST_CASE("add-on options: names are 1-32 of a-z, 0-9, _, and hostile ones are refused and shown on one line") {
  for (const char* name : {"a", "printer_2", "abcdefghijklmnopqrstuvwxyz012345"}) {
    CHECK(read({{"printers", {good_printer(name)}}}).printers.size() == 1);
  }
  CHECK(problem_of(good_printer("X 1")) == "printer 2: name: \"X 1\" is not 1-32 of a-z, 0-9, _");
  CHECK(problem_of(good_printer("../x")) == "printer 2: name: \"../x\" is not 1-32 of a-z, 0-9, _");
  CHECK(problem_of(good_printer("a\"b")) == "printer 2: name: \"a\\\"b\" is not 1-32 of a-z, 0-9, _");
  CHECK(problem_of(good_printer("a\nb")) == "printer 2: name: \"a\\nb\" is not 1-32 of a-z, 0-9, _");
  CHECK(problem_of(good_printer("p1s.code")) == "printer 2: name: \"p1s.code\" is not 1-32 of a-z, 0-9, _");
  CHECK(problem_of(good_printer("abcdefghijklmnopqrstuvwxyz0123456")) ==
        "printer 2: name: \"abcdefghijklmnopqrstuvwxyz0123456\" is not 1-32 of a-z, 0-9, _");
  // A long value is cut: the line stays short whatever the file holds.
  const std::string line = problem_of(good_printer(std::string(10000, 'A')));
  CHECK(line == "printer 2: name: \"" + std::string(40, 'A') + "...\" is not 1-32 of a-z, 0-9, _");
}

TEST_CASE("add-on options: a duplicate name leaves the later printer out") {
  const AddonOptions out = read({{"printers", {good_printer("p1s"), good_printer("x1c"), good_printer("p1s")}}});
  REQUIRE(out.printers.size() == 2);
  CHECK(out.printers[0].number == 1);
  CHECK(out.printers[1].name == "x1c");
  CHECK(out.problems == std::vector<std::string>{"printer 3: name: \"p1s\" is printer 1's already"});
}

TEST_CASE("add-on options: hosts, serials and sources go2rtc would split or rewrite are refused") {
  for (const char* host : {"a b", "h#killsignal=9", "${PRINTER_ACCESS_CODE}", "h'x", "-v", "h\tx", "[::1]"}) {
    INFO(host);
    json entry = good_printer("bad");
    entry["host"] = host;
    CHECK_THAT(problem_of(entry),
               Catch::StartsWith("printer \"bad\": host: \"") &&
                   Catch::EndsWith("is not an IP address or host name (letters, digits and . - : _ %)"));
  }
  for (const char* host : {"192.168.1.50", "fe80::1%eth0", "printer.local", "p1s_printer-2"}) {
    json entry = good_printer();
    entry["host"] = host;
    CHECK(read({{"printers", {entry}}}).printers.size() == 1);
  }
  json entry = good_printer("bad");
  entry["serial"] = "01P 00A";
  CHECK(problem_of(entry) ==
        "printer \"bad\": serial: \"01P 00A\" is not 1-32 letters and digits (the printer shows it in its settings)");
  entry = good_printer("bad");
  entry["source"] = "JPEG";
  CHECK(problem_of(entry) == "printer \"bad\": source: \"JPEG\" is not auto, jpeg or rtsps");
  entry["source"] = "mjpeg";
  CHECK(problem_of(entry) == "printer \"bad\": source: \"mjpeg\" is not auto, jpeg or rtsps");
}

TEST_CASE("add-on options: print_state and chamber_light are true or false, and true only with a serial") {
  json entry = good_printer();
  entry["print_state"] = true;
  entry["chamber_light"] = nullptr;
  AddonOptions out = read({{"printers", {entry}}});
  REQUIRE(out.printers.size() == 1);
  CHECK(out.printers[0].print_state);
  CHECK_FALSE(out.printers[0].chamber_light);
  entry["print_state"] = false;
  entry["chamber_light"] = true;
  out = read({{"printers", {entry}}});
  REQUIRE(out.printers.size() == 1);
  CHECK_FALSE(out.printers[0].print_state);
  CHECK(out.printers[0].chamber_light);

  const std::string needs_serial =
      ": needs serial: the printer reports and takes commands over MQTT under its serial (on its screen and in "
      "Bambu Studio)";
  for (const char* field : {"print_state", "chamber_light"}) {
    INFO(field);
    json bad = good_printer("bad");
    bad[field] = "true";
    CHECK(problem_of(bad) == std::string("printer \"bad\": ") + field + ": must be true or false, not string");
    bad[field] = 1;
    CHECK(problem_of(bad) == std::string("printer \"bad\": ") + field + ": must be true or false, not number");
    bad[field] = true;
    bad.erase("serial");
    CHECK(problem_of(bad) == std::string("printer \"bad\": ") + field + needs_serial);
    bad["serial"] = "";
    CHECK(problem_of(bad) == std::string("printer \"bad\": ") + field + needs_serial);
    bad[field] = false;  // off needs no serial
    CHECK(read({{"printers", {bad}}}).printers.size() == 1);
  }
  json both = good_printer("bad");
  both.erase("serial");
  both["print_state"] = true;
  both["chamber_light"] = true;
  CHECK(problem_of(both) == "printer \"bad\": chamber_light" + needs_serial);
}

TEST_CASE("add-on options: an access code the CLI refuses is named by counts, never quoted") {
  for (const char* code : {"1234567", "123456789", "1234 5678", "12345\x01" "78"}) {
    INFO(code);
    json entry = good_printer("bad");
    entry["access_code"] = code;
    const std::string line = problem_of(entry);
    CHECK_THAT(line, Catch::StartsWith("printer \"bad\": access_code: the access code must"));
    CHECK(line.find(code) == std::string::npos);
    CHECK(line.find("1234") == std::string::npos);
  }
}

TEST_CASE("add-on options: an entry that is not an object, and a bad webrtc_candidate") {
  CHECK(problem_of("p1s") == "printer 2: must be an entry with name, host and access_code, not string");
  const AddonOptions out = read({{"printers", {good_printer()}}, {"webrtc_candidate", "192.168.1.10 8555"}});
  CHECK(out.printers.size() == 1);
  CHECK_FALSE(out.webrtc_candidate);
  CHECK(out.webrtc_problem == "webrtc_candidate: \"192.168.1.10 8555\" is not HOST:PORT (e.g. 192.168.1.10:8555); "
                              "WebRTC is left to go2rtc's defaults");
  for (const char* bad : {"192.168.1.10", "h:0", "h:65536", "h:80x", ":8555", "${X}:8555"}) {
    INFO(bad);
    CHECK(read({{"printers", json::array()}, {"webrtc_candidate", bad}}).webrtc_problem);
  }
  for (const char* good : {"192.168.1.10:8555", "stun:8555", "[fe80::1]:8555", "home.example:1"}) {
    CHECK(read({{"printers", json::array()}, {"webrtc_candidate", good}}).webrtc_candidate == good);
  }
  CHECK(read({{"printers", json::array()}, {"webrtc_candidate", 8555}}).webrtc_problem ==
        "webrtc_candidate: must be text, not number; WebRTC is left to go2rtc's defaults");
}

TEST_CASE("add-on options: not JSON, not an object, no printers list: usage errors that quote nothing") {
  CHECK(fatal_of("{\"printers\": [{\"access_code\": 12345678x}]}") ==
        "options /data/options.json is not JSON (line 1, column 39)");  // the x after the digits
  CHECK(fatal_of("{\n  \"printers\": [\n    {\"access_code\": \"1234\xff" "5678\"}]}") ==
        "options /data/options.json is not JSON (line 3, column 26)");
  CHECK(fatal_of("") == "options /data/options.json is not JSON (line 1, column 1)");
  CHECK(fatal_of("[]") == "options /data/options.json must be a JSON object, not array");
  CHECK(fatal_of("{}") == "options /data/options.json: no printers list");
  CHECK(fatal_of("{\"printers\": {\"p1s\": {}}}") == "options /data/options.json: printers must be a list, not object");
  CHECK(fatal_of("{\"printers\": null}") == "options /data/options.json: printers must be a list, not null");
  // Deep nesting up to the size limit: refused, not a crash.
  const std::size_t depth = k_max_addon_options_bytes / 2;
  CHECK(fatal_of(std::string(depth, '[') + std::string(depth, ']')) ==
        "options /data/options.json must be a JSON object, not array");
}

TEST_CASE("add-on options: the exec: line gives every option, and splits back into the checked arguments") {
  AddonConfigOptions options;
  options.codes_dir = "/tmp/bambu/codes";
  options.heartbeat_dir = "/tmp/bambu/";
  AddonPrinter printer{1, "p1s", "192.168.1.50", "12345678", "01P00A000000001", "auto"};
  const std::string source = addon_exec_source(printer, options);
  CHECK(source ==
        "exec:/usr/local/bin/bambu-stream --host 192.168.1.50 --access-code-file /tmp/bambu/codes/p1s.code "
        "--serial 01P00A000000001 --source auto --format mpegts --heartbeat /tmp/bambu/p1s.json "
        "--snapshot /tmp/bambu/p1s.jpg#killsignal=15#killtimeout=5");
  CHECK(source.find("12345678") == std::string::npos);
  CHECK(exec_source_arguments(source) ==
        std::vector<std::string>{"/usr/local/bin/bambu-stream", "--host", "192.168.1.50", "--access-code-file",
                                 "/tmp/bambu/codes/p1s.code", "--serial", "01P00A000000001", "--source", "auto",
                                 "--format", "mpegts", "--heartbeat", "/tmp/bambu/p1s.json", "--snapshot",
                                 "/tmp/bambu/p1s.jpg"});
  printer.serial.clear();
  printer.source = "rtsps";
  options.binary = "/opt/bs";
  CHECK(addon_exec_source(printer, options) ==
        "exec:/opt/bs --host 192.168.1.50 --access-code-file /tmp/bambu/codes/p1s.code --source rtsps "
        "--format mpegts --heartbeat /tmp/bambu/p1s.json --snapshot /tmp/bambu/p1s.jpg#killsignal=15#killtimeout=5");
}

TEST_CASE("add-on options: print_state adds --mqtt, chamber_light the light that follows go2rtc's viewers") {
  AddonConfigOptions options;
  options.codes_dir = "/tmp/bambu/codes";
  options.heartbeat_dir = "/tmp/bambu";
  AddonPrinter printer{1, "p1s", "192.168.1.50", "12345678", "01P00A000000001", "auto", true, false};
  const std::string head =
      "exec:/usr/local/bin/bambu-stream --host 192.168.1.50 --access-code-file /tmp/bambu/codes/p1s.code "
      "--serial 01P00A000000001 --source auto --format mpegts --heartbeat /tmp/bambu/p1s.json "
      "--snapshot /tmp/bambu/p1s.jpg";
  CHECK(addon_exec_source(printer, options) == head + " --mqtt#killsignal=15#killtimeout=5");
  printer.print_state = false;
  printer.chamber_light = true;
  const std::string source = addon_exec_source(printer, options);
  CHECK(source == head +
                      " --chamber-light --go2rtc-stream http://127.0.0.1:1984/api/streams?src=p1s"
                      "#killsignal=15#killtimeout=5");
  const auto arguments = exec_source_arguments(source);
  REQUIRE(arguments.size() == 18);
  CHECK(std::vector<std::string>(arguments.end() - 3, arguments.end()) ==
        std::vector<std::string>{"--chamber-light", "--go2rtc-stream", "http://127.0.0.1:1984/api/streams?src=p1s"});
  printer.print_state = true;
  CHECK(addon_exec_source(printer, options) ==
        head +
            " --mqtt --chamber-light --go2rtc-stream http://127.0.0.1:1984/api/streams?src=p1s"
            "#killsignal=15#killtimeout=5");
}

TEST_CASE("add-on options: the CLI's messages name the add-on's fields") {
  CleanEnv env;
  // Real messages from the parser: an unreadable code file, then a bad source.
  const std::string unreadable = usage_error({"--host", "h", "--access-code-file", "/nonexistent/p1s.code", "--check"});
  REQUIRE_THAT(unreadable, Catch::StartsWith("--access-code-file /nonexistent/p1s.code"));
  CHECK(addon_field_of_cli_error(unreadable) ==
        std::pair<std::string, std::string>{"access_code", "access_code /nonexistent/p1s.code: cannot read it"});
  const std::string source = usage_error({"--host", "h", "--access-code", "12345678", "--source", "bogus"});
  REQUIRE_THAT(source, Catch::Contains("--source"));
  CHECK(addon_field_of_cli_error(source).first == "source");
  CHECK(addon_field_of_cli_error("no printer given: set --host or PRINTER_ADDRESS").first == "host");
  CHECK(addon_field_of_cli_error("--serial X: with --source jpeg") ==
        std::pair<std::string, std::string>{"serial", "serial X: with source jpeg"});
  const std::string light = usage_error({"--host", "h", "--access-code", "12345678", "--chamber-light"});
  REQUIRE_THAT(light, Catch::StartsWith("--chamber-light needs --serial"));
  CHECK_THAT(addon_field_of_cli_error(light).first, Catch::Equals("chamber_light"));
  CHECK_THAT(addon_field_of_cli_error(light).second, Catch::StartsWith("chamber_light needs serial"));
  CHECK(addon_field_of_cli_error(usage_error({"--host", "h", "--access-code", "12345678", "--mqtt"})).first ==
        "print_state");
  CHECK(addon_field_of_cli_error("--hostname x --format mjpeg") ==
        std::pair<std::string, std::string>{"", "--hostname x --format mjpeg"});
}

TEST_CASE("add-on options: go2rtc's configuration, with and without a WebRTC candidate") {
  const std::string text = go2rtc_config_json({{"p1s", "exec:/b --host a#killsignal=15"}, {"a1", "exec:/b --host c"}},
                                              "/b", "192.168.1.10:8555");
  CHECK(text.back() == '\n');
  const json config = json::parse(text);
  CHECK(config == json{{"streams", {{"p1s", "exec:/b --host a#killsignal=15"}, {"a1", "exec:/b --host c"}}},
                       {"preload", {{"p1s", "video"}, {"a1", "video"}}},
                       {"exec", {{"allow_paths", {"/b"}}}},
                       {"webrtc", {{"candidates", {"192.168.1.10:8555"}}}}});
  CHECK(text.find("\"p1s\"") < text.find("\"a1\""));  // the options' order
  const json empty = json::parse(go2rtc_config_json({}, "/b", std::nullopt));
  CHECK(empty == json{{"streams", json::object()}, {"preload", json::object()}, {"exec", {{"allow_paths", {"/b"}}}}});
}

TEST_CASE("addon-config: command line defaults, absolute folders, and --help listing every field") {
  CleanEnv env;
  const AddonConfigOptions defaults = addon_options({});
  CHECK(defaults.options_path == "/data/options.json");
  CHECK(defaults.go2rtc_config_path == "/tmp/bambu/go2rtc.yaml");
  CHECK(defaults.codes_dir == "/tmp/bambu/codes");
  CHECK(defaults.heartbeat_dir == "/tmp/bambu");
  CHECK(defaults.binary == "/usr/local/bin/bambu-stream");
  CHECK(defaults.log_level == LogLevel::info);
  const AddonConfigOptions given = addon_options({"--options", "o.json", "--go2rtc-config", "g.yaml", "--codes-dir",
                                                  "/run/c/../codes", "--heartbeat-dir", "/run/hb", "--binary",
                                                  "/opt/bambu-stream", "-q"});
  CHECK(given.options_path == "o.json");
  CHECK(given.go2rtc_config_path == "g.yaml");
  CHECK(given.codes_dir == "/run/codes");
  CHECK(given.heartbeat_dir == "/run/hb");
  CHECK(given.binary == "/opt/bambu-stream");
  CHECK(given.log_level == LogLevel::error);
  CHECK(addon_options({"--codes-dir", "codes"}).codes_dir.front() == '/');

  const auto help = std::get<std::string>(parse({"addon-config", "--help"}).command);
  for (const auto& field : k_addon_printer_fields) {
    CHECK_THAT(help, Catch::Contains(std::string(field.name)) && Catch::Contains(std::string(field.schema)));
  }
  CHECK_THAT(help, Catch::Contains("webrtc_candidate") && Catch::Contains("Exit codes:"));
}

TEST_CASE("addon-config: paths that go2rtc would split or rewrite are usage errors") {
  CleanEnv env;
  CHECK(usage_error({"addon-config", "--binary", "bambu-stream"}) ==
        "--binary bambu-stream: go2rtc's exec.allow_paths needs an absolute path");
  CHECK(usage_error({"addon-config", "--codes-dir", "/tmp/my codes"}) ==
        "--codes-dir /tmp/my codes: it goes into go2rtc's exec: lines, so only letters, digits and / . _ + - are "
        "allowed");
  CHECK_THAT(usage_error({"addon-config", "--heartbeat-dir", "/tmp/a#b"}),
             Catch::StartsWith("--heartbeat-dir /tmp/a#b:"));
  CHECK_THAT(usage_error({"addon-config", "--binary", "/opt/${X}"}), Catch::StartsWith("--binary /opt/${X}:"));
  CHECK(usage_error({"addon-config", "--options", ""}) ==
        "--options: give the add-on's options file, e.g. /data/options.json");
  CHECK_THAT(usage_error({"addon-config", "-v", "-q"}), Catch::Contains("contradict"));
}
