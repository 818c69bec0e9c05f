// The real go2rtc, for the end-to-end tests that run bambu-stream under it
// as users do, and the RTSP client (tests/support/rtsp_client.py) that
// watches its streams.
//
// go2rtc runs only through `go2rtc-loopback` (shared/tools/go2rtc-1.9.14),
// which binds 127.0.0.1 only and turns STUN, mDNS and the rest off; the test
// gives it a `streams:` section and nothing else. It is found as
// $GO2RTC_BIN (the loopback script beside it, else the shared one), else at
// ../shared/tools/go2rtc-1.9.14/ from the repository root; where neither
// exists, go2rtc_missing() says why and the test skips (exit 77).
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "support/child_process.h"
#include "support/cli_env.h"
#include "support/e2e.h"
#include "support/ports.h"
#include "support/temp_dir.h"
#include "support/wait.h"

namespace bambu::test::go2rtc {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

inline constexpr const char* k_rtsp_client = BAMBU_TESTS_DIR "/support/rtsp_client.py";
/// The exit status ctest counts as "skipped" (SKIP_RETURN_CODE).
inline constexpr int k_skip = 77;

/// go2rtc and its loopback launcher, as found here.
struct Tools {
  fs::path go2rtc, loopback;
};

/// Where go2rtc is, or why it is not there.
inline std::optional<Tools> find_tools(std::string* why) {
  const fs::path shared = e2e::k_shared_dir / "tools" / "go2rtc-1.9.14";
  std::vector<Tools> candidates;
  if (const char* env = std::getenv("GO2RTC_BIN"); env && *env) {
    const fs::path bin(env);
    candidates.push_back({bin, bin.parent_path() / "go2rtc-loopback"});
    candidates.push_back({bin, shared / "go2rtc-loopback"});
  } else {
    candidates.push_back({shared / "go2rtc", shared / "go2rtc-loopback"});
  }
  for (const auto& t : candidates) {
    if (::access(t.go2rtc.c_str(), X_OK) == 0 && ::access(t.loopback.c_str(), X_OK) == 0) {
      return Tools{fs::canonical(t.go2rtc), fs::canonical(t.loopback)};
    }
  }
  if (why) {
    *why = "go2rtc not found: neither $GO2RTC_BIN (with go2rtc-loopback beside it or in " + shared.string() +
           ") nor " + (shared / "go2rtc").string() + " with go2rtc-loopback exists";
  }
  return std::nullopt;
}

/// Ends the current test as skipped, saying why, if go2rtc is missing. Call
/// it first in every go2rtc test, before anything is started: it exits the
/// test process with k_skip (each test runs in its own process under ctest).
inline void skip_without_go2rtc() {
  std::string why;
  if (find_tools(&why)) return;
  std::fprintf(stderr, "SKIPPED: %s\n", why.c_str());
  std::fflush(stderr);
  std::_Exit(k_skip);
}

/// One HTTP/1.0 GET to 127.0.0.1:port (2 s at most): the whole response,
/// or "" if nothing answered.
inline std::string http_get(int port, const std::string& path) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return "";
  timeval tv{2, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  std::string response;
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0) {
    const std::string request = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(request.size())) {
      char buf[4096];
      for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) response.append(buf, static_cast<std::size_t>(n));
    }
  }
  ::close(fd);
  return response;
}

/// go2rtc on 127.0.0.1 with the given `streams:` section, on free ports,
/// started through go2rtc-loopback; ready (its API answers) once constructed.
/// The destructor stops it with SIGTERM to the launcher's pid (which passes
/// it on to go2rtc and waits for it); go2rtc's exec children get SIGTERM
/// from go2rtc (or, if it dies, their parent-death signal).
class Go2rtc {
 public:
  /// `env`: variables for go2rtc's environment (its ${VAR}s and what its
  /// exec: children inherit), set after our own are removed.
  explicit Go2rtc(const std::string& streams, std::vector<std::pair<std::string, std::string>> env = {})
      : env_(std::move(env)) {
    std::string why;
    auto tools = find_tools(&why);
    REQUIRE(tools);  // skip_without_go2rtc() was not called first
    {
      std::ofstream out(dir_.path / "streams.yaml");
      out << streams;
      REQUIRE(out.good());
    }
    for (int attempt = 0; attempt < 3; ++attempt) {
      if (start(*tools)) return;
    }
    FAIL("go2rtc did not start; its log:\n" << log());
  }
  ~Go2rtc() { stop(); }
  Go2rtc(const Go2rtc&) = delete;
  Go2rtc& operator=(const Go2rtc&) = delete;

