// CameraClient against a scripted TLS "printer" on loopback: login bytes,
// reassembly across TLS records, skipped payloads, and how sessions end.
#include <catch2/catch.hpp>

#include <thread>

#include "protocol/login.h"
#include "stream/camera_client.h"
#include "support/captured_log.h"
#include "support/frames.h"
#include "support/recording_sink.h"
#include "support/tls_peer.h"
#include "support/wait.h"

using namespace bambu;
using namespace std::chrono_literals;
using bambu::test::CapturedLog;
using bambu::test::fake_jpeg;
using bambu::test::RecordingSink;
using bambu::test::TlsPeer;
using bambu::test::wait_until;
using bambu::test::wire_frame;
using Kind = SessionOutcome::Kind;

namespace {

StreamConfig config_for(std::uint16_t port) {
  StreamConfig c;
  c.host = "127.0.0.1";
  c.port = port;
  c.access_code = "12345678";
  c.start_timeout_s = 2;
  c.stall_timeout_s = 0.3;
  c.retry_for_s = 0;
  return c;
}

// Reads the 80-byte login into `out`; false if it does not come.
bool read_login(TlsStream& tls, const StopFlag& stop, std::vector<std::uint8_t>& out) {
  out.clear();
  std::uint8_t buf[80];
  while (out.size() < 80) {
    auto r = tls.read_some(std::span(buf).first(80 - out.size()), Clock::now() + 2s, stop);
    if (r.status != TlsStatus::ok) return false;
    out.insert(out.end(), buf, buf + r.bytes);
  }
  return true;
}

struct Harness {
  StreamConfig config;
  TlsContext tls = TlsContext::client({});
  RecordingSink sink;
  StreamStatus status{"jpeg", "127.0.0.1", 0};
  Logger log{LogLevel::error};
  StopFlag stop;
  explicit Harness(std::uint16_t port) : config(config_for(port)) {}
  CameraClient client() { return CameraClient(config, tls, sink, status, log, stop); }
  // The JPEGs the client delivered, each checked to be flagged a keyframe:
  // every JPEG stands alone.
  std::vector<std::vector<std::uint8_t>> frames() const {
    std::vector<std::vector<std::uint8_t>> frames;
    for (const auto& unit : sink.units()) {
      CHECK(unit.keyframe);
      frames.push_back(unit.bytes);
    }
    return frames;
  }
};

}  // namespace

TEST_CASE("the client logs in with the exact packet and reassembles frames split over tiny TLS records") {
  const std::vector<std::vector<std::uint8_t>> frames = {fake_jpeg(5000, 1), fake_jpeg(333, 2), fake_jpeg(70000, 3)};
  std::vector<std::uint8_t> login;
  TlsPeer peer([&](TlsStream& tls, const StopFlag& stop) {
    if (!read_login(tls, stop, login)) return;
    std::size_t piece = 1;
    for (const auto& f : frames) {
      auto wire = wire_frame(f);
      // Every write is its own TLS record: record boundaries never match frames.
      for (std::size_t pos = 0; pos < wire.size(); pos += piece, piece = piece % 7 + 1) {
        auto n = std::min(piece, wire.size() - pos);
        if (tls.write_all(std::span(wire).subspan(pos, n), Clock::now() + 2s, stop).status != TlsStatus::ok) return;
      }
    }
    tls.close(Clock::now() + 1s);
  });
  Harness h(peer.port());
  // About 19,000 records of 1 to 7 bytes take well over the harness's 0.3 s
  // stall limit on a slow machine (or under qemu, in the cross builds),
  // which would end the session `stalled` mid-frame. The stall watchdog is
  // not what this test is about: give it the whole session deadline.
  h.config.stall_timeout_s = 20;
  auto out = h.client().run_session(Clock::now() + 20s);
  peer.wait();
  const LoginPacket expected = make_login_packet("12345678").value();
  CHECK(login == std::vector<std::uint8_t>(expected.begin(), expected.end()));
  CHECK(out.kind == Kind::lost);
  CHECK(out.got_frame);
  CHECK(h.frames() == frames);
  CHECK(h.status.state() == StreamState::streaming);
}

