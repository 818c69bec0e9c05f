// The go2rtc configurations we ship (go2rtc.yaml.example and the image's
// docker/go2rtc.yaml): every exec: line, with its ${VAR}s filled in as go2rtc
// fills them, must pass `bambu-stream --check`, end in go2rtc's kill options,
// and keep the access code out of the file.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>

#include "support/child_process.h"
#include "support/cli_env.h"
#include "support/temp_dir.h"
#include "support/text_file.h"

using namespace std::chrono_literals;
using bambu::test::ChildOptions;
using bambu::test::ChildProcess;
using bambu::test::k_cli_env_vars;
using bambu::test::TempDir;
using bambu::test::read_text;
namespace fs = std::filesystem;

namespace {

constexpr const char* k_binary = BAMBU_STREAM_BINARY;
const fs::path k_source_dir = BAMBU_SOURCE_DIR;
constexpr const char* k_kill_options = "#killsignal=15#killtimeout=5";

// Values for the variables the example uses beyond .env.example's: a second
// P1/A1-class printer and an X1. Documentation addresses (RFC 5737);
// --check never contacts them.
const std::map<std::string, std::string> k_extra_vars = {
    {"P1S_ADDRESS", "192.0.2.10"},     {"A1_ADDRESS", "192.0.2.11"},      {"A1_ACCESS_CODE", "87654321"}, {"A1_SERIAL", "03000A000000001"},
    {"X1_ADDRESS", "192.0.2.12"},      {"X1_ACCESS_CODE", "11223344"}, {"X1_SERIAL", "00M00A000000001"},
};

// KEY=value lines of an env file (comments and blank lines skipped).
std::map<std::string, std::string> read_env_file(const fs::path& p) {
  std::map<std::string, std::string> vars;
  std::istringstream in(read_text(p));
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    auto eq = line.find('=');
    REQUIRE(eq != std::string::npos);
    vars[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return vars;
}

// A YAML line without its comment: '#' starts one at the line's start or
// after a space (so go2rtc's "cmd#param" stays, and "cmd #param" would not).
std::string strip_comment(const std::string& line) {
  for (std::size_t i = 0; i < line.size(); ++i) {
    if (line[i] == '#' && (i == 0 || line[i - 1] == ' ' || line[i - 1] == '\t')) return line.substr(0, i);
  }
  return line;
}

struct ExecLine {
  int line_number;
  std::string value;  // "exec:...#killsignal=15#killtimeout=5"
};

// Every exec: source in a go2rtc config file.
std::vector<ExecLine> exec_lines(const fs::path& p) {
  std::vector<ExecLine> out;
  std::istringstream in(read_text(p));
  int number = 0;
  for (std::string line; std::getline(in, line);) {
    ++number;
    std::string code = strip_comment(line);
    auto pos = code.find("exec:");
    if (pos == std::string::npos) continue;
    // A source is a value ("name: exec:..." or "- exec:..."), not a key such as log's "exec: debug".
    auto before = code.find_last_not_of(" \t\"'", pos == 0 ? 0 : pos - 1);
    if (pos == 0 || before == std::string::npos || (code[before] != ':' && code[before] != '-')) continue;
    std::string value = code.substr(pos);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\r')) value.pop_back();
    if (pos > 0 && (code[pos - 1] == '"' || code[pos - 1] == '\'')) {
      REQUIRE(value.back() == code[pos - 1]);
      value.pop_back();
    }
    out.push_back({number, value});
  }
  return out;
}

// go2rtc's ${VAR} and ${VAR:default} (pkg/shell/env.go), from `vars`; a
// variable with no value and no default fails the test.
std::string fill_vars(const std::string& text, const std::map<std::string, std::string>& vars) {
  static const std::regex var_re(R"(\$\{([^}{]+)\})");
  std::string out;
  auto begin = std::sregex_iterator(text.begin(), text.end(), var_re);
  std::size_t last = 0;
  for (auto it = begin; it != std::sregex_iterator(); ++it) {
    out += text.substr(last, static_cast<std::size_t>(it->position()) - last);
    std::string key = (*it)[1], def;
    bool has_default = false;
    if (auto colon = key.find(':'); colon != std::string::npos && colon > 0) {
      def = key.substr(colon + 1);
      key = key.substr(0, colon);
      has_default = true;
    }
    auto found = vars.find(key);
    INFO("variable " << key);
    REQUIRE((found != vars.end() || has_default));
    out += found != vars.end() ? found->second : def;
    last = static_cast<std::size_t>(it->position() + it->length());
  }
  return out + text.substr(last);
}

std::vector<std::string> split_spaces(const std::string& text) {
  std::vector<std::string> words;
  std::istringstream in(text);
  for (std::string w; in >> w;) words.push_back(w);
  return words;
}

// The variables a container started by docker-compose.yml has: .env.example's.
std::map<std::string, std::string> container_env() { return read_env_file(k_source_dir / ".env.example"); }

// Checks one exec line's form, then runs it with --check in the container's
// environment; returns the exit code.
int check_exec_line(const fs::path& file, const ExecLine& exec) {
  INFO(file.filename().string() << ":" << exec.line_number << ": " << exec.value);
  CHECK_THAT(exec.value, Catch::EndsWith(k_kill_options));
  std::string command = exec.value.substr(5, exec.value.find('#') - 5);  // go2rtc: after "exec:", before '#'
  CHECK(command.find_first_of("\"'") == std::string::npos);  // go2rtc would split quotes differently
  auto raw_words = split_spaces(command);
  for (std::size_t i = 0; i + 1 < raw_words.size(); ++i) {
    if (raw_words[i] == "--access-code") CHECK_THAT(raw_words[i + 1], Catch::StartsWith("${"));
  }

  auto env = container_env();
  auto vars = env;
  vars.insert(k_extra_vars.begin(), k_extra_vars.end());
  // --access-code-file /config/NAME.code: the files a user puts in /config.
  TempDir config("go2rtc-config");
  for (const char* name : {"p1s", "a1", "x1c"}) {
    std::ofstream(config.path / (std::string(name) + ".code")) << "12345678\n";
  }
  for (auto pos = command.find("/config/"); pos != std::string::npos; pos = command.find("/config/", pos + 1)) {
    command.replace(pos, 7, config.path.string());
  }
  auto argv = split_spaces(fill_vars(command, vars));
  REQUIRE(!argv.empty());
  CHECK((argv[0] == "/usr/local/bin/bambu-stream" || argv[0] == "bambu-stream"));
  argv[0] = k_binary;
  argv.push_back("--check");
  ChildOptions options{argv, {}, k_cli_env_vars, true};
  for (const auto& [key, value] : env) options.env_set.emplace_back(key, value);
  ChildProcess c(options);
  auto code = c.wait_for_exit(20s);
  REQUIRE(code);
  INFO("stderr: " << c.stderr_text());
  CHECK(*code == 0);
  return *code;
}

bool is_rtsps(const ExecLine& exec) { return exec.value.find("--source rtsps") != std::string::npos; }

const fs::path k_example = k_source_dir / "go2rtc.yaml.example";
const fs::path k_image_config = k_source_dir / "docker" / "go2rtc.yaml";

}  // namespace

TEST_CASE("go2rtc.yaml.example: three printers, one H.264 line each, preloaded, and each P1/A1 line passes --check") {
  auto lines = exec_lines(k_example);
  REQUIRE(lines.size() >= 3);
  std::size_t rtsps = 0;
  for (const auto& exec : lines) {
    if (is_rtsps(exec)) {
      ++rtsps;
      continue;  // the next test case
    }
    check_exec_line(k_example, exec);
  }
  CHECK(rtsps >= 1);
  std::string text = read_text(k_example);
  CHECK_FALSE(std::regex_search(text, std::regex(R"(\n\s+\w+: ffmpeg:)")));  // no re-encode
  CHECK(std::regex_search(text, std::regex(R"(\npreload:\n)")));
  CHECK(std::regex_search(text, std::regex(R"(#\s*exec: debug)")));
  CHECK(std::regex_search(text, std::regex(R"(\nexec:\n\s+allow_paths: \[ /usr/local/bin/bambu-stream \]\n)")));
  for (const auto& exec : lines) {
    INFO(exec.value);
    CHECK_THAT(exec.value, Catch::Contains("--format mpegts") && Catch::Contains("--access-code-file /config/") &&
                               Catch::Contains("--heartbeat /tmp/bambu/") && Catch::Contains("--snapshot /tmp/bambu/"));
  }
}

TEST_CASE("go2rtc.yaml.example: the X1/H2 (RTSPS) exec line passes --check") {
  for (const auto& exec : exec_lines(k_example)) {
    if (is_rtsps(exec)) CHECK(check_exec_line(k_example, exec) == 0);
  }
}

TEST_CASE("docker/go2rtc.yaml: the image's own exec line passes --check with .env.example, and is preloaded") {
  auto lines = exec_lines(k_image_config);
  REQUIRE(lines.size() == 1);
  check_exec_line(k_image_config, lines[0]);
  CHECK_THAT(lines[0].value, Catch::StartsWith("exec:/usr/local/bin/bambu-stream ") &&
                                 Catch::Contains("--format mpegts --snapshot /tmp/bambu/printer.jpg"));
  const std::string text = read_text(k_image_config);
  CHECK(std::regex_search(text, std::regex(R"(\npreload:\n  printer: video\n)")));
  CHECK_FALSE(std::regex_search(text, std::regex(R"(\n\s+\w+: ffmpeg:)")));  // one stream, no ffmpeg
}

TEST_CASE(".env.example: the six variables, each with a comment") {
  auto vars = read_env_file(k_source_dir / ".env.example");
  std::vector<std::string> names;
  for (const auto& [key, value] : vars) names.push_back(key);
  CHECK(names == std::vector<std::string>{"HTTP_PORT", "PRINTER_ACCESS_CODE", "PRINTER_ADDRESS", "PRINTER_SERIAL",
                                          "PRINTER_SOURCE", "WEBRTC_CANDIDATE"});
  std::istringstream in(read_text(k_source_dir / ".env.example"));
  std::string previous;
  for (std::string line; std::getline(in, line); previous = line) {
    if (!line.empty() && line[0] != '#') {
      INFO(line);
      CHECK_THAT(previous, Catch::StartsWith("#"));
    }
  }
}
