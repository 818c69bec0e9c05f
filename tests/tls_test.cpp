// The TLS transport against a real OpenSSL peer on loopback: handshake,
// timeouts, stop, close_notify, and the certificate policy behind exit code 6.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "core/errors.h"
#include "support/tls_peer.h"

using namespace bambu;
using namespace std::chrono_literals;
using bambu::test::TlsPeer;

namespace {

// Connects and completes the handshake with a permissive client context.
std::unique_ptr<TlsStream> connect_to(const TlsContext& ctx, std::uint16_t port, const StopFlag& stop) {
  auto conn = tcp_connect("127.0.0.1", port, Clock::now() + 5s, stop);
  REQUIRE(conn.status == ConnectStatus::connected);
  auto tls = std::make_unique<TlsStream>(ctx, std::move(conn.fd), TlsStream::Role::client);
  REQUIRE(tls->handshake(Clock::now() + 5s, stop).status == TlsStatus::ok);
  return tls;
}

std::string temp_pem(X509* cert) {
  char path[] = "/tmp/bambu-ca-XXXXXX";
  int fd = ::mkstemp(path);
  ::close(fd);
  std::ofstream(path) << certificate_pem(cert);
  return path;
}

double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

// A handshake with VerifyingTlsContext(policy), on a blocking socket with a
// 5 s receive timeout: "" if it completed, else the refusal it noted.
std::string verified_handshake(const TlsPolicy& policy, std::uint16_t port) {
  VerifyingTlsContext context(policy);
  StopFlag stop;
  auto conn = tcp_connect("127.0.0.1", port, Clock::now() + 5s, stop);
  REQUIRE(conn.status == ConnectStatus::connected);
  const int fd = conn.fd.get();
  REQUIRE(::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK) == 0);
  const timeval limit{5, 0};
  REQUIRE(::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit) == 0);
  std::unique_ptr<SSL, SslDeleter> ssl(SSL_new(context.get()));
  SSL_set_fd(ssl.get(), fd);
  const int rc = SSL_connect(ssl.get());
  std::string refusal = context.take_refusal();
  CHECK((rc == 1) == refusal.empty());
  CHECK(context.take_refusal().empty());  // taken: cleared
  return refusal;
}

}  // namespace

TEST_CASE("fingerprints parse with or without colons and print as 64 hex digits") {
  std::string hex = "00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF";
  auto fp = parse_fingerprint(hex);
  REQUIRE(fp);
  CHECK((*fp)[0] == 0x00);
  CHECK((*fp)[10] == 0xAA);
  CHECK(format_fingerprint(*fp) == "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff");
  CHECK(parse_fingerprint("00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:"
                          "DD:EE:FF") == fp);
  CHECK_FALSE(parse_fingerprint(hex.substr(2)));
  CHECK_FALSE(parse_fingerprint(hex + "00"));
  CHECK_FALSE(parse_fingerprint("zz" + hex.substr(2)));
}

TEST_CASE("data crosses a real TLS 1.2 connection, the peer's identity is visible") {
  std::string seen;
  TlsPeer peer([&](TlsStream& tls, const StopFlag& stop) {
    std::uint8_t hello[] = {'h', 'i'};
    tls.write_all(hello, Clock::now() + 2s, stop);
    std::uint8_t buf[16];
    auto r = tls.read_some(buf, Clock::now() + 2s, stop);
    if (r.status == TlsStatus::ok) seen.assign(buf, buf + r.bytes);
  });
  StopFlag stop;
  auto ctx = TlsContext::client({});
  auto tls = connect_to(ctx, peer.port(), stop);
  std::uint8_t buf[2];
  auto r = tls->read_some(buf, Clock::now() + 2s, stop);
  REQUIRE(r.status == TlsStatus::ok);
  CHECK(std::string(buf, buf + r.bytes) == "hi");
  std::uint8_t reply[] = {'o', 'k'};
  CHECK(tls->write_all(reply, Clock::now() + 2s, stop).status == TlsStatus::ok);
  CHECK(tls->peer_fingerprint() == peer.fingerprint());
  CHECK(tls->peer_common_name() == "01P00A000000001");
  CHECK_FALSE(tls->check_peer({}));  // no policy: any certificate
  peer.wait();
  CHECK(seen == "ok");
}

