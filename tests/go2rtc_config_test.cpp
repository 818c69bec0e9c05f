// The go2rtc configurations we ship (go2rtc.yaml.example, the image's
// docker/go2rtc.yaml, and the recipes in the code blocks of README.md and
// docs/*.md): every exec: line, with its ${VAR}s filled in as go2rtc fills
// them, must pass `bambu-stream --check`, end in go2rtc's kill options,
// keep the access code out of the file, and run a binary that its own
// block's `exec: allow_paths` lists exactly. Every Frigate camera in the
// documentation has both a detect and a record role.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <vector>

#include "support/child_process.h"
#include "support/cli_env.h"
#include "support/temp_dir.h"
#include "support/documentation.h"
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

// Every exec: source in the text of a go2rtc configuration, with its line
// number in that text (from 1).
std::vector<ExecLine> exec_lines_in(const std::string& text) {
  std::vector<ExecLine> out;
  std::istringstream in(text);
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

// Every exec: source in a go2rtc config file.
std::vector<ExecLine> exec_lines(const fs::path& p) { return exec_lines_in(read_text(p)); }

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

// What one exec: line is checked against.
struct LineCheck {
  std::vector<std::string> binaries;        // the paths its first word may be
  std::map<std::string, std::string> env;   // the environment bambu-stream inherits from go2rtc
};

// The image's configurations: the image's path, and .env.example's variables.
LineCheck image_check() { return {{"/usr/local/bin/bambu-stream", "bambu-stream"}, container_env()}; }

// The words of `command` as bambu-stream would get them on this machine:
// each --access-code-file becomes a file in `dir` that holds an access code,
// and any other path under /config/ (a user's files) a path in `dir`.
std::vector<std::string> local_arguments(std::vector<std::string> words, const fs::path& dir) {
  for (std::size_t i = 1; i < words.size(); ++i) {
    if (words[i - 1] == "--access-code-file") {
      fs::path local = dir / fs::path(words[i]).filename();
      std::ofstream(local) << "12345678\n";
      words[i] = local.string();
    } else if (words[i].rfind("/config/", 0) == 0) {
      words[i] = (dir / words[i].substr(8)).string();
    }
  }
  return words;
}

// Checks one exec line's form, then runs it with --check; returns the exit
// code. `where` names the file and line for the test's messages.
int check_exec_line(const std::string& where, const ExecLine& exec, const LineCheck& check) {
  INFO(where << ": " << exec.value);
  CHECK_THAT(exec.value, Catch::EndsWith(k_kill_options));
  std::string command = exec.value.substr(5, exec.value.find('#') - 5);  // go2rtc: after "exec:", before '#'
  CHECK(command.find_first_of("\"'") == std::string::npos);  // go2rtc would split quotes differently
  auto raw_words = split_spaces(command);
  for (std::size_t i = 0; i + 1 < raw_words.size(); ++i) {
    if (raw_words[i] == "--access-code") CHECK_THAT(raw_words[i + 1], Catch::StartsWith("${"));
  }

  auto vars = container_env();
  vars.insert(k_extra_vars.begin(), k_extra_vars.end());
  TempDir config("go2rtc-config");
  auto argv = local_arguments(split_spaces(fill_vars(command, vars)), config.path);
  REQUIRE(!argv.empty());
  CHECK(std::find(check.binaries.begin(), check.binaries.end(), argv[0]) != check.binaries.end());
  argv[0] = k_binary;
  argv.push_back("--check");
  ChildOptions options{argv, {}, k_cli_env_vars, true};
  for (const auto& [key, value] : check.env) options.env_set.emplace_back(key, value);
  ChildProcess c(options);
  auto code = c.wait_for_exit(20s);
  REQUIRE(code);
  INFO("stderr: " << c.stderr_text());
  CHECK(*code == 0);
  return *code;
}

int check_exec_line(const fs::path& file, const ExecLine& exec, const LineCheck& check) {
  return check_exec_line(file.filename().string() + ":" + std::to_string(exec.line_number), exec, check);
}

bool is_rtsps(const ExecLine& exec) { return exec.value.find("--source rtsps") != std::string::npos; }

const fs::path k_example = k_source_dir / "go2rtc.yaml.example";
const fs::path k_image_config = k_source_dir / "docker" / "go2rtc.yaml";
const fs::path k_readme = k_source_dir / "README.md";

// One fenced code block of a Markdown file: its text, and the file's line
// number of its first line.
struct CodeBlock {
  std::string where;  // "README.md:42"
  int first_line;
  std::string text;
};

// Every ``` fenced code block of a Markdown file, in order.
std::vector<CodeBlock> code_blocks(const fs::path& markdown) {
  std::vector<CodeBlock> blocks;
  std::istringstream in(read_text(markdown));
  bool inside = false;
  int number = 0;
  for (std::string line; std::getline(in, line);) {
    ++number;
    if (line.rfind("```", 0) == 0) {
      inside = !inside;
      if (inside) blocks.push_back({markdown.filename().string() + ":" + std::to_string(number + 1), number + 1, ""});
      continue;
    }
    if (inside) blocks.back().text += line + "\n";
  }
  return blocks;
}

std::string trim(const std::string& text) {
  auto first = text.find_first_not_of(" \t");
  if (first == std::string::npos) return "";
  return text.substr(first, text.find_last_not_of(" \t") - first + 1);
}

// The items of a YAML key's list in `block`, inline (`key: [ a, b ]`) or as
// the `- item` lines below it; empty when the key is not there.
std::vector<std::string> yaml_list(const std::string& block, const std::string& key) {
  std::vector<std::string> items;
  std::istringstream in(block);
  bool in_list = false;
  for (std::string line; std::getline(in, line);) {
    std::string code = trim(strip_comment(line));
    if (in_list && code.rfind("- ", 0) == 0) {
      items.push_back(trim(code.substr(2)));
      continue;
    }
    in_list = false;
    if (code.rfind(key + ":", 0) != 0) continue;
    std::string rest = trim(code.substr(key.size() + 1));
    if (rest.empty()) {
      in_list = true;
    } else if (rest.front() == '[' && rest.back() == ']') {
      std::istringstream list(rest.substr(1, rest.size() - 2));
      for (std::string item; std::getline(list, item, ',');) {
        if (!trim(item).empty()) items.push_back(trim(item));
      }
    }
  }
  return items;
}

// The binary an exec: line runs: its first word.
std::string exec_binary(const ExecLine& exec) {
  auto words = split_spaces(exec.value.substr(5, exec.value.find('#') - 5));
  return words.empty() ? "" : words[0];
}

// Checks every exec: line of a documentation file's code blocks: --check
// passes with no variable in the environment (a user's go2rtc has none of
// ours), and each block lists exactly its own lines' binaries in
// `exec: allow_paths`. Returns the binaries seen.
std::set<std::string> check_documented_exec_lines(const fs::path& file) {
  std::set<std::string> binaries;
  for (const auto& block : code_blocks(file)) {
    auto lines = exec_lines_in(block.text);
    if (lines.empty()) continue;
    auto allowed = yaml_list(block.text, "allow_paths");
    INFO(block.where << ": allow_paths [" << Catch::Detail::stringify(allowed) << "]");
    std::set<std::string> used;
    for (const auto& exec : lines) {
      used.insert(exec_binary(exec));
      std::string where = file.filename().string() + ":" + std::to_string(block.first_line + exec.line_number - 1);
      check_exec_line(where, exec, {allowed, {}});
    }
    CHECK(std::set<std::string>(allowed.begin(), allowed.end()) == used);
    binaries.insert(used.begin(), used.end());
  }
  return binaries;
}

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
    check_exec_line(k_example, exec, image_check());
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
    if (is_rtsps(exec)) CHECK(check_exec_line(k_example, exec, image_check()) == 0);
  }
}

