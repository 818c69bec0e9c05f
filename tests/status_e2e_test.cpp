// End-to-end: the built binary's `status` command, once and as an HTTP server
// (a child process on 127.0.0.1 port 0, asked with httplib's client), against
// heartbeat files in every state: fresh streaming, stale, stopped, missing,
// corrupt; then against a real stream from `bambu-stream simulate`. Also
// --check, which must validate without contacting anyone.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "heartbeat/heartbeat.h"
#include "support/child_process.h"
#include "support/cli_env.h"
#include "support/printing_status.h"
#include "support/temp_dir.h"
#include "support/wait.h"

using namespace std::chrono_literals;
using bambu::test::ChildOptions;
using bambu::test::ChildProcess;
using bambu::test::check_printing_benchy;
using bambu::test::k_cli_env_vars;
using bambu::test::TempDir;
using bambu::test::wait_until;
namespace fs = std::filesystem;
using std::chrono::system_clock;

namespace {

constexpr const char* k_binary = BAMBU_STREAM_BINARY;
constexpr const char* k_code = "31415926";
constexpr auto k_wait = 20s;

ChildProcess run(std::vector<std::string> args) {
  std::vector<std::string> argv = {k_binary};
  argv.insert(argv.end(), args.begin(), args.end());
  return ChildProcess(ChildOptions{argv, {}, k_cli_env_vars, true});
}

std::string stdout_text(const ChildProcess& c) {
  auto bytes = c.stdout_bytes();
  return std::string(bytes.begin(), bytes.end());
}

int port_from(const std::string& line) {
  auto pos = line.find("127.0.0.1:");
  REQUIRE(pos != std::string::npos);
  return std::stoi(line.substr(pos + 10));
}

void write_text(const fs::path& p, const std::string& text) {
  auto temp = p.string() + ".tmp";
  {
    std::ofstream out(temp, std::ios::binary);
    out << text;
  }
  fs::rename(temp, p);  // as the writer does: a reader never sees half a file
}

// A heartbeat in each state the status command tells apart, written as
// HeartbeatWriter writes them.
enum class Kind { fresh_streaming, stale, stopped, missing, corrupt };

const char* name(Kind k) {
  switch (k) {
    case Kind::fresh_streaming: return "fresh streaming";
    case Kind::stale: return "stale";
    case Kind::stopped: return "stopped";
    case Kind::missing: return "missing";
    case Kind::corrupt: return "corrupt";
  }
  return "?";
}

// Writes a heartbeat of `kind` at `p` (or removes it: missing). `age`: how
// long ago its updated_at is, for fresh_streaming and stopped (stale is
// always 10 minutes old): a test ages a heartbeat by its contents, as a
// reader judges it, never by waiting.
void make_heartbeat(const fs::path& p, Kind kind, std::chrono::milliseconds age = 0ms) {
  std::error_code ignored;
  fs::remove(p, ignored);
  if (kind == Kind::missing) return;
  if (kind == Kind::corrupt) {
    write_text(p, "{\"state\":\"streaming\",\"updated_at\":\"");  // cut short
    return;
  }
  bambu::StatusReport s;
  s.state = kind == Kind::stopped ? bambu::StreamState::stopped : bambu::StreamState::streaming;
  s.pid = 4242;
  s.source = "jpeg";
  s.host = "192.0.2.10";
  s.port = 6000;
  auto now = system_clock::now();
  s.started_at = now - 120s;
  // Fresh stays fresh for a minute, however slow the machine, under the --max-age 60 the server uses.
  s.updated_at = kind == Kind::stale ? now - 10min : now - age;
  s.frames = 77;
  s.dropped = 1;
  s.reconnects = 2;
  s.fps = 1.5;
  auto j = bambu::heartbeat_json(s);
  j["codec"] = "mjpeg";  // a field this version does not know
  write_text(p, j.dump());
}

// Writes at `p` a fresh streaming heartbeat of a stream run with --mqtt,
// as HeartbeatWriter writes it, printing benchy (set_printing_benchy()).
void make_printing_heartbeat(const fs::path& p) {
  bambu::StatusReport s;
  s.state = bambu::StreamState::streaming;
  s.source = "jpeg";
  s.host = "192.0.2.11";
  s.port = 6000;
  s.started_at = system_clock::now() - 120s;
  s.updated_at = system_clock::now();
  s.frames = 12;
  bambu::test::set_printing_benchy(s);
  write_text(p, bambu::heartbeat_json(s).dump());
}

// A TCP connection to 127.0.0.1:`port` (the test fails if it cannot be made).
int connect_loopback(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  REQUIRE(::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0);
  return fd;
}

// How many sockets process `pid` holds open (under qemu too: its
// descriptors are the emulated program's).
std::size_t socket_count(pid_t pid) {
  std::size_t n = 0;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec)) {
    std::error_code gone;  // a descriptor closed meanwhile
    if (fs::read_symlink(entry.path(), gone).string().starts_with("socket:")) ++n;
  }
  return n;
}

