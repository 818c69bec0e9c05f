// The status server in-process on 127.0.0.1 port 0 under clients that
// never finish a request: 100 of them held open (half silent, half sending
// one header byte a second, each reconnecting when the server closes it)
// while a farm page polls /farm and its snapshot over keep-alive. /health
// must answer within 1 s; a trickling client is cut at the request
// deadline; oversized headers are refused; the connection cap holds.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/log.h"
#include "core/stop_flag.h"
#include "status/http_listener.h"
#include "status/status_server.h"
#include "support/temp_dir.h"
#include "support/wait.h"

using namespace std::chrono_literals;
using bambu::test::TempDir;
using bambu::test::wait_until;
using steady = std::chrono::steady_clock;

namespace {

constexpr auto k_setup = 30s;  // generous: a loaded machine or ASan, setup only

int connect_to(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

bool send_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

// Everything the server sends until it closes (or `limit` passes).
std::string read_until_closed(int fd, std::chrono::milliseconds limit) {
  std::string got;
  const auto end = steady::now() + limit;
  char buf[4096];
  while (steady::now() < end) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    got.append(buf, static_cast<std::size_t>(n));
  }
  return got;
}

// One request on a fresh connection (Connection: close): the whole answer.
std::string fetch(std::uint16_t port, const std::string& path) {
  const int fd = connect_to(port);
  if (fd < 0) return {};
  send_all(fd, "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
  std::string answer = read_until_closed(fd, 10s);
  ::close(fd);
  return answer;
}

// A keep-alive client as a browser is: several requests per connection,
// a new one when the server says close. Returns the status or -1.
class KeepAliveClient {
 public:
  explicit KeepAliveClient(std::uint16_t port) : port_(port) {}
  ~KeepAliveClient() { drop(); }
  int get(const std::string& path) {
    if (fd_ < 0) fd_ = connect_to(port_);
    if (fd_ < 0 || !send_all(fd_, "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")) return drop(), -1;
    std::string got;
    std::size_t header_end = std::string::npos;
    while ((header_end = got.find("\r\n\r\n")) == std::string::npos || got.size() < header_end + 4 + length(got)) {
      char buf[8192];
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) return drop(), -1;
      got.append(buf, static_cast<std::size_t>(n));
    }
    if (got.find("\r\nConnection: close\r\n") < header_end) drop();
    return std::stoi(got.substr(9, 3));
  }

 private:
  static std::size_t length(const std::string& head) {
    const auto at = head.find("\r\nContent-Length: ");
    return at == std::string::npos ? 0 : std::stoul(head.substr(at + 18));
  }
  void drop() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  std::uint16_t port_;
  int fd_ = -1;
};

// 100 slow clients in one thread: even ones silent, odd ones sending one
// byte of an endless header every second; any the server closes is opened
// again, so 100 are always there.
class SlowClients {
 public:
  SlowClients(std::uint16_t port, int count) : port_(port), fds_(static_cast<std::size_t>(count), -1) {
    thread_ = std::thread([this] { run(); });
  }
  ~SlowClients() {
    done_ = true;
    thread_.join();
    for (int fd : fds_) {
      if (fd >= 0) ::close(fd);
    }
  }
  int rounds() const { return rounds_; }
  int reconnects() const { return reconnects_; }
  bool all_connected() const { return connected_ == static_cast<int>(fds_.size()); }