TEST_CASE("docker/go2rtc.yaml: the image's own exec line passes --check with .env.example, and is preloaded") {
  auto lines = exec_lines(k_image_config);
  REQUIRE(lines.size() == 1);
  check_exec_line(k_image_config, lines[0], image_check());
  CHECK_THAT(lines[0].value, Catch::StartsWith("exec:/usr/local/bin/bambu-stream ") &&
                                 Catch::Contains("--format mpegts --snapshot /tmp/bambu/printer.jpg"));
  const std::string text = read_text(k_image_config);
  CHECK(std::regex_search(text, std::regex(R"(\npreload:\n  printer: video\n)")));
  CHECK_FALSE(std::regex_search(text, std::regex(R"(\n\s+\w+: ffmpeg:)")));  // one stream, no ffmpeg
}

TEST_CASE(".env.example: the nine variables, each with a comment") {
  auto vars = read_env_file(k_source_dir / ".env.example");
  std::vector<std::string> names;
  for (const auto& [key, value] : vars) names.push_back(key);
  CHECK(names == std::vector<std::string>{"BAMBU_CHAMBER_LIGHT", "BAMBU_GO2RTC_URL", "BAMBU_MQTT", "HTTP_PORT",
                                          "PRINTER_ACCESS_CODE", "PRINTER_ADDRESS", "PRINTER_SERIAL", "PRINTER_SOURCE",
                                          "WEBRTC_CANDIDATE"});
  std::istringstream in(read_text(k_source_dir / ".env.example"));
  std::string previous;
  for (std::string line; std::getline(in, line); previous = line) {
    if (!line.empty() && line[0] != '#') {
      INFO(line);
      CHECK_THAT(previous, Catch::StartsWith("#"));
    }
  }
}

TEST_CASE("README.md: every recipe's exec: line passes --check, and its block's allow_paths lists exactly its binary") {
  auto binaries = check_documented_exec_lines(k_readme);
  // The go2rtc add-on and Frigate (the static file in /config), the .deb.
  CHECK(binaries == std::set<std::string>{"/config/bambu-stream", "/usr/bin/bambu-stream"});
}

TEST_CASE("docs/*.md: every exec: line in a code block passes --check, and its block's allow_paths lists it") {
  for (const auto& file : bambu::test::documentation_files(k_source_dir)) {
    if (file != k_readme) check_documented_exec_lines(file);
  }
}

TEST_CASE("README.md and docs/*.md: every Frigate camera has a detect and a record role, detect at 1280x720") {
  std::size_t readme_cameras = 0;
  for (const auto& file : bambu::test::documentation_files(k_source_dir)) {
    for (const auto& block : code_blocks(file)) {
      if (!std::regex_search(block.text, std::regex(R"((^|\n)cameras:\n)"))) continue;
      if (file == k_readme) ++readme_cameras;
      INFO(block.where);
      auto roles = yaml_list(block.text, "roles");
      std::set<std::string> role_set(roles.begin(), roles.end());
      CHECK(role_set.count("detect") == 1);
      CHECK(role_set.count("record") == 1);
      CHECK_THAT(block.text, Catch::Contains("      width: 1280\n") && Catch::Contains("      height: 720\n"));
    }
  }
  CHECK(readme_cameras == 1);
}
