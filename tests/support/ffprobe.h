// ffprobe, run on a file the test saved, for the end-to-end tests: what a
// real, independent reader makes of our output.
#pragma once

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "support/child_process.h"

namespace bambu::test::e2e {

/// ffprobe's JSON about `file` (`what`: e.g. -show_streams), at -v error;
/// the test fails if ffprobe does not exit 0 within 60 s.
inline nlohmann::json ffprobe(const std::filesystem::path& file, std::vector<std::string> what) {
  std::vector<std::string> argv = {"ffprobe", "-v", "error", "-of", "json"};
  argv.insert(argv.end(), what.begin(), what.end());
  argv.push_back(file.string());
  ChildProcess probe(ChildOptions{argv, {}, {}, true});
  REQUIRE(probe.wait_for_exit(std::chrono::seconds(60)) == 0);
  std::vector<std::uint8_t> out = probe.stdout_bytes();
  return nlohmann::json::parse(out.begin(), out.end());
}

/// What ffprobe says at -v warning while it decodes every frame of `file`
/// (empty: no warning and no error); the test fails unless it exits 0.
inline std::string ffprobe_warnings(const std::filesystem::path& file) {
  ChildProcess probe(ChildOptions{
      {"ffprobe", "-v", "warning", "-count_frames", "-show_entries", "stream=nb_read_frames", "-of", "csv=p=0",
       file.string()},
      {},
      {},
      true});
  REQUIRE(probe.wait_for_exit(std::chrono::seconds(60)) == 0);
  return probe.stderr_text();
}

/// Writes `bytes` to `dir`/`name` and returns the path.
inline std::filesystem::path save(const std::filesystem::path& dir, const std::string& name,
                                  const std::vector<std::uint8_t>& bytes) {
  std::filesystem::path path = dir / name;
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  return path;
}

}  // namespace bambu::test::e2e
