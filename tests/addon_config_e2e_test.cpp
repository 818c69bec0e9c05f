// End-to-end: the built binary's `addon-config`, as the add-on's entrypoint
// runs it, on options files in /tmp: the go2rtc configuration parsed back,
// each exec: line run with --check as a child process, the access code
// files (content, mode 0600), one stderr line per printer left out, and
// exit 2 with nothing written for options that cannot be read.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "support/child_process.h"
#include "support/cli_env.h"
#include "support/temp_dir.h"
#include "support/text_file.h"

using namespace std::chrono_literals;
using bambu::test::ChildOptions;
using bambu::test::ChildProcess;
using bambu::test::k_cli_env_vars;
using bambu::test::read_text;
using bambu::test::TempDir;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

constexpr const char* k_binary = BAMBU_STREAM_BINARY;
constexpr auto k_wait = 20s;
constexpr const char* k_p1s_code = "31415926";
constexpr const char* k_x1c_code = "27182818";
// What the add-on's exec: lines run; --check runs k_binary in its place.
constexpr const char* k_image_binary = "/usr/local/bin/bambu-stream";

// A folder with the options file, and the paths addon-config is given,
// none of which exists before it runs.
struct AddonRun {
  TempDir dir{"addon"};
  fs::path options = dir.path / "options.json";
  fs::path out = dir.path / "out";
  fs::path config = out / "go2rtc.yaml";
  fs::path codes = out / "codes";

  // Writes `text` as the options file.
  void write_options(const std::string& text) const { std::ofstream(options, std::ios::binary) << text; }

  // Runs addon-config on the options file; returns its exit code and stderr.
  std::pair<int, std::string> run() const {
    ChildProcess child(ChildOptions{{k_binary, "addon-config", "--options", options.string(), "--go2rtc-config",
                                     config.string(), "--codes-dir", codes.string(), "--heartbeat-dir", out.string()},
                                    {},
                                    k_cli_env_vars,
                                    true});
    const auto code = child.wait_for_exit(k_wait);
    REQUIRE(code);
    CHECK(child.stdout_size() == 0);  // stdout is for video only
    return {*code, child.stderr_text()};
  }

  // The exec: line addon-config writes for a printer: `middle` holds its
  // --serial and --source, `tail` its MQTT options.
  std::string exec_line(const std::string& name, const std::string& host, const std::string& middle,
                        const std::string& tail = "") const {
    return "exec:" + std::string(k_image_binary) + " --host " + host + " --access-code-file " +
           (codes / (name + ".code")).string() + middle + " --format mpegts --heartbeat " +
           (out / (name + ".json")).string() + " --snapshot " + (out / (name + ".jpg")).string() + tail +
           "#killsignal=15#killtimeout=5";
  }
};

json printer(const std::string& name, const std::string& host, const std::string& code) {
  return {{"name", name}, {"host", host}, {"access_code", code}};
}

