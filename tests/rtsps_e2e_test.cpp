// End-to-end for the RTSPS source: the built binary against a real RTSP
// server over TLS with Digest auth (GStreamer's gst-rtsp-server, driven by
// tests/support/rtsps_server.py) on 127.0.0.1, serving H.264 Constrained
// Baseline at /streaming/live/1 with SPS/PPS only in the SDP, as the X1's
// LIVE555 server does. Output is checked by bytes and by ffprobe.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <thread>

#include "protocol/jpeg.h"
#include "simulator/certificate.h"
#include "support/child_process.h"
#include "support/e2e.h"
#include "support/ffprobe.h"
#include "support/pki.h"
#include "support/ports.h"
#include "support/rtsps_server.h"
#include "support/temp_dir.h"
#include "support/wait.h"
#include "transport/tls.h"

using namespace std::chrono_literals;
using namespace bambu::test::e2e;
using bambu::test::ChildOptions;
using bambu::test::ChildProcess;
using bambu::test::LoopbackPort;
using bambu::test::TempDir;
using bambu::test::TestPki;
using bambu::test::RtspsServer;
using bambu::test::ServedCertificate;
using bambu::test::k_rtsps_code;
using bambu::test::wait_until;
namespace fs = std::filesystem;
using Bytes = std::vector<std::uint8_t>;
using nlohmann::json;

namespace {

constexpr const char* k_code = k_rtsps_code;

ChildProcess rtsps_client(const RtspsServer& server, std::vector<std::string> extra) {
  std::vector<std::string> args = {"--host", "127.0.0.1", "--source", "rtsps", "--port", server.port(),
                                   "--access-code", k_code};
  args.insert(args.end(), extra.begin(), extra.end());
  return client(args);
}


// The packets' presentation times in seconds, in stream order.
std::vector<double> packet_times(const fs::path& ts) {
  std::vector<double> times;
  const json probed = ffprobe(ts, {"-show_entries", "packet=pts_time"});
  for (const auto& p : probed["packets"]) {
    times.push_back(std::stod(p["pts_time"].get<std::string>()));
  }
  return times;
}

}  // namespace

TEST_CASE("RTSPS to MPEG-TS: whole 188-byte packets from byte 0, PAT first, H.264 at the served size") {
  RtspsServer server({"--width", "480", "--height", "272", "--fps", "15"});
  TempDir dir;
  auto c = rtsps_client(server, {"--frames", "45", "--heartbeat", (dir.path / "hb.json").string()});
  REQUIRE(c.wait_for_exit(k_wait) == 0);
  const Bytes out = c.stdout_bytes();
  REQUIRE(out.size() >= 188 * 10);
  CHECK(out.size() % 188 == 0);
  bool synced = true;
  for (std::size_t i = 0; i < out.size(); i += 188) synced = synced && out[i] == 0x47;
  CHECK(synced);
  CHECK((((out[1] & 0x1F) << 8) | out[2]) == 0);  // PID 0: the PAT comes first

  const fs::path ts = save(dir.path, "out.ts", out);
  json streams = ffprobe(ts, {"-count_frames", "-show_streams"})["streams"];
  REQUIRE(streams.size() == 1);
  CHECK(streams[0]["codec_name"] == "h264");
  CHECK(streams[0]["profile"] == "Constrained Baseline");
  CHECK(streams[0]["width"] == 480);
  CHECK(streams[0]["height"] == 272);
  CHECK(streams[0]["nb_read_frames"] == "45");  // every unit decodes, from the first

  // Timestamps start near 0 and advance by one frame interval (15 fps).
  auto times = packet_times(ts);
  REQUIRE(times.size() == 45);
  CHECK(times.front() < 0.1);
  CHECK(times.back() == Approx(44.0 / 15).margin(0.2));

  json hb = json::parse(read_file(dir.path / "hb.json"));
  CHECK(hb["source"] == "rtsps");
  CHECK(hb["codec"] == "h264");
  CHECK(hb["width"] == 480);
  CHECK(hb["height"] == 272);
  CHECK(hb["frames"] == 45);
  CHECK(hb["state"] == "stopped");
}

