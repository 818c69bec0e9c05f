// Reading a whole text file in a test (the configurations, examples and
// logs the e2e tests check).
#pragma once

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace bambu::test {

/// The whole file as text; the test fails (REQUIRE) if it cannot be opened.
inline std::string read_text(const std::filesystem::path& p) {
  std::ifstream in(p);
  REQUIRE(in);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace bambu::test