// The two printers every test starts from: a P1S by serial, an X1C by source.
json two_printers() {
  json p1s = printer("p1s", "192.0.2.10", k_p1s_code);
  p1s["serial"] = "01P00A000000001";
  json x1c = printer("x1c", "192.0.2.12", k_x1c_code);
  x1c["source"] = "rtsps";
  return json::array({p1s, x1c});
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// Runs one exec: line's arguments with --check, as `bambu-stream ARGS
// --check` in a shell would; returns the exit code.
int check_exec_line(const std::string& source) {
  INFO(source);
  REQUIRE_THAT(source, Catch::StartsWith("exec:") && Catch::EndsWith("#killsignal=15#killtimeout=5"));
  std::vector<std::string> argv;
  std::istringstream words(source.substr(5, source.find('#') - 5));
  for (std::string word; words >> word;) argv.push_back(word);
  REQUIRE(argv.at(0) == k_image_binary);
  argv[0] = k_binary;
  argv.push_back("--check");
  ChildProcess check(ChildOptions{argv, {}, k_cli_env_vars, true});
  const auto code = check.wait_for_exit(k_wait);
  REQUIRE(code);
  INFO("stderr: " << check.stderr_text());
  CHECK_THAT(check.stderr_text(), Catch::StartsWith("check: ok: "));
  return *code;
}

mode_t mode_of(const fs::path& p) {
  struct stat st {};
  REQUIRE(::stat(p.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

}  // namespace

TEST_CASE("addon-config: two printers: the configuration, exact exec: lines that pass --check, code files 0600") {
  AddonRun run;
  run.write_options(json{{"printers", two_printers()}, {"webrtc_candidate", "192.0.2.1:8555"}}.dump());
  const auto [code, log] = run.run();
  CHECK(code == 0);
  CHECK(lines_of(log) == std::vector<std::string>{"addon-config: 2 printers: p1s, x1c"});

  const json config = json::parse(read_text(run.config));
  const std::string p1s_line = run.exec_line("p1s", "192.0.2.10", " --serial 01P00A000000001 --source auto");
  const std::string x1c_line = run.exec_line("x1c", "192.0.2.12", " --source rtsps");
  CHECK(config == json{{"streams", {{"p1s", p1s_line}, {"x1c", x1c_line}}},
                       {"preload", {{"p1s", "video"}, {"x1c", "video"}}},
                       {"exec", {{"allow_paths", {k_image_binary}}}},
                       {"webrtc", {{"candidates", {"192.0.2.1:8555"}}}}});
  CHECK(check_exec_line(p1s_line) == 0);
  CHECK(check_exec_line(x1c_line) == 0);

  CHECK(read_text(run.codes / "p1s.code") == std::string(k_p1s_code) + "\n");
  CHECK(read_text(run.codes / "x1c.code") == std::string(k_x1c_code) + "\n");
  CHECK(mode_of(run.codes / "p1s.code") == 0600);
  CHECK(mode_of(run.codes / "x1c.code") == 0600);
  CHECK(mode_of(run.codes) == 0700);
  // The codes are in their files only: not in the configuration, not in the log.
  for (const char* secret : {k_p1s_code, k_x1c_code}) {
    CHECK(read_text(run.config).find(secret) == std::string::npos);
    CHECK(log.find(secret) == std::string::npos);
  }
  // Nothing else is left in the folders (no temporary files).
  std::vector<std::string> files;
  for (const auto& entry : fs::recursive_directory_iterator(run.out)) files.push_back(entry.path().filename());
  std::sort(files.begin(), files.end());
  CHECK(files == std::vector<std::string>{"codes", "go2rtc.yaml", "p1s.code", "x1c.code"});
}

TEST_CASE("addon-config: each malformed printer among good ones: one line naming printer and field, the rest written") {
  struct Case {
    json entry;
    std::string line;
  };
  json no_code = printer("bad", "192.0.2.20", "");
  no_code.erase("access_code");
  json bad_source = printer("bad", "192.0.2.20", "11223344");
  bad_source["source"] = "mjpeg";
  json number_host = printer("bad", "192.0.2.20", "11223344");
  number_host["host"] = 3232235540;
  json light_no_serial = printer("bad", "192.0.2.20", "11223344");
  light_no_serial["chamber_light"] = true;
  const std::vector<Case> cases = {
      {no_code, "addon-config: printer \"bad\": access_code: missing"},
      {printer("bad", "", "11223344"), "addon-config: printer \"bad\": host: missing"},
      {number_host, "addon-config: printer \"bad\": host: must be text, not number"},
      {printer("X 1", "192.0.2.20", "11223344"), "addon-config: printer 3: name: \"X 1\" is not 1-32 of a-z, 0-9, _"},
      {printer("../x", "192.0.2.20", "11223344"), "addon-config: printer 3: name: \"../x\" is not 1-32 of a-z, 0-9, _"},
      {printer("a\"b", "192.0.2.20", "11223344"),
       "addon-config: printer 3: name: \"a\\\"b\" is not 1-32 of a-z, 0-9, _"},
      {printer("a\nb", "192.0.2.20", "11223344"),
       "addon-config: printer 3: name: \"a\\nb\" is not 1-32 of a-z, 0-9, _"},
      {printer("x1c", "192.0.2.20", "11223344"), "addon-config: printer 3: name: \"x1c\" is printer 2's already"},
      {printer("bad", "192.0.2.20", "1122334"),
       "addon-config: printer \"bad\": access_code: the access code must be 8 characters, but the one given by the "
       "add-on's options has 7: copy it again from the printer's screen (network or LAN settings)"},
      {bad_source, "addon-config: printer \"bad\": source: \"mjpeg\" is not auto, jpeg or rtsps"},
      {light_no_serial,
       "addon-config: printer \"bad\": chamber_light: needs serial: the printer reports and takes commands over MQTT "
       "under its serial (on its screen and in Bambu Studio)"},
      {printer("bad", "192.0.2.20 --demo", "11223344"),
       "addon-config: printer \"bad\": host: \"192.0.2.20 --demo\" is not an IP address or host name (letters, digits "
       "and . - : _ %)"},
  };
  for (const auto& c : cases) {
    INFO(c.line);
    AddonRun run;
    json printers = two_printers();
    printers.push_back(c.entry);
    run.write_options(json{{"printers", printers}}.dump());
    const auto [code, log] = run.run();
    CHECK(code == 0);
    CHECK(lines_of(log) == std::vector<std::string>{c.line, "addon-config: 2 printers: p1s, x1c; 1 left out (above)"});
    const json config = json::parse(read_text(run.config));
    CHECK(config["streams"].size() == 2);
    CHECK(config["preload"] == json{{"p1s", "video"}, {"x1c", "video"}});
    CHECK(fs::exists(run.codes / "p1s.code"));
    CHECK_FALSE(fs::exists(run.codes / "bad.code"));
    for (const char* secret : {k_p1s_code, k_x1c_code, "11223344", "1122334"}) {
      CHECK(log.find(secret) == std::string::npos);
      CHECK(read_text(run.config).find(secret) == std::string::npos);
    }
  }
}

TEST_CASE("addon-config: print_state and chamber_light: exact exec: lines with their options, which pass --check") {
  AddonRun run;
  json printers = two_printers();
  printers[0]["print_state"] = true;
  printers[0]["chamber_light"] = true;
  printers[1]["serial"] = "00M09A000000002";
  printers[1]["print_state"] = true;
  printers[1]["chamber_light"] = false;
  run.write_options(json{{"printers", printers}}.dump());
  const auto [code, log] = run.run();
  CHECK(code == 0);
  CHECK(lines_of(log) == std::vector<std::string>{"addon-config: 2 printers: p1s, x1c"});
  const json config = json::parse(read_text(run.config));
  const std::string p1s_line =
      run.exec_line("p1s", "192.0.2.10", " --serial 01P00A000000001 --source auto",
                    " --mqtt --chamber-light --go2rtc-stream http://127.0.0.1:1984/api/streams?src=p1s");
  const std::string x1c_line =
      run.exec_line("x1c", "192.0.2.12", " --serial 00M09A000000002 --source rtsps", " --mqtt");
  CHECK(config["streams"] == json{{"p1s", p1s_line}, {"x1c", x1c_line}});
  CHECK(config["preload"] == json{{"p1s", "video"}, {"x1c", "video"}});
  CHECK(check_exec_line(p1s_line) == 0);
  CHECK(check_exec_line(x1c_line) == 0);
}

TEST_CASE("addon-config: options that cannot be used: exit 2, one line, nothing written") {
  struct Case {
    std::string text;
    std::string first_line;
  };
  const std::vector<Case> cases = {
      {std::string(1 << 20, ' ') + "{}", "is larger than 1048576 bytes"},
      {"{\"printers\": [{\"name\": \"p1s\", \"access_code\": 31415926x}]}", "is not JSON (line 1, column "},
      {"printers:\n  - name: p1s\n", "is not JSON (line 1, column 1)"},
      {"{\"printers\": \"p1s\"}", ": printers must be a list, not string"},
      {"{\"webrtc_candidate\": \"192.0.2.1:8555\"}", ": no printers list"},
      {"[1, 2]", "must be a JSON object, not array"},
  };
  for (const auto& c : cases) {
    INFO(c.first_line);
    AddonRun run;
    run.write_options(c.text);
    const auto [code, log] = run.run();
    CHECK(code == 2);
    const auto lines = lines_of(log);
    REQUIRE(lines.size() == 1);
    CHECK_THAT(lines[0], Catch::StartsWith("error: addon-config: ") && Catch::Contains(c.first_line));
    CHECK(log.find("31415926") == std::string::npos);
    CHECK_FALSE(fs::exists(run.out));
  }
  AddonRun missing;
  const auto [code, log] = missing.run();
  CHECK(code == 2);
  CHECK_THAT(log, Catch::StartsWith("error: addon-config: cannot read options " + missing.options.string()));
  CHECK_FALSE(fs::exists(missing.out));
}

TEST_CASE("addon-config: no printers: go2rtc still gets a configuration, and the log says where to add them") {
  AddonRun run;
  run.write_options("{\"printers\": []}");
  auto [code, log] = run.run();
  CHECK(code == 0);
  CHECK(log == "addon-config: no printers yet: add them (name, host, access_code) on the add-on's Configuration "
               "tab, then restart the add-on\n");
  CHECK(json::parse(read_text(run.config)) == json{{"streams", json::object()},
                                                    {"preload", json::object()},
                                                    {"exec", {{"allow_paths", {k_image_binary}}}}});
  // Every printer left out: the same, with the count.
  run.write_options(json{{"printers", {printer("X", "h", "12345678")}}}.dump());
  std::tie(code, log) = run.run();
  CHECK(code == 0);
  CHECK_THAT(log, Catch::EndsWith("addon-config: no printers to stream: 1 left out (above); fix them on the add-on's "
                                  "Configuration tab, then restart the add-on\n"));
}
