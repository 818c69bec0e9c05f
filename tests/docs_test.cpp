// The documentation as a user meets it: README.md opens with what to
// download and where it goes, not with how the project is built and tested;
// every relative link of README.md and docs/*.md leads to a file that
// exists, and to a heading of it where it names one; the version in the
// README's file names is the one CMakeLists.txt builds; and the README
// keeps the two commands that CI and a new developer run.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "support/documentation.h"
#include "support/text_file.h"

using bambu::test::read_text;
namespace fs = std::filesystem;

namespace {

const fs::path k_source_dir = fs::path(BAMBU_TESTS_DIR) / "..";
const fs::path k_readme = k_source_dir / "README.md";

// The lines of a Markdown file outside its ``` fenced code blocks, each
// with its line number (from 1).
std::vector<std::pair<int, std::string>> prose_lines(const std::string& markdown) {
  std::vector<std::pair<int, std::string>> lines;
  std::istringstream in(markdown);
  bool in_code = false;
  int number = 0;
  for (std::string line; std::getline(in, line);) {
    ++number;
    if (line.rfind("```", 0) == 0) {
      in_code = !in_code;
      continue;
    }
    if (!in_code) lines.emplace_back(number, line);
  }
  return lines;
}

// GitHub's anchor for a heading's text: lower case; letters, digits, '-'
// and '_' kept, spaces made '-', everything else (backticks, dots, colons,
// brackets) dropped. A repeated heading gets "-1", "-2", ... in order.
std::string heading_slug(const std::string& heading) {
  std::string slug;
  for (unsigned char c : heading) {
    if (std::isalnum(c) || c == '-' || c == '_') {
      slug += static_cast<char>(std::tolower(c));
    } else if (c == ' ') {
      slug += '-';
    }
  }
  return slug;
}

// Every anchor of a Markdown file's headings ("#", "##", ... outside code).
std::set<std::string> anchors(const fs::path& markdown) {
  std::set<std::string> out;
  std::map<std::string, int> seen;
  static const std::regex heading_re(R"(^#{1,6}\s+(.*?)\s*$)");
  for (const auto& [number, line] : prose_lines(read_text(markdown))) {
    std::smatch m;
    if (!std::regex_match(line, m, heading_re)) continue;
    std::string slug = heading_slug(m[1]);
    int count = seen[slug]++;
    out.insert(count == 0 ? slug : slug + "-" + std::to_string(count));
  }
  return out;
}

struct Link {
  int line_number;
  std::string target;  // as written: "docs/options.md#exit-codes"
};

// The targets of every inline link and image, `[text](target)` and
// `![alt](target)`, outside code blocks and `code spans`.
std::vector<Link> links(const fs::path& markdown) {
  std::vector<Link> out;
  static const std::regex code_span_re("`[^`]*`");
  static const std::regex link_re(R"(\]\(([^)\s]+)\))");
  for (const auto& [number, line] : prose_lines(read_text(markdown))) {
    std::string text = std::regex_replace(line, code_span_re, "``");
    for (auto it = std::sregex_iterator(text.begin(), text.end(), link_re); it != std::sregex_iterator(); ++it) {
      out.push_back({number, (*it)[1]});
    }
  }
  return out;
}

// project(bambu-stream VERSION x.y.z ...) of CMakeLists.txt.
std::string project_version() {
  std::smatch m;
  std::string cmake = read_text(k_source_dir / "CMakeLists.txt");
  REQUIRE(std::regex_search(cmake, m, std::regex(R"(project\(bambu-stream VERSION (\d+\.\d+\.\d+))")));
  return m[1];
}

}  // namespace

TEST_CASE("README.md: its first 60 lines say nothing of how the project is built or tested") {
  std::istringstream in(read_text(k_readme));
  int number = 0;
  for (std::string line; number < 60 && std::getline(in, line);) {
    ++number;
    std::string lower = line;
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
    for (const char* word : {"qemu", "podman", "fuzz", "sanitizer", "asan", "ctest", "preset", "cmake"}) {
      INFO("README.md:" << number << ": " << line);
      CHECK(lower.find(word) == std::string::npos);
    }
  }
  CHECK(number == 60);
}

TEST_CASE("README.md: its two commands are the demo and the whole test suite, each on one line") {
  std::string readme = read_text(k_readme);
  CHECK_THAT(readme, Catch::Contains("\n./scripts/demo    # installs what it needs, builds, and plays 10 frames "
                                     "from the built-in printer simulator\n"));
  CHECK_THAT(readme, Catch::Contains("\n./scripts/test    # installs what it needs, builds, and runs every test\n"));
  std::size_t test_lines = 0;
  std::istringstream in(readme);
  for (std::string line; std::getline(in, line);) test_lines += line.rfind("./scripts/test", 0) == 0 ? 1 : 0;
  CHECK(test_lines == 1);
}

TEST_CASE("README.md and docs/*.md: every relative link leads to a file that exists, and to its heading") {
  std::size_t checked = 0;
  for (const auto& file : bambu::test::documentation_files(k_source_dir)) {
    for (const auto& link : links(file)) {
      if (std::regex_search(link.target, std::regex("^[a-z]+:"))) continue;  // https:, mailto:
      INFO(fs::relative(file, k_source_dir).string() << ":" << link.line_number << ": " << link.target);
      auto hash = link.target.find('#');
      std::string path = link.target.substr(0, hash);
      fs::path target = path.empty() ? file : file.parent_path() / path;
      CHECK(fs::exists(target));
      if (hash != std::string::npos && target.extension() == ".md" && fs::exists(target)) {
        CHECK(anchors(target).count(link.target.substr(hash + 1)) == 1);
      }
      ++checked;
    }
  }
  CHECK(checked > 50);
}

TEST_CASE("README.md and docs/*.md: the version in release file and image names is CMakeLists.txt's") {
  const std::string version = project_version();
  static const std::regex versioned(R"((bambu-stream[-_]|bambu-stream:)(\d+\.\d+\.\d+))");
  std::size_t found = 0;
  for (const auto& file : bambu::test::documentation_files(k_source_dir)) {
    std::string text = read_text(file);
    for (auto it = std::sregex_iterator(text.begin(), text.end(), versioned); it != std::sregex_iterator(); ++it) {
      INFO(file.filename().string() << ": " << it->str());
      CHECK((*it)[2] == version);
      ++found;
    }
  }
  CHECK(found > 10);
}