TEST_CASE("RTSPS to Annex-B: a start code and an SPS first, SPS and PPS before every IDR") {
  RtspsServer server({"--fps", "15", "--gop", "10"});  // SPS/PPS only in the SDP
  auto c = rtsps_client(server, {"--format", "h264", "--frames", "35"});
  REQUIRE(c.wait_for_exit(k_wait) == 0);
  const Bytes out = c.stdout_bytes();
  REQUIRE(out.size() > 5);
  CHECK(Bytes(out.begin(), out.begin() + 5) == Bytes{0, 0, 0, 1, 0x67});
  const std::vector<int> types = nal_types(out);
  int idrs = 0;
  for (std::size_t i = 0; i < types.size(); ++i) {
    if (types[i] != 5 || (i > 0 && types[i - 1] == 5)) continue;  // the first slice of each IDR
    ++idrs;
    REQUIRE(i >= 2);
    CHECK(types[i - 2] == 7);
    CHECK(types[i - 1] == 8);
  }
  CHECK(idrs >= 3);  // 35 frames with a keyframe every 10
  TempDir dir;
  json streams = ffprobe(save(dir.path, "out.h264", out), {"-count_frames", "-show_streams"})["streams"];
  REQUIRE(streams.size() == 1);
  CHECK(streams[0]["codec_name"] == "h264");
  CHECK(streams[0]["width"] == 640);
  CHECK(streams[0]["nb_read_frames"] == "35");
}

TEST_CASE("RTSPS: a wrong access code exits 3 with the reason first, and never shows the code") {
  RtspsServer server;
  const std::string wrong = "ab%cd:12";  // also checks its URL-encoded form, ab%25cd%3A12
  auto c = client({"--host", "127.0.0.1", "--source", "rtsps", "--port", server.port(), "--access-code", wrong,
                   "-v"});
  REQUIRE(c.wait_for_exit(k_wait) == 3);
  CHECK_THAT(first_line(c.stderr_text().substr(c.stderr_text().find("error:"))),
             Catch::StartsWith("error: access code rejected"));
  CHECK_THAT(c.stderr_text(), Catch::Contains("libav: "));  // libavformat's own lines are among those checked
  CHECK(c.stderr_text().find(wrong) == std::string::npos);
  CHECK(c.stderr_text().find("ab%25cd%3A12") == std::string::npos);
  CHECK(server.count("request DESCRIBE") >= 1);
  CHECK(server.count("request PLAY") == 0);
}

TEST_CASE("RTSPS: a stream at -v never shows the code, raw or URL-encoded, on stderr or in the heartbeat") {
  const std::string code = "ab%cd:12";  // URL-encoded in the RTSP URL: ab%25cd%3A12
  RtspsServer server({"--access-code", code});  // the last --access-code wins
  TempDir dir;
  auto hb = dir.path / "hb.json";
  auto c = client({"--host", "127.0.0.1", "--source", "rtsps", "--port", server.port(), "--access-code", code,
                   "--frames", "10", "--heartbeat", hb.string(), "-v"});
  REQUIRE(c.wait_for_exit(k_wait) == 0);
  const std::string err = c.stderr_text();
  CHECK_THAT(err, Catch::Contains("streaming from 127.0.0.1:"));
  for (const std::string& shown : {err, [&] { Bytes b = read_file(hb); return std::string(b.begin(), b.end()); }()}) {
    CHECK(shown.find(code) == std::string::npos);
    CHECK(shown.find("ab%25cd%3A12") == std::string::npos);
  }
}

TEST_CASE("RTSPS: a refused port exits 4 and names the LAN Only Liveview setting") {
  LoopbackPort refused(false);
  auto c = client({"--host", "127.0.0.1", "--source", "rtsps", "--port", std::to_string(refused.port()),
                   "--access-code", k_code});
  REQUIRE(c.wait_for_exit(k_wait) == 4);
  CHECK_THAT(first_line(c.stderr_text()), Catch::StartsWith("error: connection to 127.0.0.1:") &&
                                              Catch::Contains("switch on \"LAN Only Liveview\" on the printer"));
}

TEST_CASE("RTSPS: --tls-fingerprint streams on a match and exits 6 on a mismatch before any RTSP request") {
  RtspsServer server;
  auto good = rtsps_client(server, {"--tls-fingerprint", server.fingerprint(), "--frames", "3"});
  CHECK(good.wait_for_exit(k_wait) == 0);
  CHECK(good.stdout_size() > 0);
  REQUIRE(server.wait_for_count("client closed", 1, k_wait));  // its TEARDOWN is logged before
  const std::size_t requests = server.count("request ");
  auto bad = rtsps_client(server, {"--tls-fingerprint", std::string(64, 'a')});
  REQUIRE(bad.wait_for_exit(k_wait) == 6);
  CHECK_THAT(first_line(bad.stderr_text()), Catch::StartsWith("error:") && Catch::Contains("fingerprint"));
  CHECK(bad.stdout_size() == 0);
  REQUIRE(server.wait_for_count("client closed", 2, k_wait));
  CHECK(server.count("request ") == requests);  // not even OPTIONS: nothing was sent in the clear
}