const Kind k_kinds[] = {Kind::fresh_streaming, Kind::stale, Kind::stopped, Kind::missing, Kind::corrupt};

// `status --listen 127.0.0.1:0` as a child process, and a client for it.
class StatusServer {
 public:
  explicit StatusServer(const fs::path& heartbeat, const std::string& max_age = "60",
                        std::vector<std::string> more = {})
      : StatusServer([&] {
          std::vector<std::string> args = {"--heartbeat", heartbeat.string(), "--max-age", max_age};
          args.insert(args.end(), more.begin(), more.end());
          return args;
        }()) {}
  // `status --listen 127.0.0.1:0 ARGS...`.
  explicit StatusServer(std::vector<std::string> more) {
    std::vector<std::string> args = {"status", "--listen", "127.0.0.1:0"};
    args.insert(args.end(), more.begin(), more.end());
    process_ = std::make_unique<ChildProcess>(run(args));
    auto line = process_->wait_for_stderr("listening on 127.0.0.1:", 10s);
    REQUIRE(line);
    port_ = port_from(*line);
    REQUIRE(port_ > 0);
  }
  httplib::Result get(const std::string& path) {
    httplib::Client client("127.0.0.1", port_);
    client.set_connection_timeout(5s);
    client.set_read_timeout(5s);
    return client.Get(path.c_str());
  }
  int port() const { return port_; }
  ChildProcess& process() { return *process_; }

 private:
  std::unique_ptr<ChildProcess> process_;
  int port_ = 0;
};

}  // namespace

TEST_CASE("status once: exit 0 and started only for a fresh streaming heartbeat, JSON alone on stdout") {
  TempDir dir("status");
  auto hb = dir.path / "hb.json";
  for (Kind kind : k_kinds) {
    INFO(name(kind));
    make_heartbeat(hb, kind);
    auto c = run({"status", "--heartbeat", hb.string()});
    auto code = c.wait_for_exit(k_wait);
    REQUIRE(code);
    std::string out = stdout_text(c);
    REQUIRE(!out.empty());
    CHECK(out.back() == '\n');
    CHECK(out.find('\n') == out.size() - 1);  // one line
    auto j = nlohmann::json::parse(out);
    std::string err = c.stderr_text();
    if (kind == Kind::fresh_streaming) {
      CHECK(*code == 0);
      CHECK(j["started"] == true);
      CHECK(j["reason"].is_null());
      CHECK(j["frames"] == 77);
      CHECK(j["codec"] == "mjpeg");
      CHECK(err.empty());
    } else {
      CHECK(*code == 1);
      CHECK(j["started"] == false);
      CHECK(j["reason"].is_string());
      // One line on stderr, the reason.
      CHECK_THAT(err, Catch::StartsWith("status: not started: ") && Catch::EndsWith("\n"));
      CHECK(err.find('\n') == err.size() - 1);
    }
    if (kind == Kind::stale) CHECK_THAT(err, Catch::Contains("is stale"));
    if (kind == Kind::stopped) CHECK_THAT(err, Catch::Contains("state is stopped"));
    if (kind == Kind::missing) CHECK_THAT(err, Catch::Contains("does not exist"));
    if (kind == Kind::corrupt) CHECK_THAT(err, Catch::Contains("is not valid JSON"));
  }
}