 private:
  void run() {
    while (!done_) {
      int connected = 0;
      for (std::size_t i = 0; i < fds_.size(); ++i) {
        int& fd = fds_[i];
        if (fd >= 0 && closed_by_server(fd)) {
          ::close(fd);
          fd = -1;
          ++reconnects_;
        }
        if (fd < 0 && (fd = connect_to(port_)) >= 0 && i % 2 == 1) send_all(fd, "GET /health HTTP/1.1\r\nX-Slow: ");
        if (fd >= 0 && i % 2 == 1) send_all(fd, "a");
        connected += fd >= 0;
      }
      connected_ = connected;
      ++rounds_;
      wait_for(1s);
    }
  }
  static bool closed_by_server(int fd) {
    pollfd p{fd, POLLIN, 0};
    char c;
    return ::poll(&p, 1, 0) > 0 && ::recv(fd, &c, 1, MSG_DONTWAIT) <= 0;
  }
  void wait_for(std::chrono::milliseconds pause) {
    const auto end = steady::now() + pause;
    while (!done_ && steady::now() < end) std::this_thread::sleep_for(10ms);
  }
  std::uint16_t port_;
  std::vector<int> fds_;
  std::atomic<bool> done_{false};
  std::atomic<int> rounds_{0}, reconnects_{0}, connected_{0};
  std::thread thread_;
};

// A printer folder with one printer, `p1`, whose heartbeat names a
// snapshot that exists.
void write_printer(const std::filesystem::path& dir) {
  std::ofstream(dir / "p1.jpg", std::ios::binary) << std::string("\xFF\xD8\xFF\xE0", 4) << std::string(1000, 'x')
                                                  << std::string("\xFF\xD9", 2);
  std::ofstream(dir / "p1.json") << "{\"state\":\"streaming\",\"snapshot\":\"" << (dir / "p1.jpg").string() << "\"}";
}

struct RunningServer {
  bambu::Logger log{bambu::LogLevel::error};
  bambu::StopFlag stop;
  std::optional<bambu::StatusServer> server;
  std::thread thread;
  explicit RunningServer(bambu::StatusConfig config) {
    server.emplace(std::move(config), log);
    thread = std::thread([this] { server->run(stop); });
  }
  ~RunningServer() {
    stop.request_stop(bambu::StopReason::requested);
    thread.join();
  }
  std::uint16_t port() const { return server->port(); }
};

bambu::StatusConfig config_for(const std::filesystem::path& dir) {
  bambu::StatusConfig c;
  c.listen_host = "127.0.0.1";
  c.listen_port = 0;
  c.heartbeat_dir = dir.string();
  c.max_age_s = 60;
  return c;
}

double seconds_since(steady::time_point t) { return std::chrono::duration<double>(steady::now() - t).count(); }

}  // namespace

TEST_CASE("status server: /health within 1 s under 100 slow clients while the farm page is fetched") {
  TempDir dir("slow-clients");
  write_printer(dir.path);
  RunningServer s(config_for(dir.path));
  SlowClients slow(s.port(), 100);
  REQUIRE(wait_until([&] { return slow.all_connected() && slow.rounds() >= 3; }, k_setup));

  std::atomic<bool> page_done{false};
  std::atomic<int> page_rounds{0}, page_failures{0};
  std::thread page([&] {
    KeepAliveClient browser(s.port());
    if (browser.get("/") != 200) ++page_failures;
    while (!page_done) {
      if (browser.get("/farm") != 200 || browser.get("/printers/p1/snapshot.jpg") != 200) ++page_failures;
      ++page_rounds;
    }
  });
  REQUIRE(wait_until([&] { return page_rounds >= 3; }, k_setup));

  double slowest = 0;
  std::string answer;
  for (int i = 0; i < 10; ++i) {
    const auto asked = steady::now();
    answer = fetch(s.port(), "/health");
    slowest = std::max(slowest, seconds_since(asked));
  }
  page_done = true;
  page.join();
  INFO("slowest /health: " << slowest << " s; slow clients reconnected " << slow.reconnects() << " times");
  CHECK(slowest < 1.0);
  CHECK(answer ==
        "HTTP/1.1 200 OK\r\nAccess-Control-Allow-Origin: *\r\nCache-Control: no-store\r\nConnection: close\r\n"
        "Content-Length: 12\r\nContent-Type: application/json\r\n\r\n{\"ok\":true}\n");
  CHECK(page_failures == 0);
}

