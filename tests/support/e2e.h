// Shared by the end-to-end tests: running the built bambu-stream binary as
// go2rtc runs it (stdout a pipe, stdin /dev/null, signals by pid).
#pragma once

#include <signal.h>

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "support/child_process.h"
#include "support/cli_env.h"

namespace bambu::test::e2e {

using namespace std::chrono_literals;

/// The binary under test (defined by tests/CMakeLists.txt).
inline constexpr const char* k_binary = BAMBU_STREAM_BINARY;
/// ../shared beside the repository (CI lays it there): the real go2rtc
/// (tools/go2rtc-1.9.14) and the test frames. BAMBU_TESTS_DIR is this
/// tests/ folder (tests/CMakeLists.txt).
inline const std::filesystem::path k_shared_dir = std::filesystem::path(BAMBU_TESTS_DIR) / ".." / ".." / "shared";
/// Camera-like 1280x720 JPEGs (frame_001.jpg ...), for every check that
/// depends on picture content (../shared/frames/camera-720p/README.md).
inline const std::filesystem::path k_camera_frames = k_shared_dir / "frames" / "camera-720p";
/// Debian's Python (it has PyGObject, python3-gi), for the Python helpers.
inline constexpr const char* k_python = "/usr/bin/python3";
/// Generous limits: CI machines are slow, ASan slower.
inline constexpr auto k_wait = 20s;

/// The whole file's bytes (empty if it cannot be read). Read in 64 KiB
/// blocks, not through a byte iterator: the test programs are built -O0 and
/// may run under qemu, and a recording can be many megabytes. Until the end
/// of the file, whatever its stat size says (/proc files say 0).
inline std::vector<std::uint8_t> read_file(const std::filesystem::path& p) {
  constexpr std::size_t k_block = 64 * 1024;
  std::ifstream in(p, std::ios::binary);
  std::vector<std::uint8_t> bytes;
  std::size_t size = 0;
  while (in) {
    bytes.resize(size + k_block);
    in.read(reinterpret_cast<char*>(bytes.data() + size), static_cast<std::streamsize>(k_block));
    size += static_cast<std::size_t>(in.gcount());
  }
  bytes.resize(size);
  return bytes;
}

/// NAL unit types in Annex-B `data`, in order: an independent scan of the
/// output, not the program's own parser (every 00 00 01 starts a unit).
inline std::vector<int> nal_types(const std::vector<std::uint8_t>& data) {
  std::vector<int> types;
  for (std::size_t i = 0; i + 3 < data.size(); ++i) {
    if (data[i] == 0 && data[i + 1] == 0 && data[i + 2] == 1) {
      types.push_back(data[i + 3] & 0x1F);
      i += 2;
    }
  }
  return types;
}

/// The text up to the first '\n'.
inline std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

/// Starts bambu-stream with `args` (and `env` added to an environment
/// without our variables, k_cli_env_vars), stdout captured.
inline ChildProcess client(std::vector<std::string> args,
                           std::vector<std::pair<std::string, std::string>> env = {}) {
  std::vector<std::string> argv = {k_binary};
  argv.insert(argv.end(), args.begin(), args.end());
  return ChildProcess(ChildOptions{argv, std::move(env), k_cli_env_vars, true});
}

/// A duration in seconds.
inline double seconds(std::chrono::steady_clock::duration d) { return std::chrono::duration<double>(d).count(); }

/// Sends SIGTERM and checks the contract with go2rtc's killsignal=15: exit 0
/// in under a second.
inline void sigterm_exits_0_within_1s(ChildProcess& c) {
  c.signal(SIGTERM);
  auto sent_at = std::chrono::steady_clock::now();
  REQUIRE(c.wait_for_exit(k_wait) == 0);
  CHECK(seconds(*c.exited_at() - sent_at) < 1.0);
}

}  // namespace bambu::test::e2e