  /// SIGTERM to go2rtc (through its launcher), waiting up to 10 s.
  void stop() {
    if (!process_) return;
    process_->signal(SIGTERM);
    process_->wait_for_exit(10s);
    process_.reset();  // SIGKILL only if it did not end
  }

  std::string rtsp_url(const std::string& name) const {
    return "rtsp://127.0.0.1:" + std::to_string(rtsp_port_) + "/" + name;
  }
  int api_port() const { return api_port_; }
  /// Everything go2rtc logged so far.
  std::string log() const {
    std::ifstream in(dir_.path / "go2rtc.log");
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  /// The body of GET /api/streams (JSON), or null if it did not answer.
  nlohmann::json streams_info() const {
    const std::string r = http_get(api_port_, "/api/streams");
    const auto body = r.find("\r\n\r\n");
    if (body == std::string::npos) return nullptr;
    return nlohmann::json::parse(r.substr(body + 4), nullptr, false);
  }
  const fs::path& dir() const { return dir_.path; }

 private:
  bool start(const Tools& tools) {
    api_port_ = free_port();
    do rtsp_port_ = free_port();
    while (rtsp_port_ == api_port_ || rtsp_port_ == api_port_ + 2);
    std::error_code ignored;
    fs::remove(dir_.path / "go2rtc.log", ignored);
    process_ = std::make_unique<ChildProcess>(ChildOptions{
        {tools.loopback.string(), (dir_.path / "streams.yaml").string(), std::to_string(api_port_),
         std::to_string(rtsp_port_), (dir_.path / "go2rtc.log").string()},
        env_with({"GO2RTC_BIN", tools.go2rtc.string()}),
        k_cli_env_vars,
        true});
    // Ready, or gone (a port taken meanwhile): then the caller tries others.
    bool ready = false;
    wait_until(
        [&] {
          ready = http_get(api_port_, "/api").find(" 200 ") != std::string::npos &&
                  log().find("[rtsp] listen") != std::string::npos;
          return ready || process_->exited_at() || log().find("address already in use") != std::string::npos;
        },
        15s, 20ms);
    if (ready) return true;
    stop();
    return false;
  }

  std::vector<std::pair<std::string, std::string>> env_with(std::pair<std::string, std::string> more) const {
    auto env = env_;
    env.push_back(std::move(more));
    return env;
  }

  std::vector<std::pair<std::string, std::string>> env_;
  TempDir dir_{"go2rtc"};
  int api_port_ = 0;
  int rtsp_port_ = 0;
  std::unique_ptr<ChildProcess> process_;
};

/// One H.264 frame an RTSP client received.
struct ReceivedFrame {
  std::int64_t recv_ns;  // CLOCK_MONOTONIC, when its last RTP packet was read
  std::size_t bytes;     // its NAL units' bytes (no start codes)
  bool keyframe;         // IDR or SPS
  std::uint32_t rtp_timestamp;
};

/// What rtsp_client.py reported when it ended.
struct RtspResult {
  std::string end;  // frames, keyframes, seconds, timeout, closed, error
  std::string error;
  std::int64_t start_ns = 0, describe_ns = 0, play_sent_ns = 0, play_ns = 0;
  std::string sdp;
  std::vector<ReceivedFrame> frames;