TEST_CASE("a read times out at its deadline, and a stop wakes it at once") {
  TlsPeer peer([](TlsStream&, const StopFlag& stop) { stop.wait_until(Clock::now() + 10s); });
  StopFlag stop;
  auto ctx = TlsContext::client({});
  auto tls = connect_to(ctx, peer.port(), stop);
  std::uint8_t buf[16];

  auto t0 = Clock::now();
  CHECK(tls->read_some(buf, t0 + 200ms, stop).status == TlsStatus::timed_out);
  CHECK(ms_since(t0) >= 195);
  CHECK(ms_since(t0) < 500);

  std::thread stopper([&] {
    // Usually while the read below waits; a stop that came first ends it at once all the same.
    std::this_thread::sleep_for(100ms);
    stop.request_stop(StopReason::signal);
  });
  t0 = Clock::now();
  CHECK(tls->read_some(buf, t0 + 10s, stop).status == TlsStatus::stopped);
  CHECK(ms_since(t0) < 400);
  stopper.join();
}

TEST_CASE("close() sends close_notify: the peer sees a clean close at once") {
  TlsStatus peer_saw = TlsStatus::ok;
  double peer_waited_ms = 0;
  TlsPeer peer([&](TlsStream& tls, const StopFlag& stop) {
    std::uint8_t buf[16];
    auto t0 = Clock::now();
    peer_saw = tls.read_some(buf, t0 + 5s, stop).status;
    peer_waited_ms = ms_since(t0);
  });
  StopFlag stop;
  auto ctx = TlsContext::client({});
  auto tls = connect_to(ctx, peer.port(), stop);
  tls->close(Clock::now() + 200ms);
  CHECK_FALSE(tls->is_open());
  peer.wait();
  CHECK(peer_saw == TlsStatus::closed);
  CHECK(peer_waited_ms < 1000);
}

TEST_CASE("certificate policy: fingerprint pinning") {
  TlsPeer peer([](TlsStream&, const StopFlag& stop) { stop.wait_until(Clock::now() + 5s); });
  StopFlag stop;
  auto ctx = TlsContext::client({});
  auto tls = connect_to(ctx, peer.port(), stop);
  TlsPolicy pin;
  pin.fingerprint = peer.fingerprint();
  CHECK_FALSE(tls->check_peer(pin));
  (*pin.fingerprint)[0] ^= 1;
  auto problem = tls->check_peer(pin);
  REQUIRE(problem);
  CHECK_THAT(*problem, Catch::Contains("does not match --tls-fingerprint") &&
                           Catch::Contains(format_fingerprint(peer.fingerprint())));
}

TEST_CASE("certificate policy: --ca-file with --serial") {
  TlsPeer peer([](TlsStream&, const StopFlag& stop) { stop.wait_until(Clock::now() + 5s); }, "01P00A123456789");
  auto other = make_self_signed_certificate("BBL CA", std::chrono::system_clock::now() - 1h,
                                            std::chrono::system_clock::now() + 1h);
  std::string ca = temp_pem(peer.cert());
  std::string wrong_ca = temp_pem(other.cert.get());
  StopFlag stop;

  SECTION("the chain and CN match") {
    TlsPolicy policy{std::nullopt, ca, "01P00A123456789"};
    auto ctx = TlsContext::client(policy);
    CHECK_FALSE(connect_to(ctx, peer.port(), stop)->check_peer(policy));
  }
  SECTION("the CN is another printer's serial") {
    TlsPolicy policy{std::nullopt, ca, "01P00A999999999"};
    auto ctx = TlsContext::client(policy);
    auto problem = connect_to(ctx, peer.port(), stop)->check_peer(policy);
    REQUIRE(problem);
    CHECK_THAT(*problem, Catch::Contains("'01P00A123456789', not --serial '01P00A999999999'"));
  }
  SECTION("another CA") {
    TlsPolicy policy{std::nullopt, wrong_ca, ""};
    auto ctx = TlsContext::client(policy);
    auto problem = connect_to(ctx, peer.port(), stop)->check_peer(policy);
    REQUIRE(problem);
    CHECK_THAT(*problem, Catch::Contains("does not verify against --ca-file"));
  }
  ::unlink(ca.c_str());
  ::unlink(wrong_ca.c_str());
}