TEST_CASE("a payload that is not a whole JPEG is skipped and counted, the stream goes on") {
  TlsPeer peer([](TlsStream& tls, const StopFlag& stop) {
    std::vector<std::uint8_t> login;
    if (!read_login(tls, stop, login)) return;
    std::vector<std::uint8_t> wire;
    for (const auto& payload : {fake_jpeg(100, 1), std::vector<std::uint8_t>(50, 0x55), fake_jpeg(100, 2)}) {
      auto w = wire_frame(payload);
      wire.insert(wire.end(), w.begin(), w.end());
    }
    tls.write_all(wire, Clock::now() + 2s, stop);
    tls.close(Clock::now() + 1s);
  });
  Harness h(peer.port());
  h.client().run_session(Clock::now() + 5s);
  peer.wait();
  CHECK(h.frames() == std::vector{fake_jpeg(100, 1), fake_jpeg(100, 2)});
  CHECK(h.status.report().skipped == 1);
}

TEST_CASE("a printer that sends only non-JPEG payloads never counts as streaming: exit 4") {
  TlsPeer peer([](TlsStream& tls, const StopFlag& stop) {
    std::vector<std::uint8_t> login;
    read_login(tls, stop, login);
    while (tls.write_all(wire_frame(std::vector<std::uint8_t>(64, 0x55)), Clock::now() + 2s, stop).status ==
           TlsStatus::ok) {
      stop.wait_until(Clock::now() + 20ms);
    }
  });
  Harness h(peer.port());
  h.config.start_timeout_s = 0.5;
  std::string error;
  CHECK(h.client().run(error) == ExitCode::unreachable);
  CHECK_THAT(error, Catch::Contains("no frame arrived within"));
  CHECK(h.frames().empty());
  CHECK(h.status.report().skipped >= 5);
  CHECK(h.status.state() == StreamState::failed);
}

TEST_CASE("a close right after the login, before any byte: access code rejected, exit 3") {
  TlsPeer peer([](TlsStream& tls, const StopFlag& stop) {
    std::vector<std::uint8_t> login;
    read_login(tls, stop, login);
    tls.close(Clock::now() + 1s);
  });
  Harness h(peer.port());
  std::string error;
  CHECK(h.client().run(error) == ExitCode::access_code_rejected);
  CHECK_THAT(error, Catch::StartsWith("access code rejected"));
  CHECK_THAT(error, Catch::Contains("127.0.0.1:"));
  CHECK(h.status.state() == StreamState::failed);
  CHECK(h.status.report().last_error == error);
}

TEST_CASE("logged in but no frame before the deadline: no_first_frame, exit 4") {
  TlsPeer peer([](TlsStream& tls, const StopFlag& stop) {
    std::vector<std::uint8_t> login;
    read_login(tls, stop, login);
    stop.wait_until(Clock::now() + 10s);
  });
  Harness h(peer.port());
  h.config.start_timeout_s = 0.4;
  std::string error;
  auto t0 = Clock::now();
  CHECK(h.client().run(error) == ExitCode::unreachable);
  CHECK(Clock::now() - t0 < 1500ms);
  CHECK_THAT(error, Catch::Contains("no frame arrived within"));
}

TEST_CASE("frames stop while the socket stays open: stalled after --stall-timeout") {
  TlsPeer peer([](TlsStream& tls, const StopFlag& stop) {
    std::vector<std::uint8_t> login;
    read_login(tls, stop, login);
    tls.write_all(wire_frame(fake_jpeg(64)), Clock::now() + 2s, stop);
    stop.wait_until(Clock::now() + 10s);
  });
  Harness h(peer.port());
  auto t0 = Clock::now();
  auto out = h.client().run_session(Clock::now() + 5s);
  auto took = Clock::now() - t0;
  CHECK(out.kind == Kind::stalled);
  CHECK(out.got_frame);
  CHECK(took >= 300ms);
  CHECK(took < 1500ms);
  CHECK(h.frames().size() == 1);
}

TEST_CASE("a size field over the cap ends the session as a protocol error without a frame") {
  TlsPeer peer([](TlsStream& tls, const StopFlag& stop) {
    std::vector<std::uint8_t> login;
    read_login(tls, stop, login);
    auto wire = wire_frame(fake_jpeg(64));
    auto bad = wire_frame(fake_jpeg(64), 0xFFFFFFF0u);
    wire.insert(wire.end(), bad.begin(), bad.end());
    tls.write_all(wire, Clock::now() + 2s, stop);
    stop.wait_until(Clock::now() + 10s);
  });
  Harness h(peer.port());
  auto out = h.client().run_session(Clock::now() + 5s);
  CHECK(out.kind == Kind::protocol_error);
  CHECK_THAT(out.message, Catch::Contains("4294967280 bytes"));
  CHECK(h.frames().size() == 1);
}