  /// The first keyframe, if any.
  const ReceivedFrame* first_keyframe() const {
    for (const auto& f : frames) {
      if (f.keyframe) return &f;
    }
    return nullptr;
  }
};

/// rtsp_client.py playing `url`, started at once; `args` as in its usage
/// (--frames, --keyframes, --seconds, --timeout, --annexb).
class RtspClient {
 public:
  RtspClient(const std::string& url, std::vector<std::string> args) {
    std::vector<std::string> argv = {e2e::k_python, k_rtsp_client, url};
    argv.insert(argv.end(), args.begin(), args.end());
    process_ = std::make_unique<ChildProcess>(ChildOptions{argv, {}, {}, true});
  }
  /// Waits for the client to end (its own --timeout bounds it) and parses
  /// its report.
  RtspResult result(std::chrono::milliseconds timeout = 60s) {
    REQUIRE(process_->wait_for_exit(timeout));
    const auto out = process_->stdout_bytes();
    INFO("rtsp_client.py stderr: " << process_->stderr_text());
    const auto j = nlohmann::json::parse(out.begin(), out.end());
    RtspResult r;
    r.end = j.value("end", "");
    r.error = j.value("error", "");
    r.start_ns = j.value("start_ns", std::int64_t{0});
    r.describe_ns = j.value("describe_ns", std::int64_t{0});
    r.play_sent_ns = j.value("play_sent_ns", std::int64_t{0});
    r.play_ns = j.value("play_ns", std::int64_t{0});
    r.sdp = j.value("sdp", "");
    for (const auto& f : j["frames"]) {
      r.frames.push_back({f[0].get<std::int64_t>(), f[1].get<std::size_t>(), f[2].get<int>() == 1,
                          f[3].get<std::uint32_t>()});
    }
    return r;
  }

 private:
  std::unique_ptr<ChildProcess> process_;
};

/// A line of bambu-stream's --timing file: one unit written to stdout.
struct WrittenUnit {
  std::int64_t written_ns;  // CLOCK_MONOTONIC at the end of the write
  std::size_t bytes;
  bool keyframe;
  bool repeat;  // the newest picture again, between camera frames
};

inline std::vector<WrittenUnit> read_timing(const fs::path& path) {
  std::vector<WrittenUnit> units;
  std::ifstream in(path);
  std::int64_t ns = 0;
  std::size_t bytes = 0;
  int key = 0, repeat = 0;
  while (in >> ns >> bytes >> key >> repeat) units.push_back({ns, bytes, key == 1, repeat == 1});
  return units;
}

/// How much earlier than bambu-stream's --timing line a frame may reach the
/// client: the line is taken when write(2) returns, and a unit larger than
/// room in the pipe returns only after go2rtc has read (and passed on) most
/// of it.
inline constexpr std::int64_t k_write_slack_ns = 20'000'000;

/// Which written MPEG-TS unit each received frame is: the offset k such that
/// frame i is unit k + i. go2rtc passes every frame on after the client's
/// PLAY, in order, so the frames are a run of consecutive units. The run is
/// found by size: a unit's TS bytes carry 184 payload bytes per 188, plus
/// a near-constant few hundred bytes (PES header, PAT/PMT, the empty PES,
/// stuffing), so at the right offset unit*184/188 - frame is nearly the same
/// for every frame; the offset with the least spread around its median
/// wins, among those at which no frame arrives more than k_write_slack_ns
/// before it was written. Returns the offset and that spread (mean absolute
/// deviation, bytes), or nullopt if no offset fits.
inline std::optional<std::pair<std::size_t, double>> align(const std::vector<WrittenUnit>& units,
                                                           const std::vector<ReceivedFrame>& frames) {
  std::optional<std::pair<std::size_t, double>> best;
  if (frames.empty() || units.size() < frames.size()) return best;
  for (std::size_t k = 0; k + frames.size() <= units.size(); ++k) {
    std::vector<double> diffs;
    bool causal = true;
    for (std::size_t i = 0; i < frames.size() && causal; ++i) {
      causal = frames[i].recv_ns >= units[k + i].written_ns - k_write_slack_ns;
      diffs.push_back(static_cast<double>(units[k + i].bytes) * 184.0 / 188.0 -
                      static_cast<double>(frames[i].bytes));
    }
    if (!causal) continue;
    std::vector<double> sorted = diffs;
    std::nth_element(sorted.begin(), sorted.begin() + static_cast<std::ptrdiff_t>(sorted.size() / 2), sorted.end());
    const double mid = sorted[sorted.size() / 2];
    double spread = 0;
    for (double d : diffs) spread += std::abs(d - mid);
    spread /= static_cast<double>(diffs.size());
    if (!best || spread < best->second) best = {{k, spread}};
  }
  return best;
}

}  // namespace bambu::test::go2rtc