TEST_CASE("status once: --max-age, BAMBU_HEARTBEAT, -q, and usage errors exit 2") {
  TempDir dir("status");
  auto hb = dir.path / "hb.json";
  make_heartbeat(hb, Kind::fresh_streaming, 1s);  // within the default --max-age 5, not within 0.1
  auto strict = run({"status", "--heartbeat", hb.string(), "--max-age", "0.1"});
  CHECK(strict.wait_for_exit(k_wait) == 1);
  CHECK_THAT(strict.stderr_text(), Catch::Contains("is stale"));

  ChildProcess from_env(ChildOptions{{k_binary, "status"}, {{"BAMBU_HEARTBEAT", hb.string()}}, k_cli_env_vars, true});
  CHECK(from_env.wait_for_exit(k_wait) == 0);

  make_heartbeat(hb, Kind::stopped);
  auto quiet = run({"status", "--heartbeat", hb.string(), "-q"});
  CHECK(quiet.wait_for_exit(k_wait) == 1);
  CHECK(quiet.stderr_text().empty());
  CHECK_FALSE(stdout_text(quiet).empty());  // -q quiets stderr, never the answer

  auto usage = run({"status"});
  CHECK(usage.wait_for_exit(k_wait) == 2);
  CHECK_THAT(usage.stderr_text(), Catch::StartsWith("error: no heartbeat file given"));
  CHECK(usage.stdout_size() == 0);
}

TEST_CASE("status server: every endpoint in every heartbeat state, reading the file on each request") {
  TempDir dir("status");
  auto hb = dir.path / "hb.json";
  StatusServer server(hb);
  for (Kind kind : k_kinds) {
    INFO(name(kind));
    make_heartbeat(hb, kind);
    bool started = kind == Kind::fresh_streaming;

    auto res = server.get("/stream_started");
    REQUIRE(res);
    CHECK(res->status == 200);
    CHECK(res->get_header_value("Content-Type") == "application/json");
    CHECK(res->body == (started ? "{\"started\":true}\n" : "{\"started\":false}\n"));
    CHECK(res->get_header_value("Cache-Control") == "no-store");
    CHECK(res->get_header_value("Access-Control-Allow-Origin") == "*");

    res = server.get("/health");
    REQUIRE(res);
    CHECK(res->status == 200);
    CHECK(res->get_header_value("Content-Type") == "application/json");
    CHECK(res->body == "{\"ok\":true}\n");

    res = server.get("/status");
    REQUIRE(res);
    CHECK(res->status == 200);
    CHECK(res->get_header_value("Content-Type") == "application/json");
    auto j = nlohmann::json::parse(res->body);
    CHECK(j["started"] == started);
    if (started) {
      CHECK(j["state"] == "streaming");
      CHECK(j["codec"] == "mjpeg");
      CHECK(j["reason"].is_null());
    } else {
      CHECK(j["reason"].is_string());
    }

    res = server.get("/metrics");
    REQUIRE(res);
    CHECK(res->status == 200);
    CHECK(res->get_header_value("Content-Type") == "text/plain; version=0.0.4");
    CHECK_THAT(res->body, Catch::Contains(started ? "\nbambu_stream_up 1\n" : "\nbambu_stream_up 0\n") &&
                              Catch::EndsWith("\n"));
    bool has_counts = kind == Kind::fresh_streaming || kind == Kind::stale || kind == Kind::stopped;
    CHECK((res->body.find("\nbambu_stream_frames_total 77\n") != std::string::npos) == has_counts);
    CHECK((res->body.find("\nbambu_stream_reconnects_total 2\n") != std::string::npos) == has_counts);
    CHECK((res->body.find("\nbambu_stream_dropped_frames_total 1\n") != std::string::npos) == has_counts);
    CHECK((res->body.find("\nbambu_stream_fps 1.5\n") != std::string::npos) == has_counts);
  }
  for (const char* path : {"/nope", "/index.html", "/farm/", "/status/", "/stream_started.json", "/metrics/x"}) {
    INFO(path);
    auto res = server.get(path);
    REQUIRE(res);
    CHECK(res->status == 404);
  }
  httplib::Client client("127.0.0.1", server.port());
  auto post = client.Post("/status", "{}", "application/json");
  REQUIRE(post);
  CHECK(post->status == 404);
  CHECK(server.process().stderr_text().find("error") == std::string::npos);
}