TEST_CASE("RTSPS: --ca-file with --serial: chain and CN match stream, wrong serial, wrong CA and expired leaf exit 6") {
  const std::string serial = "00M09A350100001";
  TestPki pki(serial);
  RtspsServer server({}, ServedCertificate{pki.cert_path(), pki.key_path()});
  auto good = rtsps_client(server, {"--ca-file", pki.ca_path().string(), "--serial", serial, "--frames", "3"});
  CHECK(good.wait_for_exit(k_wait) == 0);
  CHECK(good.stdout_size() > 0);

  auto refused = [&](const RtspsServer& peer, const fs::path& ca, const std::string& expected_serial,
                     const std::string& why) {
    INFO(why);
    const std::size_t closed = peer.count("client connected");  // every earlier connection has closed
    REQUIRE(peer.wait_for_count("client closed", closed, k_wait));
    const std::size_t requests = peer.count("request ");
    auto c = rtsps_client(peer, {"--ca-file", ca.string(), "--serial", expected_serial});
    CHECK(c.wait_for_exit(k_wait) == 6);
    CHECK(c.stdout_size() == 0);
    CHECK_THAT(first_line(c.stderr_text()), Catch::StartsWith("error:") && Catch::Contains(why));
    REQUIRE(peer.wait_for_count("client closed", closed + 1, k_wait));
    CHECK(peer.count("request ") == requests);  // refused before any RTSP request
  };
  refused(server, pki.ca_path(), "00M09A350100002", "not --serial '00M09A350100002'");
  refused(server, pki.other_ca_path(), serial, "does not verify against --ca-file");
  RtspsServer expired({}, ServedCertificate{pki.expired_cert_path(), pki.expired_key_path()});
  refused(expired, pki.ca_path(), serial, "expired");
}

TEST_CASE("RTSPS: SIGTERM exits 0 within 1 s and the server sees the session end") {
  RtspsServer server;
  TempDir dir;
  auto c = rtsps_client(server, {"--heartbeat", (dir.path / "hb.json").string()});
  REQUIRE(c.wait_for_stdout(188 * 20, k_wait));
  sigterm_exits_0_within_1s(c);
  CHECK(c.stdout_size() % 188 == 0);  // no partial TS packet at exit
  CHECK(json::parse(read_file(dir.path / "hb.json"))["state"] == "stopped");
  CHECK(server.wait_for_count("client closed", 1, 5s));
  CHECK(server.count("client closed") == 1);
}

TEST_CASE("RTSPS: the server stopped mid-stream and restarted: the stream resumes with monotonic timestamps") {
  RtspsServer server({"--fps", "15"});
  TempDir dir;
  auto c = rtsps_client(server, {"--stall-timeout", "3", "--retry-for", "30", "--heartbeat",
                                 (dir.path / "hb.json").string()});
  REQUIRE(c.wait_for_stdout(188 * 200, k_wait));
  server.kill();
  const std::size_t before = c.stdout_size();
  REQUIRE(c.wait_for_stderr("reconnecting in", k_wait));  // the outage seen while the server is down
  server.start();  // same port
  REQUIRE(c.wait_for_stderr("stream regained", k_wait));
  REQUIRE(c.wait_for_stdout(before + 188 * 200, k_wait));
  sigterm_exits_0_within_1s(c);

  const fs::path ts = save(dir.path, "out.ts", c.stdout_bytes());
  auto times = packet_times(ts);
  REQUIRE(times.size() > 40);
  bool increasing = true;
  double largest_step = 0;
  for (std::size_t i = 1; i < times.size(); ++i) {
    increasing = increasing && times[i] > times[i - 1];
    largest_step = std::max(largest_step, times[i] - times[i - 1]);
  }
  CHECK(increasing);
  CHECK(largest_step < 0.5);  // continuous: the outage leaves no hole in the timeline
  json streams = ffprobe(ts, {"-count_frames", "-show_streams"})["streams"];
  CHECK(streams[0]["nb_read_frames"].get<std::string>() == std::to_string(times.size()));
  json hb = json::parse(read_file(dir.path / "hb.json"));
  CHECK(hb["reconnects"] == 1);
  CHECK(server.count("request PLAY") == 2);
}

TEST_CASE("RTSPS: the server gone for good exits 5 after --retry-for") {
  RtspsServer server;
  auto c = rtsps_client(server, {"--retry-for", "3", "--stall-timeout", "2"});
  REQUIRE(c.wait_for_stdout(188 * 10, k_wait));
  server.kill();
  const auto killed = std::chrono::steady_clock::now();
  REQUIRE(c.wait_for_exit(k_wait) == 5);
  const double took = seconds(*c.exited_at() - killed);
  CHECK(took >= 2.9);
  CHECK(took < 8);
  std::string err = c.stderr_text();
  CHECK_THAT(first_line(err.substr(err.find("error:"))), Catch::StartsWith("error: stream lost"));
}