TEST_CASE("a certificate that fails --tls-fingerprint: exit 6, no login sent") {
  bool login_seen = true;
  TlsPeer peer([&](TlsStream& tls, const StopFlag& stop) {
    std::vector<std::uint8_t> login;
    login_seen = read_login(tls, stop, login);
  });
  Harness h(peer.port());
  h.config.tls.fingerprint = Fingerprint{};
  std::string error;
  CHECK(h.client().run(error) == ExitCode::tls_verification);
  CHECK_THAT(error, Catch::Contains("does not match --tls-fingerprint"));
  peer.wait();
  CHECK_FALSE(login_seen);  // the access code never went to the impostor
}

TEST_CASE("reconnects back off 1x, 2x, 4x up to the maximum, then exit 5 when --retry-for runs out") {
  int sessions = 0;
  TlsPeer peer(
      [&](TlsStream& tls, const StopFlag& stop) {
        std::vector<std::uint8_t> login;
        if (!read_login(tls, stop, login)) return;
        if (sessions++ == 0) tls.write_all(wire_frame(fake_jpeg(64)), Clock::now() + 2s, stop);
        tls.close(Clock::now() + 1s);  // every later session: closed at once, like a printer rebooting
      },
      "01P00A000000001", false, 50);
  Harness h(peer.port());
  h.config.backoff_initial_s = 0.05;
  h.config.backoff_max_s = 0.2;
  h.config.retry_for_s = 1.0;
  CapturedLog log(LogLevel::warning);
  CameraClient client(h.config, h.tls, h.sink, h.status, log.log, h.stop);
  std::string error;
  auto t0 = Clock::now();
  CHECK(client.run(error) == ExitCode::stream_lost);
  auto took = Clock::now() - t0;
  const std::string text = log.text();
  CHECK_THAT(text, Catch::Contains("reconnecting in 0.1 s") && Catch::Contains("reconnecting in 0.2 s"));
  auto first = text.find("reconnecting in 0.1 s");  // 0.05 s prints as 0.1 (one decimal)
  auto second = text.find("reconnecting in 0.1 s", first + 1);
  auto third = text.find("reconnecting in 0.2 s");
  CHECK(first < third);
  CHECK(second < third);
  CHECK(took >= 1s);
  CHECK(took < 2500ms);
  CHECK_THAT(error, Catch::Contains("not regained within --retry-for"));
  CHECK(h.status.report().reconnects >= 4);
  peer.join();
}

TEST_CASE("a printer that drops after every frame is not 'regained': --retry-for still ends it") {
  TlsPeer peer(
      [](TlsStream& tls, const StopFlag& stop) {
        std::vector<std::uint8_t> login;
        if (!read_login(tls, stop, login)) return;
        tls.write_all(wire_frame(fake_jpeg(64)), Clock::now() + 2s, stop);
        tls.close(Clock::now() + 1s);
      },
      "01P00A000000001", false, 100);
  Harness h(peer.port());
  h.config.backoff_initial_s = 0.05;
  h.config.backoff_max_s = 0.1;
  h.config.retry_for_s = 1.0;
  std::string error;
  auto t0 = Clock::now();
  CHECK(h.client().run(error) == ExitCode::stream_lost);
  CHECK(Clock::now() - t0 < 3s);
  CHECK(h.frames().size() >= 3);  // it did deliver frames all along
  peer.join();
}

TEST_CASE("a stop request ends the run with exit 0 and state stopped") {
  TlsPeer peer([](TlsStream& tls, const StopFlag& stop) {
    std::vector<std::uint8_t> login;
    read_login(tls, stop, login);
    while (!stop.stop_requested()) {
      if (tls.write_all(wire_frame(fake_jpeg(64)), Clock::now() + 2s, stop).status != TlsStatus::ok) return;
      stop.wait_until(Clock::now() + 20ms);
    }
  });
  Harness h(peer.port());
  h.config.stall_timeout_s = 5;
  Clock::time_point requested{};
  std::thread stopper([&] {  // stops once three frames are in, or after 10 s
    wait_until([&] { return h.sink.size() >= 3; }, 10s);
    requested = Clock::now();
    h.stop.request_stop(StopReason::signal);
  });
  std::string error;
  CHECK(h.client().run(error) == ExitCode::ok);
  const auto returned = Clock::now();
  stopper.join();
  CHECK(returned - requested < 1s);
  CHECK(h.status.state() == StreamState::stopped);
  CHECK(h.frames().size() >= 3);
}