namespace {

// Every "http://" or "https://" in `text`, with what follows it up to a
// quote, a blank, a ')' or the end of the line.
std::vector<std::string> absolute_urls(const std::string& text) {
  std::vector<std::string> urls;
  for (const char* scheme : {"http://", "https://"}) {
    for (auto at = text.find(scheme); at != std::string::npos; at = text.find(scheme, at + 1)) {
      urls.push_back(text.substr(at, text.find_first_of("\"' <)\n", at) - at));
    }
  }
  return urls;
}

}  // namespace

TEST_CASE("status server: GET / is the self-contained farm page, GET /farm its JSON") {
  TempDir dir("status");
  auto hb = dir.path / "printer-1.json";
  make_heartbeat(hb, Kind::fresh_streaming);
  StatusServer server(hb, "60", {"--go2rtc-url", "http://192.0.2.7:1984/"});

  auto page = server.get("/");
  REQUIRE(page);
  CHECK(page->status == 200);
  CHECK(page->get_header_value("Content-Type") == "text/html; charset=utf-8");
  CHECK(page->get_header_value("Cache-Control") == "no-store");  // a new binary's page at once
  CHECK(page->get_header_value("X-Content-Type-Options") == "nosniff");
  const std::string policy = page->get_header_value("Content-Security-Policy");
  CHECK_THAT(policy, Catch::StartsWith("default-src 'none'; script-src 'sha256-") &&
                         Catch::Contains("; style-src 'sha256-") && Catch::Contains("; img-src 'self' data:; ") &&
                         Catch::Contains("connect-src 'self'"));
  const std::string& html = page->body;
  CHECK_THAT(html, Catch::StartsWith("<!doctype html>\n") && Catch::EndsWith("</html>\n"));
  // Self-contained: no absolute URL at all (go2rtc's address comes through
  // /farm), no protocol-relative one, no file of its own to fetch but /farm
  // and the snapshots.
  CHECK(absolute_urls(html).empty());
  for (const char* external : {"src=\"//", "href=\"//", "url(", "@import", "<link rel=\"stylesheet",
                               "<script src", "<iframe"}) {
    INFO(external);
    CHECK(html.find(external) == std::string::npos);
  }
  CHECK(html.find("<script>") != std::string::npos);
  CHECK(html.find("innerHTML") == std::string::npos);  // heartbeat text goes in as text only
  auto head = httplib::Client("127.0.0.1", server.port()).Head("/");
  REQUIRE(head);
  CHECK(head->status == 200);

  auto farm = server.get("/farm");
  REQUIRE(farm);
  CHECK(farm->status == 200);
  CHECK(farm->get_header_value("Content-Type") == "application/json");
  auto j = nlohmann::json::parse(farm->body);
  CHECK(j["go2rtc_url"] == "http://192.0.2.7:1984");  // its trailing '/' dropped
  CHECK(j["max_age"] == 60);
  CHECK(j["folder"] == false);
  REQUIRE(j["printers"].size() == 1);
  CHECK(j["printers"][0]["name"] == "printer-1");  // the heartbeat's file name
  CHECK(j["printers"][0]["status"]["state"] == "streaming");
  CHECK(j["printers"][0]["status"]["started"] == true);
  CHECK(j["printers"][0]["status"]["frames"] == 77);
  for (const auto& url : absolute_urls(farm->body)) CHECK_THAT(url, Catch::StartsWith("http://192.0.2.7:1984"));

  StatusServer plain(hb);  // no --go2rtc-url: no links
  auto without = plain.get("/farm");
  REQUIRE(without);
  CHECK(nlohmann::json::parse(without->body)["go2rtc_url"].is_null());
}