TEST_CASE("RTSPS: a 60 s session against a 10 s session timeout stays up on keepalives", "[long]") {
  RtspsServer server({"--fps", "5", "--width", "320", "--height", "240", "--session-timeout", "10"});
  auto c = rtsps_client(server, {"-v"});
  REQUIRE(c.wait_for_stdout(188, k_wait));
  const std::size_t at_start = c.stdout_size();
  std::this_thread::sleep_for(60s);  // the session's length, six timeouts: what this test is about
  REQUIRE_FALSE(c.exited_at());
  const std::size_t after_60 = c.stdout_size();
  CHECK(c.wait_for_stdout(after_60 + 1, 5s));  // still flowing at the end
  CHECK(c.stdout_size() > at_start);
  sigterm_exits_0_within_1s(c);
  CHECK(c.stderr_text().find("reconnecting") == std::string::npos);
  CHECK(server.count("request PLAY") == 1);
  CHECK(server.count("session expired") == 0);
  // Keepalives: at least one per 10 s timeout window over the minute.
  CHECK(server.count("request GET_PARAMETER") + server.count("request OPTIONS") >= 7);
}

TEST_CASE("RTSPS test server: a client that sends no keepalives is cut off after the session timeout") {
  // Shows that the 60 s test above can fail: without libavformat's
  // keepalives the server would end the session after 10 s.
  RtspsServer server({"--session-timeout", "3"});
  const std::string url = "rtsps://bblp:" + std::string(k_code) + "@127.0.0.1:" + server.port() +
                          "/streaming/live/1";
  ChildProcess idle(ChildOptions{{k_python, BAMBU_TESTS_DIR "/support/rtsps_idle_client.py", url}, {}, {}, true});
  REQUIRE(idle.wait_for_exit(k_wait) == 0);
  const Bytes out = idle.stdout_bytes();
  const std::string text(out.begin(), out.end());
  REQUIRE_THAT(text, Catch::StartsWith("closed after "));
  const double after = std::stod(text.substr(13));
  CHECK(after > 2.5);
  CHECK(after < 6);
  CHECK(server.count("session expired") == 1);
}

TEST_CASE("RTSPS: frozen printer timestamps are detected, stamped on arrival, with a warning") {
  RtspsServer server({"--fps", "15", "--frozen-timestamps"});
  TempDir dir;
  auto c = rtsps_client(server, {"--frames", "30"});
  REQUIRE(c.wait_for_exit(k_wait) == 0);
  CHECK_THAT(c.stderr_text(), Catch::Contains("warning: the printer's video timestamps do not advance"));
  auto times = packet_times(save(dir.path, "out.ts", c.stdout_bytes()));
  REQUIRE(times.size() == 30);
  bool increasing = true;
  for (std::size_t i = 1; i < times.size(); ++i) increasing = increasing && times[i] > times[i - 1];
  CHECK(increasing);
  // Arrival times of a 15 fps camera: 29 intervals of about 1/15 s.
  CHECK(times.back() - times.front() == Approx(29.0 / 15).margin(0.6));
}

TEST_CASE("RTSPS --snapshot: a decoded keyframe as a JPEG of the stream's size, while stdout streams on") {
  RtspsServer server({"--width", "480", "--height", "272", "--fps", "15", "--gop", "15"});
  TempDir dir("rtsps-snapshot");
  const fs::path snapshot = dir.path / "x1c.jpg", heartbeat = dir.path / "x1c.json";
  auto c = rtsps_client(server, {"--format", "mpegts", "--snapshot", snapshot.string(), "--snapshot-interval", "0.5",
                                 "--heartbeat", heartbeat.string()});
  wait_until([&] { return fs::exists(snapshot) || c.exited_at(); }, k_wait, 20ms);
  REQUIRE(fs::exists(snapshot));
  const auto jpeg = read_file(snapshot);
  REQUIRE(bambu::is_whole_jpeg(jpeg));
  const auto size = bambu::jpeg_size(jpeg);
  REQUIRE(size);
  CHECK(size->width == 480);
  CHECK(size->height == 272);
  CHECK(c.stdout_size() > 0);
  sigterm_exits_0_within_1s(c);
  const json hb = json::parse(read_file(heartbeat));
  CHECK(hb["snapshot"] == snapshot.string());
  CHECK(hb["snapshot_age"].is_number());
  CHECK(c.stderr_text().find(k_code) == std::string::npos);
}
