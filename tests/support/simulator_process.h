// `bambu-stream simulate` as a child process on 127.0.0.1 port 0, for the
// end-to-end tests: the printer they stream from.
#pragma once

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "support/child_process.h"
#include "support/cli_env.h"
#include "support/e2e.h"
#include "support/jpeg_info.h"
#include "support/temp_dir.h"
#include "support/wait.h"

namespace bambu::test {

/// The access code every end-to-end simulator takes.
inline constexpr const char* k_sim_code = "31415926";

/// `bambu-stream simulate` on 127.0.0.1 port 0, recording what it sends
/// (--record) and writing its certificate (--cert-out) into its own folder;
/// `extra` adds options. Started by the constructor, which waits (at most
/// 10 s) for its "listening on" line; killed with the object.
class SimulatorProcess {
 public:
  using Bytes = std::vector<std::uint8_t>;
  /// `fps`: --fps as text; `extra`: further simulate options.
  explicit SimulatorProcess(std::vector<std::string> extra = {}, const std::string& fps = "10") : dir_() {
    std::vector<std::string> argv = {e2e::k_binary,  "simulate", "--listen", "127.0.0.1:0", "--access-code",
                                     k_sim_code,    "--fps",    fps,        "--record",    record_path().string(),
                                     "--cert-out", cert_path().string()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    process_ = std::make_unique<ChildProcess>(ChildOptions{argv, {}, k_cli_env_vars, false});
    auto line = process_->wait_for_stderr("listening on 127.0.0.1:", std::chrono::seconds(10));
    REQUIRE(line);
    auto pos = line->find("127.0.0.1:") + 10;
    port_ = std::stoi(line->substr(pos));
    REQUIRE(port_ > 0);
  }
  /// The port it listens on, as text for a command line.
  std::string port() const { return std::to_string(port_); }
  /// Its --record file: every whole JPEG sent, back to back.
  std::filesystem::path record_path() const { return dir_.path / "sent.mjpeg"; }
  /// Its --cert-out file (PEM).
  std::filesystem::path cert_path() const { return dir_.path / "cert.pem"; }
  /// Its own folder, for further files a test passes it (e.g. --timing).
  std::filesystem::path dir() const { return dir_.path; }
  ChildProcess& process() { return *process_; }
  // Every whole JPEG sent so far, in order, once there are at least
  // `at_least`: the simulator records a frame just after its write returns,
  // so a fast client can finish before the record has it.
  // (The test fails if the record is ever not whole JPEGs; after 5 s it
  // gets what there is.)
  std::vector<Bytes> sent_frames(std::size_t at_least = 0) const {
    std::vector<Bytes> frames;
    wait_until(
        [&] {
          auto split = split_jpegs(e2e::read_file(record_path()));
          REQUIRE(split);
          frames = std::move(*split);
          return frames.size() >= at_least;
        },
        std::chrono::seconds(5), std::chrono::milliseconds(10));
    return frames;
  }
  /// Its stderr so far.
  std::string log() const { return process_->stderr_text(); }

 private:
  TempDir dir_;
  std::unique_ptr<ChildProcess> process_;
  int port_ = 0;
};

}  // namespace bambu::test