TEST_CASE("status with --mqtt heartbeats: print state in status once, /status, /printers, /metrics and /farm") {
  TempDir dir("status");
  make_printing_heartbeat(dir.path / "p1.json");
  make_heartbeat(dir.path / "p2.json", Kind::fresh_streaming);  // a stream without --mqtt

  auto once = run({"status", "--heartbeat", (dir.path / "p1.json").string()});
  REQUIRE(once.wait_for_exit(k_wait) == 0);
  auto printed = nlohmann::json::parse(stdout_text(once));
  CHECK(printed["started"] == true);
  check_printing_benchy(printed);

  StatusServer server({"--heartbeat-dir", dir.path.string(), "--max-age", "60"});
  auto res = server.get("/printers/p1/status");
  REQUIRE(res);
  check_printing_benchy(nlohmann::json::parse(res->body));
  res = server.get("/status");
  REQUIRE(res);
  auto all = nlohmann::json::parse(res->body);
  check_printing_benchy(all["printers"]["p1"]);
  CHECK_FALSE(all["printers"]["p2"].contains("print_state"));
  CHECK_FALSE(all["printers"]["p2"].contains("mqtt"));

  res = server.get("/printers/p1/metrics");
  REQUIRE(res);
  CHECK_THAT(res->body, Catch::Contains("\nbambu_print_state{printer=\"p1\",state=\"RUNNING\"} 1\n") &&
                            Catch::Contains("\nbambu_print_remaining_seconds{printer=\"p1\"} 3720\n"));
  res = server.get("/metrics");
  REQUIRE(res);
  const std::string& metrics = res->body;
  for (const char* line : {"bambu_print_state{printer=\"p1\",state=\"RUNNING\"} 1", "bambu_print_percent{printer=\"p1\"} 42",
                           "bambu_print_layer{printer=\"p1\"} 7", "bambu_print_layers_total{printer=\"p1\"} 100",
                           "bambu_print_remaining_seconds{printer=\"p1\"} 3720", "bambu_chamber_light{printer=\"p1\"} 1",
                           "bambu_mqtt_connected{printer=\"p1\"} 1"}) {
    INFO(line);
    CHECK_THAT(metrics, Catch::Contains(std::string("\n") + line + "\n"));
  }
  CHECK_THAT(metrics, Catch::Contains("\nbambu_stream_up{printer=\"p2\"} 1\n"));
  CHECK(metrics.substr(metrics.find("# HELP bambu_print_state")).find("\"p2\"") == std::string::npos);

  res = server.get("/farm");
  REQUIRE(res);
  auto farm = nlohmann::json::parse(res->body);
  REQUIRE(farm["printers"].size() == 2);
  CHECK(farm["printers"][0]["name"] == "p1");
  check_printing_benchy(farm["printers"][0]["status"]);
  CHECK_FALSE(farm["printers"][1]["status"].contains("print_state"));
}