TEST_CASE("certificate policy: an expired leaf fails --ca-file") {
  TlsPeer peer([](TlsStream&, const StopFlag& stop) { stop.wait_until(Clock::now() + 5s); }, "01P00A1", true);
  std::string ca = temp_pem(peer.cert());
  TlsPolicy policy{std::nullopt, ca, ""};
  StopFlag stop;
  auto ctx = TlsContext::client(policy);
  auto problem = connect_to(ctx, peer.port(), stop)->check_peer(policy);
  REQUIRE(problem);
  CHECK_THAT(*problem, Catch::Contains("expired"));
  ::unlink(ca.c_str());
}

TEST_CASE("VerifyingTlsContext refuses in the handshake what check_peer would refuse after it") {
  // Each handshake is the test; the peer then takes the next connection.
  const auto idle = [](TlsStream&, const StopFlag&) {};
  SECTION("no policy: any certificate") {
    TlsPeer peer(idle);
    CHECK(verified_handshake({}, peer.port()).empty());
  }
  SECTION("a pinned fingerprint, matching or not") {
    TlsPeer peer(idle, "01P00A000000001", false, 2);
    TlsPolicy pin;
    pin.fingerprint = peer.fingerprint();
    CHECK(verified_handshake(pin, peer.port()).empty());
    (*pin.fingerprint)[0] ^= 1;
    CHECK(verified_handshake(pin, peer.port()) ==
          "the printer's certificate (SHA-256 " + format_fingerprint(peer.fingerprint()) +
              ") does not match --tls-fingerprint " + format_fingerprint(*pin.fingerprint));
  }
  SECTION("--ca-file and the serial: matching, another serial, another CA") {
    TlsPeer peer(idle, "01P00A123456789", false, 3);
    auto other = make_self_signed_certificate("BBL CA", std::chrono::system_clock::now() - 1h,
                                              std::chrono::system_clock::now() + 1h);
    const std::string ca = temp_pem(peer.cert());
    const std::string wrong_ca = temp_pem(other.cert.get());
    CHECK(verified_handshake({std::nullopt, ca, "01P00A123456789"}, peer.port()).empty());
    CHECK(verified_handshake({std::nullopt, ca, "01P00A999999999"}, peer.port()) ==
          "the printer's certificate is for serial '01P00A123456789', not --serial '01P00A999999999'");
    CHECK_THAT(verified_handshake({std::nullopt, wrong_ca, ""}, peer.port()),
               Catch::StartsWith("the printer's certificate does not verify against --ca-file: "));
    ::unlink(ca.c_str());
    ::unlink(wrong_ca.c_str());
  }
  SECTION("an expired leaf") {
    TlsPeer peer(idle, "01P00A1", true);
    const std::string ca = temp_pem(peer.cert());
    CHECK_THAT(verified_handshake({std::nullopt, ca, ""}, peer.port()), Catch::Contains("expired"));
    ::unlink(ca.c_str());
  }
}

TEST_CASE("an unreadable --ca-file is a usage error") {
  TlsPolicy policy{std::nullopt, "/nonexistent/ca.pem", ""};
  try {
    TlsContext::client(policy);
    FAIL("no exception");
  } catch (const FatalError& e) {
    CHECK(e.code() == ExitCode::usage);
    CHECK_THAT(e.what(), Catch::Contains("/nonexistent/ca.pem"));
  }
}

TEST_CASE("tcp_connect reports refused and stop") {
  StopFlag stop;
  auto listener = tcp_listen("127.0.0.1", 0);
  auto port = local_port(listener.get());
  listener.reset();  // nothing listens there now
  auto refused = tcp_connect("127.0.0.1", port, Clock::now() + 2s, stop);
  CHECK(refused.status == ConnectStatus::refused);
  stop.request_stop(StopReason::signal);
  auto stopped = tcp_connect("127.0.0.1", port, Clock::now() + 2s, stop);
  CHECK(stopped.status == ConnectStatus::stopped);
}