TEST_CASE("status server: a client trickling its headers is closed at the request deadline, unanswered") {
  TempDir dir("slow-clients");
  RunningServer s(config_for(dir.path));
  const int fd = connect_to(s.port());
  REQUIRE(fd >= 0);
  const auto opened = steady::now();
  REQUIRE(send_all(fd, "GET /health HTTP/1.1\r\n"));
  // One byte every 200 ms: never idle for the 1 s keep-alive bound.
  bool closed = false;
  std::string got;
  while (!closed && seconds_since(opened) < 20) {
    char buf[256];
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 200) > 0) {
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n > 0) got.append(buf, static_cast<std::size_t>(n));
      closed = n <= 0;
    } else {
      closed = !send_all(fd, "X");
    }
  }
  const double lasted = seconds_since(opened);
  ::close(fd);
  CHECK(closed);
  CHECK(got.empty());
  const double bound = std::chrono::duration<double>(bambu::k_http_request_deadline).count() + 2.0;
  INFO("closed after " << lasted << " s");
  CHECK(lasted < bound);
}

TEST_CASE("status server: headers over 16 KiB are refused with 431 and the connection closed") {
  TempDir dir("slow-clients");
  RunningServer s(config_for(dir.path));
  const int fd = connect_to(s.port());
  REQUIRE(fd >= 0);
  const std::string big = "GET /health HTTP/1.1\r\nX-Big: " + std::string(bambu::k_http_header_limit, 'a') + "\r\n\r\n";
  send_all(fd, big);  // the server may stop reading halfway
  const std::string got = read_until_closed(fd, 10s);
  ::close(fd);
  CHECK_THAT(got, Catch::StartsWith("HTTP/1.1 431 Request Header Fields Too Large\r\n") &&
                      Catch::Contains("\r\nConnection: close\r\n") && Catch::EndsWith("\r\n\r\nError\n"));
  // A header under the limit is answered as usual.
  CHECK_THAT(fetch(s.port(), "/health"), Catch::StartsWith("HTTP/1.1 200 OK\r\n"));
}

TEST_CASE("status server: at the connection cap the oldest idle connections make room, /health still answers") {
  // Both ends live in this process: room for twice the cap and more.
  rlimit files{};
  REQUIRE(::getrlimit(RLIMIT_NOFILE, &files) == 0);
  const rlimit old = files;
  files.rlim_cur = std::min<rlim_t>(files.rlim_max, 4096);
  ::setrlimit(RLIMIT_NOFILE, &files);
  const std::size_t extra = 100;
  if (files.rlim_cur < 2 * (bambu::k_http_max_connections + extra) + 64) {
    ::setrlimit(RLIMIT_NOFILE, &old);
    WARN("too few file descriptors for the test (" << files.rlim_cur << "); skipped");
    return;
  }
  bambu::Logger log{bambu::LogLevel::error};
  bambu::HttpListener listener("127.0.0.1", 0, {}, [](const bambu::HttpRequest&) {
    return bambu::HttpAnswer{200, "ok\n", "text/plain", {}};
  }, log);
  bambu::StopFlag stop;
  std::thread serving([&] { listener.run(stop); });
  std::vector<int> idle;
  for (std::size_t i = 0; i < bambu::k_http_max_connections + extra; ++i) {
    const int fd = connect_to(listener.port());
    REQUIRE(fd >= 0);
    idle.push_back(fd);
  }
  CHECK_THAT(fetch(listener.port(), "/health"), Catch::StartsWith("HTTP/1.1 200 OK\r\n") && Catch::EndsWith("ok\n"));
  CHECK(listener.peak_connections() <= bambu::k_http_max_connections);
  CHECK(listener.peak_connections() >= 100);
  stop.request_stop(bambu::StopReason::requested);
  serving.join();
  for (int fd : idle) ::close(fd);
  ::setrlimit(RLIMIT_NOFILE, &old);
}