TEST_CASE("status server: SIGTERM exits 0 within 1 s, also after serving requests") {
  TempDir dir("status");
  auto hb = dir.path / "hb.json";
  make_heartbeat(hb, Kind::fresh_streaming);
  StatusServer server(hb);
  REQUIRE(server.get("/status"));
  server.process().signal(SIGTERM);
  auto sent_at = std::chrono::steady_clock::now();
  REQUIRE(server.process().wait_for_exit(k_wait) == 0);
  CHECK(std::chrono::duration<double>(*server.process().exited_at() - sent_at).count() < 1.0);
  CHECK(server.process().stdout_size() == 0);
}

TEST_CASE("status server: SIGTERM right after start still stops it") {
  TempDir dir("status");
  for (int i = 0; i < 5; ++i) {
    StatusServer server(dir.path / "hb.json");
    server.process().signal(SIGTERM);
    CHECK(server.process().wait_for_exit(k_wait) == 0);
  }
}

TEST_CASE("status server: an idle client connection delays SIGTERM by at most the 2 s read timeout") {
  TempDir dir("status");
  StatusServer server(dir.path / "hb.json");
  // Connect and send nothing, like a stuck client; SIGTERM once the server
  // holds the connection (its socket in the server's descriptors), so that
  // a worker waits on it.
  const std::size_t sockets = socket_count(server.process().pid());
  const int fd = connect_loopback(server.port());
  REQUIRE(wait_until([&] { return socket_count(server.process().pid()) > sockets; }, k_wait));
  server.process().signal(SIGTERM);
  auto sent_at = std::chrono::steady_clock::now();
  CHECK(server.process().wait_for_exit(k_wait) == 0);
  CHECK(std::chrono::duration<double>(*server.process().exited_at() - sent_at).count() < 3.5);
  ::close(fd);
}

TEST_CASE("status server: an address in use is exit 2 with the reason first") {
  TempDir dir("status");
  StatusServer first(dir.path / "hb.json");
  auto second = run({"status", "--heartbeat", (dir.path / "hb.json").string(), "--listen",
                     "127.0.0.1:" + std::to_string(first.port())});
  REQUIRE(second.wait_for_exit(k_wait) == 2);
  CHECK_THAT(second.stderr_text(), Catch::StartsWith("error: cannot listen on 127.0.0.1:"));
}

TEST_CASE("status against a real stream: started while it streams, no access code served, stopped after SIGTERM") {
  TempDir dir("status");
  auto hb = dir.path / "hb.json";
  auto sim = run({"simulate", "--listen", "127.0.0.1:0", "--access-code", k_code, "--fps", "10"});
  auto line = sim.wait_for_stderr("listening on 127.0.0.1:", 10s);
  REQUIRE(line);
  auto port = std::to_string(port_from(*line));
  auto stream = run({"--host", "127.0.0.1", "--port", port, "--source", "jpeg", "--access-code", k_code,
                      "--heartbeat", hb.string()});
  REQUIRE(stream.wait_for_stdout(100000, k_wait));
  StatusServer server(hb, "5");

  auto once = run({"status", "--heartbeat", hb.string()});
  REQUIRE(once.wait_for_exit(k_wait) == 0);
  auto j = nlohmann::json::parse(stdout_text(once));
  CHECK(j["started"] == true);
  CHECK(j["source"] == "jpeg");
  CHECK(j["state"] == "streaming");  // frames may still read 0: the file is rewritten once a second
  auto res = server.get("/stream_started");
  REQUIRE(res);
  CHECK(res->body == "{\"started\":true}\n");
  // Secrets: nothing served, nor the file it is served from, holds the access code.
  for (const std::string path : {"/status", "/metrics"}) {
    INFO(path);
    auto served = server.get(path);
    REQUIRE(served);
    CHECK(served->status == 200);
    CHECK(served->body.find(k_code) == std::string::npos);
  }
  CHECK(stdout_text(once).find(k_code) == std::string::npos);

  stream.signal(SIGTERM);
  REQUIRE(stream.wait_for_exit(k_wait) == 0);
  auto after = run({"status", "--heartbeat", hb.string()});
  REQUIRE(after.wait_for_exit(k_wait) == 1);
  CHECK_THAT(after.stderr_text(), Catch::Contains("not streaming: state is stopped"));
  res = server.get("/stream_started");
  REQUIRE(res);
  CHECK(res->body == "{\"started\":false}\n");
  sim.signal(SIGTERM);
  CHECK(sim.wait_for_exit(k_wait) == 0);
}

