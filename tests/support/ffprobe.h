// ffprobe, run on a file the test wrote, for the end-to-end tests.
#pragma once

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "support/child_process.h"

namespace bambu::test {

/// ffprobe's JSON about `file` (`what`: e.g. -show_streams).
inline nlohmann::json ffprobe(const std::filesystem::path& file, std::vector<std::string> what) {
  std::vector<std::string> argv = {"ffprobe", "-v", "error", "-of", "json"};
  argv.insert(argv.end(), what.begin(), what.end());
  argv.push_back(file.string());
  ChildProcess probe(ChildOptions{argv, {}, {}, true});
  REQUIRE(probe.wait_for_exit(std::chrono::seconds(60)) == 0);
  std::vector<std::uint8_t> out = probe.stdout_bytes();
  return nlohmann::json::parse(out.begin(), out.end());
}

/// What ffprobe says on stderr at -v warning while it decodes every frame of
/// `file`: "" for a stream that decodes cleanly.
inline std::string ffprobe_warnings(const std::filesystem::path& file) {
  ChildProcess probe(ChildOptions{{"ffprobe", "-v", "warning", "-count_frames", "-show_entries", "stream=nb_read_frames",
                                   "-of", "json", file.string()},
                                  {},
                                  {},
                                  true});
  REQUIRE(probe.wait_for_exit(std::chrono::seconds(60)) == 0);
  return probe.stderr_text();
}

}  // namespace bambu::test