TEST_CASE("option --check: exit 0 without contacting the printer, one line on stderr, nothing on stdout") {
  auto sim = run({"simulate", "--listen", "127.0.0.1:0", "--access-code", k_code, "-v"});
  auto line = sim.wait_for_stderr("listening on 127.0.0.1:", 10s);
  REQUIRE(line);
  auto port = std::to_string(port_from(*line));
  auto c = run({"--check", "--host", "127.0.0.1", "--port", port, "--access-code", k_code, "--serial",
                "01P00A000000001", "--heartbeat", "/nonexistent/dir/hb.json"});
  REQUIRE(c.wait_for_exit(k_wait) == 0);
  CHECK(c.stdout_size() == 0);
  CHECK(c.stderr_text() == "check: ok: 127.0.0.1:" + port +
                               ", source auto: serial prefix 01P is model P1S, so jpeg (TLS, JPEG frames); "
                               "nothing was contacted\n");
  // -v logs every session as the simulator accepts it, in the order of
  // connection: one made now is session 1 unless --check made one first.
  ::close(connect_loopback(std::stoi(port)));
  REQUIRE(sim.wait_for_stderr("TCP connection accepted", k_wait));
  CHECK_THAT(sim.stderr_text(), Catch::Contains("session 1: TCP connection accepted"));
  CHECK(sim.stderr_text().find("session 2") == std::string::npos);
  CHECK_FALSE(fs::exists("/nonexistent/dir/hb.json"));
  sim.signal(SIGTERM);
  CHECK(sim.wait_for_exit(k_wait) == 0);
}

TEST_CASE("option --check: --wallclock-timestamps alone is named as what chose rtsps, no other option") {
  auto c = run({"--check", "--host", "127.0.0.1", "--access-code", k_code, "--wallclock-timestamps"});
  REQUIRE(c.wait_for_exit(k_wait) == 0);
  CHECK(c.stdout_size() == 0);
  CHECK(c.stderr_text() == "check: ok: 127.0.0.1:322, source auto: --wallclock-timestamps means rtsps (RTSP over "
                           "TLS, H.264); nothing was contacted\n");
}

TEST_CASE("option --check: bad configurations exit 2 with the reason first, -q is silent, the code never shows") {
  TempDir dir("check");
  auto bad = run({"--check", "--host", "192.0.2.10", "--access-code", k_code, "--ca-file",
                  (dir.path / "missing.pem").string()});
  REQUIRE(bad.wait_for_exit(k_wait) == 2);
  CHECK_THAT(bad.stderr_text(), Catch::StartsWith("error: cannot load --ca-file"));

  auto no_code = run({"--check", "--host", "192.0.2.10"});
  REQUIRE(no_code.wait_for_exit(k_wait) == 2);
  CHECK_THAT(no_code.stderr_text(), Catch::StartsWith("error: no access code given"));

  auto quiet = run({"--check", "-q", "--host", "192.0.2.10", "--access-code", k_code});
  REQUIRE(quiet.wait_for_exit(k_wait) == 0);
  CHECK(quiet.stderr_text().empty());

  auto verbose = run({"--check", "-v", "--host", "192.0.2.10", "--access-code", k_code, "--source", "jpeg"});
  REQUIRE(verbose.wait_for_exit(k_wait) == 0);
  CHECK(verbose.stderr_text().find(k_code) == std::string::npos);
}
