// go2rtc's count of a stream's viewers (src/go2rtc): count_viewers on go2rtc
// 1.9.14's real answers, the --go2rtc-stream URL's forms, ViewerWatch against
// scripted HTTP peers (refused, silent, 404, oversized, not JSON) and against
// the real go2rtc with a preloaded stream of our own binary (--demo).
//
// The fixtures below are go2rtc 1.9.14's answers to GET
// /api/streams?src=NAME, byte for byte, from ../shared/tools/go2rtc-1.9.14
// run by go2rtc-loopback with `streams: {printer: exec:SCRIPT, other:
// exec:SCRIPT}` and `preload: {printer: video}`, SCRIPT writing
// camera-720p's JPEGs to stdout. The preload's consumer is the one with
// "format_name": "preload" (internal/streams/preload.go, probe.Create
// ("preload", query)). An unknown name answers 404 with a body of "\n".
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/log.h"
#include "core/stop_flag.h"
#include "config/go2rtc_stream_url.h"
#include "go2rtc/viewer_count.h"
#include "support/captured_log.h"
#include "support/child_process.h"
#include "support/e2e.h"
#include "support/go2rtc.h"
#include "support/ports.h"
#include "support/wait.h"

namespace {

using namespace bambu;
using namespace bambu::test;
using namespace std::chrono_literals;

// `printer`, preloaded, nobody watching.
const std::string k_preload_only = R"json({
  "producers": [
    {
      "id": 2,
      "format_name": "mjpeg",
      "protocol": "pipe",
      "source": "exec:/tmp/hg-exp/producer.sh",
      "medias": [
        "video, recvonly, JPEG"
      ],
      "receivers": [
        {
          "id": 3,
          "codec": {
            "codec_name": "mjpeg",
            "codec_type": "video"
          },
          "childs": [
            4
          ],
          "bytes": 12358776,
          "packets": 226
        }
      ],
      "bytes_recv": 12358776
    }
  ],
  "consumers": [
    {
      "id": 1,
      "format_name": "preload",
      "medias": [
        "video, sendonly, ANY"
      ],
      "senders": [
        {
          "id": 4,
          "codec": {
            "codec_name": "mjpeg",
            "codec_type": "video"
          },
          "parent": 3,
          "bytes": 12358776,
          "packets": 226
        }
      ],
      "bytes_send": 12358776
    }
  ]
}
)json";

// `printer` with one viewer of /api/stream.mjpeg?src=printer (curl).
const std::string k_preload_and_mjpeg = R"json({
  "producers": [
    {
      "id": 2,
      "format_name": "mjpeg",
      "protocol": "pipe",
      "source": "exec:/tmp/hg-exp/producer.sh",
      "medias": [
        "video, recvonly, JPEG"
      ],
      "receivers": [
        {
          "id": 3,
          "codec": {
            "codec_name": "mjpeg",
            "codec_type": "video"
          },
          "childs": [
            4,
            8
          ],
          "bytes": 1695520,
          "packets": 31
        }
      ],
      "bytes_recv": 1695520
    }
  ],
  "consumers": [
    {
      "id": 1,
      "format_name": "preload",
      "medias": [
        "video, sendonly, ANY"
      ],
      "senders": [
        {
          "id": 4,
          "codec": {
            "codec_name": "mjpeg",
            "codec_type": "video"
          },
          "parent": 3,
          "bytes": 1695520,
          "packets": 31
        }
      ],
      "bytes_send": 1695520
    },
    {
      "id": 7,
      "format_name": "mjpeg",
      "protocol": "http",
      "remote_addr": "127.0.0.1:57858",
      "user_agent": "curl/7.88.1",
      "medias": [
        "video, sendonly, JPEG, RAW"
      ],
      "senders": [
        {
          "id": 8,
          "codec": {
            "codec_name": "mjpeg",
            "codec_type": "video"
          },
          "parent": 3,
          "bytes": 491286,
          "packets": 9
        }
      ],
      "bytes_send": 491286
    }
  ]
}
)json";

// `printer` with one RTSP client (ffmpeg, RTP over TCP) instead.
const std::string k_preload_and_rtsp = R"json({
  "producers": [
    {
      "id": 2,
      "format_name": "mjpeg",
      "protocol": "pipe",
      "source": "exec:/tmp/hg-exp/producer.sh",
      "medias": [
        "video, recvonly, JPEG"
      ],
      "receivers": [
        {
          "id": 3,
          "codec": {
            "codec_name": "mjpeg",
            "codec_type": "video"
          },
          "childs": [
            4,
            18
          ],
          "bytes": 6342994,
          "packets": 116
        }
      ],
      "bytes_recv": 6342994
    }
  ],
  "consumers": [
    {
      "id": 1,
      "format_name": "preload",
      "medias": [
        "video, sendonly, ANY"
      ],
      "senders": [
        {
          "id": 4,
          "codec": {
            "codec_name": "mjpeg",
            "codec_type": "video"
          },
          "parent": 3,
          "bytes": 6342994,
          "packets": 116
        }
      ],
      "bytes_send": 6342994
    },
    {
      "id": 17,
      "format_name": "rtsp",
      "protocol": "rtsp+tcp",
      "remote_addr": "127.0.0.1:34186",
      "sdp": "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=go2rtc/1.9.14+dev.b5948cf.dirty\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\nm=video 0 RTP/AVP 96\r\na=rtpmap:96 JPEG/90000\r\na=recvonly\r\na=control:trackID=0\r\n",
      "user_agent": "Lavf59.27.100",
      "medias": [
        "audio, sendonly, ANY",
        "video, sendonly, ANY"
      ],
      "senders": [
        {
          "id": 18,
          "codec": {
            "codec_name": "mjpeg",
            "codec_type": "video"
          },
          "parent": 3,
          "bytes": 656567,
          "packets": 12
        }
      ]
    }
  ]
}
)json";

// `printer` after the MJPEG viewer left.
const std::string k_preload_viewer_left = R"json({
  "producers": [
    {
      "id": 2,
      "format_name": "mjpeg",
      "protocol": "pipe",
      "source": "exec:/tmp/hg-exp/producer.sh",
      "medias": [
        "video, recvonly, JPEG"
      ],
      "receivers": [
        {
          "id": 3,
          "codec": {
            "codec_name": "mjpeg",
            "codec_type": "video"
          },
          "childs": [
            4
          ],
          "bytes": 2077601,
          "packets": 38
        }
      ],
      "bytes_recv": 2077601
    }
  ],
  "consumers": [
    {
      "id": 1,
      "format_name": "preload",
      "medias": [
        "video, sendonly, ANY"
      ],
      "senders": [
        {
          "id": 4,
          "codec": {
            "codec_name": "mjpeg",
            "codec_type": "video"
          },
          "parent": 3,
          "bytes": 2077601,
          "packets": 38
        }
      ],
      "bytes_send": 2077601
    }
  ]
}
)json";

// `other`, not preloaded, before anyone asked for it: "consumers" is null.
const std::string k_never_consumed = R"json({
  "producers": [
    {
      "url": "exec:/tmp/hg-exp/producer.sh#killsignal=15#killtimeout=5"
    }
  ],
  "consumers": null
}
)json";

// `other` with one MJPEG viewer.
const std::string k_one_viewer_no_preload = R"json({
  "producers": [
    {
      "id": 12,
      "format_name": "mjpeg",
      "protocol": "pipe",
      "source": "exec:/tmp/hg-exp/producer.sh",
      "medias": [
        "video, recvonly, JPEG"
      ],
      "receivers": [
        {
          "id": 13,
          "codec": {
            "codec_name": "mjpeg",
            "codec_type": "video"
          },
          "childs": [
            14
          ],
          "bytes": 657490,
          "packets": 12
        }
      ],
      "bytes_recv": 657490
    }
  ],
  "consumers": [
    {
      "id": 11,
      "format_name": "mjpeg",
      "protocol": "http",
      "remote_addr": "127.0.0.1:49738",
      "user_agent": "curl/7.88.1",
      "medias": [
        "video, sendonly, JPEG, RAW"
      ],
      "senders": [
        {
          "id": 14,
          "codec": {
            "codec_name": "mjpeg",
            "codec_type": "video"
          },
          "parent": 13,
          "bytes": 657490,
          "packets": 12
        }
      ],
      "bytes_send": 657490
    }
  ]
}
)json";

// `other` after that viewer left: "consumers" is [] (its producer stopped).
const std::string k_no_preload_viewer_left = R"json({
  "producers": [
    {
      "url": "exec:/tmp/hg-exp/producer.sh#killsignal=15#killtimeout=5"
    }
  ],
  "consumers": []
}
)json";

// GET /api/streams?src= (empty): every stream by name, not one stream's answer.
const std::string k_every_stream = R"json({"other":{"producers":[{"url":"exec:/tmp/hg-exp/producer.sh#killsignal=15#killtimeout=5"}],"consumers":null},"printer":{"producers":[{"id":2,"format_name":"mjpeg","protocol":"pipe","source":"exec:/tmp/hg-exp/producer.sh","medias":["video, recvonly, JPEG"],"receivers":[{"id":3,"codec":{"codec_name":"mjpeg","codec_type":"video"},"childs":[4],"bytes":492013,"packets":9}],"bytes_recv":492013}],"consumers":[{"id":1,"format_name":"preload","medias":["video, sendonly, ANY"],"senders":[{"id":4,"codec":{"codec_name":"mjpeg","codec_type":"video"},"parent":3,"bytes":492013,"packets":9}],"bytes_send":492013}]}}
)json";

// A sequence of counts ViewerWatch reported, from its thread.
struct Changes {
  mutable std::mutex mutex;
  std::vector<std::optional<int>> seen;
  ViewerWatch::OnChange callback() {
    return [this](std::optional<int> viewers) {
      std::lock_guard lock(mutex);
      seen.push_back(viewers);
    };
  }
  std::vector<std::optional<int>> get() const {
    std::lock_guard lock(mutex);
    return seen;
  }
};

Go2rtcStreamUrl url_of(const std::string& text) {
  std::string why;
  auto url = parse_go2rtc_stream_url(text, why);
  INFO(why);
  REQUIRE(url);
  return *url;
}

Go2rtcStreamUrl local_url(std::uint16_t port, const std::string& name = "printer") {
  return url_of("http://127.0.0.1:" + std::to_string(port) + "/api/streams?src=" + name);
}

std::string refusal(std::string_view text) {
  std::string why;
  const auto url = parse_go2rtc_stream_url(text, why);
  CHECK_FALSE(url);
  return why;
}

std::size_t count_of(const std::string& text, const std::string& word) {
  std::size_t n = 0;
  for (auto at = text.find(word); at != std::string::npos; at = text.find(word, at + word.size())) ++n;
  return n;
}

// An HTTP peer on 127.0.0.1 that answers every request with `answer` (the
// whole response as given) once the request's head has arrived, then
// closes; it records each head. One thread, stopped by the destructor.
class CannedHttp {
 public:
  explicit CannedHttp(std::string answer) : answer_(std::move(answer)) { thread_ = std::thread([this] { serve(); }); }
  ~CannedHttp() {
    stop_.request_stop(StopReason::requested);
    thread_.join();
  }
  std::uint16_t port() const { return port_.port(); }
  std::vector<std::string> requests() const {
    std::lock_guard lock(mutex_);
    return requests_;
  }
  /// The answer to every request from now on.
  void set_answer(std::string answer) {
    std::lock_guard lock(mutex_);
    answer_ = std::move(answer);
  }

 private:
  void serve() {
    for (;;) {
      pollfd fds[2] = {{port_.fd(), POLLIN, 0}, {stop_.fd(), POLLIN, 0}};
      if (::poll(fds, 2, -1) < 0 || fds[1].revents != 0) return;
      const int fd = ::accept4(port_.fd(), nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      const std::string head = read_head(fd);
      std::string answer;
      {
        std::lock_guard lock(mutex_);
        requests_.push_back(head);
        answer = answer_;
      }
      // The client may close early (an answer over its limit): MSG_NOSIGNAL.
      for (std::size_t sent = 0; sent < answer.size();) {
        const ssize_t n = ::send(fd, answer.data() + sent, answer.size() - sent, MSG_NOSIGNAL);
        if (n <= 0) break;
        sent += static_cast<std::size_t>(n);
      }
      ::close(fd);
    }
  }
  static std::string read_head(int fd) {
    std::string head;
    char buf[4096];
    while (head.find("\r\n\r\n") == std::string::npos) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 2000) != 1) break;
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      head.append(buf, static_cast<std::size_t>(n));
    }
    return head;
  }

  LoopbackPort port_{true};
  StopFlag stop_;
  mutable std::mutex mutex_;  // guards answer_ and requests_
  std::string answer_;
  std::vector<std::string> requests_;
  std::thread thread_;
};

std::string http_answer(const std::string& status, const std::string& body) {
  return "HTTP/1.1 " + status + "\r\nContent-Type: application/json\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

// The count a watch of `url` reports first, and the log it wrote.
std::pair<std::optional<int>, std::string> first_report(const Go2rtcStreamUrl& url, std::chrono::milliseconds limit = 5s) {
  CapturedLog captured(LogLevel::info);
  StopFlag stop;
  Changes changes;
  ViewerWatch watch(url, captured.log, stop, changes.callback());
  REQUIRE(wait_until([&] { return !changes.get().empty(); }, limit));
  return {changes.get().front(), captured.text()};
}

}  // namespace

TEST_CASE("count_viewers: go2rtc 1.9.14's real answers, its preload left out") {
  CHECK(count_viewers(k_preload_only) == 0);
  CHECK(count_viewers(k_preload_and_mjpeg) == 1);
  CHECK(count_viewers(k_preload_and_rtsp) == 1);
  CHECK(count_viewers(k_preload_viewer_left) == 0);
  CHECK(count_viewers(k_never_consumed) == 0);
  CHECK(count_viewers(k_one_viewer_no_preload) == 1);
  CHECK(count_viewers(k_no_preload_viewer_left) == 0);
}

TEST_CASE("count_viewers: a consumer without a format_name counts, and so does every other kind") {
  CHECK(count_viewers(R"({"producers":null,"consumers":[{"id":1},{"format_name":"mse"},{"format_name":7}]})") == 3);
  CHECK(count_viewers(R"({"producers":[],"consumers":[{"format_name":"preload"},{"format_name":"webrtc"}]})") == 1);
}

TEST_CASE("count_viewers: anything but one stream's answer is nullopt") {
  CHECK_FALSE(count_viewers("\n"));  // go2rtc's 404 body for an unknown name
  CHECK_FALSE(count_viewers(k_every_stream));
  CHECK_FALSE(count_viewers(""));
  CHECK_FALSE(count_viewers("[]"));
  CHECK_FALSE(count_viewers("null"));
  CHECK_FALSE(count_viewers(R"({"consumers":[]})"));
  CHECK_FALSE(count_viewers(R"({"producers":[]})"));
  CHECK_FALSE(count_viewers(R"({"producers":[],"consumers":"preload"})"));
  CHECK_FALSE(count_viewers(R"({"producers":{},"consumers":[]})"));
  CHECK_FALSE(count_viewers(R"({"producers":[],"consumers":[1]})"));
  CHECK_FALSE(count_viewers(k_preload_and_mjpeg.substr(0, k_preload_and_mjpeg.size() / 2)));
}

TEST_CASE("count_viewers: over 1 MiB or nested deeper than 16 levels is nullopt, never parsed whole") {
  // Valid JSON of one viewer, padded past the limit with blanks.
  std::string padded = k_preload_and_mjpeg;
  CHECK(count_viewers(padded) == 1);
  padded.resize(k_max_go2rtc_answer, ' ');
  CHECK(count_viewers(padded) == 1);
  padded.push_back(' ');
  CHECK_FALSE(count_viewers(padded));
  const std::string deep_inside = R"({"producers":[],"consumers":[{"x":)" + std::string(20, '[') + std::string(20, ']') + "}]}";
  CHECK_FALSE(count_viewers(deep_inside));
  CHECK_FALSE(count_viewers(std::string(500000, '[') + std::string(500000, ']')));
  const std::string deep_enough = R"({"producers":[],"consumers":[{"x":)" + std::string(12, '[') + std::string(12, ']') + "}]}";
  CHECK(count_viewers(deep_enough) == 1);
}

TEST_CASE("parse_go2rtc_stream_url: host, port (80 by default) and target of each accepted form") {
  auto url = url_of("http://127.0.0.1:1984/api/streams?src=printer");
  CHECK(url.host == "127.0.0.1");
  CHECK(url.port == 1984);
  CHECK(url.target == "/api/streams?src=printer");
  CHECK(to_string(url) == "http://127.0.0.1:1984/api/streams?src=printer");
  url = url_of("HTTP://go2rtc/api/streams?src=p1s&x=%20y");
  CHECK(url.host == "go2rtc");
  CHECK(url.port == 80);
  CHECK(url.target == "/api/streams?src=p1s&x=%20y");
  url = url_of("http://[::1]:65535/api/streams?src=x1c");
  CHECK(url.host == "::1");
  CHECK(url.port == 65535);
  CHECK(to_string(url) == "http://[::1]:65535/api/streams?src=x1c");
  url = url_of("http://homeassistant.local-2:1/a?b");
  CHECK(url.host == "homeassistant.local-2");
  CHECK(url.port == 1);
  CHECK(url.target == "/a?b");
}

TEST_CASE("parse_go2rtc_stream_url: each refused form gives one line naming the option, never the URL") {
  const std::vector<std::pair<std::string, std::string>> refused = {
      {"https://127.0.0.1:1984/api/streams?src=p", "https is not supported"},
      {"rtsp://127.0.0.1:8554/p", "only http:// URLs"},
      {"127.0.0.1:1984/api/streams?src=p", "only http:// URLs"},
      {"", "only http:// URLs"},
      {"http://user:s3cret@127.0.0.1:1984/api/streams?src=p", "user name or password"},
      {"http:///api/streams?src=p", "names no host"},
      {"http://:1984/api/streams?src=p", "names no host"},
      {"http://bad_host/api/streams?src=p", "neither a name nor an IP address"},
      {"http://a..b/api/streams?src=p", "neither a name nor an IP address"},
      {"http://[::1/api/streams?src=p", "closing ']'"},
      {"http://[nope]:1984/api/streams?src=p", "not an IPv6 address"},
      {"http://[::1]x/api/streams?src=p", "only ':PORT' may follow"},
      {"http://127.0.0.1:0/api/streams?src=p", "1 to 65535"},
      {"http://127.0.0.1:65536/api/streams?src=p", "1 to 65535"},
      {"http://127.0.0.1:/api/streams?src=p", "1 to 65535"},
      {"http://127.0.0.1:19a4/api/streams?src=p", "1 to 65535"},
      {"http://127.0.0.1:1984", "needs a path"},
      {"http://127.0.0.1:1984?src=p", "needs a path"},
      {"http://127.0.0.1:1984/api/streams", "needs the stream's query"},
      {"http://127.0.0.1:1984/api/streams?", "needs the stream's query"},
      {"http://127.0.0.1:1984/api/streams?src=p#x", "fragment"},
      {"http://127.0.0.1:1984/api/streams?src=my printer", "printable ASCII"},
      {"http://127.0.0.1:1984/api/streams?src=p\n", "printable ASCII"},
      {"http://127.0.0.1:1984/api/streams?src=dr\xc3\xbc" "cker", "printable ASCII"},
      {"http://127.0.0.1/?" + std::string(k_max_go2rtc_stream_url, 'a'), "longer than 2048 bytes"},
  };
  for (const auto& [text, words] : refused) {
    INFO(text);
    const std::string why = refusal(text);
    CHECK(why.rfind("--go2rtc-stream: ", 0) == 0);
    CHECK(why.find(words) != std::string::npos);
    CHECK(why.find('\n') == std::string::npos);
    CHECK(why.find("s3cret") == std::string::npos);
    CHECK(why.size() < 200);
  }
}

TEST_CASE("ViewerWatch: one GET with Host and Connection close, the count of the answer, on_change only on a change") {
  CannedHttp peer(http_answer("200 OK", k_preload_and_mjpeg));
  CapturedLog captured(LogLevel::debug);
  StopFlag stop;
  Changes changes;
  ViewerWatch watch(local_url(peer.port()), captured.log, stop, changes.callback());
  REQUIRE(wait_until([&] { return peer.requests().size() >= 3; }, 10s));
  REQUIRE(wait_until([&] { return changes.get().size() == 1; }, 2s));
  CHECK(watch.viewers() == 1);
  CHECK(changes.get() == std::vector<std::optional<int>>{1});
  const std::string head = peer.requests().front();
  CHECK(head.rfind("GET /api/streams?src=printer HTTP/1.1\r\n", 0) == 0);
  CHECK(head.find("\r\nHost: 127.0.0.1:" + std::to_string(peer.port()) + "\r\n") != std::string::npos);
  CHECK(head.find("\r\nConnection: close\r\n") != std::string::npos);
  CHECK(captured.text().empty());
}

TEST_CASE("ViewerWatch: a 404, an answer over 1 MiB, one that is not JSON and a refused port are nullopt, each said") {
  SECTION("404") {
    CannedHttp peer(http_answer("404 Not Found", "\n"));
    const auto [viewers, log] = first_report(local_url(peer.port()));
    CHECK_FALSE(viewers);
    CHECK(log.find("warning: go2rtc stream http://127.0.0.1:" + std::to_string(peer.port()) +
                   "/api/streams?src=printer: cannot tell its viewers: go2rtc answered HTTP 404 (it has no stream "
                   "of that name)\n") != std::string::npos);
  }
  SECTION("over 1 MiB") {
    CannedHttp peer(http_answer("200 OK", std::string(k_max_go2rtc_answer + 1, ' ')));
    const auto [viewers, log] = first_report(local_url(peer.port()));
    INFO(log);
    CHECK_FALSE(viewers);
    CHECK(log.find("go2rtc's answer is over 1048576 bytes\n") != std::string::npos);
  }
  SECTION("over 1 MiB, read to the close") {
    CannedHttp peer("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + std::string(2 * k_max_go2rtc_answer, ' '));
    const auto [viewers, log] = first_report(local_url(peer.port()));
    CHECK_FALSE(viewers);
    CHECK(log.find("go2rtc's answer is over 1048576 bytes\n") != std::string::npos);
  }
  SECTION("not JSON") {
    CannedHttp peer(http_answer("200 OK", "<html>go2rtc</html>"));
    const auto [viewers, log] = first_report(local_url(peer.port()));
    CHECK_FALSE(viewers);
    CHECK(log.find("go2rtc's answer is not one stream's JSON\n") != std::string::npos);
  }
  SECTION("refused") {
    LoopbackPort closed(false);
    const auto [viewers, log] = first_report(local_url(closed.port()));
    CHECK_FALSE(viewers);
    CHECK(log.find("cannot tell its viewers: Connection refused\n") != std::string::npos);
  }
}

TEST_CASE("ViewerWatch: a peer that never answers is nullopt after the 1 s request deadline") {
  LoopbackPort silent(true);  // the kernel completes the connect, nobody answers
  const auto start = std::chrono::steady_clock::now();
  const auto [viewers, log] = first_report(local_url(silent.port()));
  const auto took = std::chrono::steady_clock::now() - start;
  CHECK_FALSE(viewers);
  CHECK(log.find("cannot tell its viewers: no whole answer within 1000 ms\n") != std::string::npos);
  CHECK(took >= 950ms);
  CHECK(took < 3s);
}

TEST_CASE("ViewerWatch: one warning line for repeated failures, one info line when go2rtc answers again") {
  CannedHttp peer(http_answer("503 Service Unavailable", ""));
  CapturedLog captured(LogLevel::info);
  StopFlag stop;
  Changes changes;
  ViewerWatch watch(local_url(peer.port()), captured.log, stop, changes.callback());
  REQUIRE(wait_until([&] { return peer.requests().size() >= 3; }, 10s));
  CHECK(count_of(captured.text(), "\n") == 1);
  CHECK(count_of(captured.text(), "warning: ") == 1);
  CHECK(captured.text().find("cannot tell its viewers: go2rtc answered HTTP 503\n") != std::string::npos);
  peer.set_answer(http_answer("200 OK", k_preload_only));
  REQUIRE(wait_until([&] { return watch.viewers() == 0; }, 5s));
  watch.close();
  CHECK(changes.get() == std::vector<std::optional<int>>{std::nullopt, 0});
  CHECK(count_of(captured.text(), "\n") == 2);
  CHECK(captured.text().find("\ngo2rtc stream " + to_string(local_url(peer.port())) + ": answers again, 0 viewer(s)\n") !=
        std::string::npos);
}

TEST_CASE("ViewerWatch: stops within 100 ms of its StopFlag or its destructor, a request hanging") {
  LoopbackPort silent(true);
  CapturedLog captured(LogLevel::info);
  SECTION("StopFlag") {
    StopFlag stop;
    Changes changes;
    ViewerWatch watch(local_url(silent.port()), captured.log, stop, changes.callback());
    REQUIRE(wait_until([&] { return silent.has_pending_connection(); }, 5s));
    const auto start = std::chrono::steady_clock::now();
    stop.request_stop(StopReason::signal);
    watch.close();
    CHECK(std::chrono::steady_clock::now() - start < 100ms);
    CHECK(changes.get().empty());
  }
  SECTION("destructor") {
    StopFlag stop;
    auto watch = std::make_unique<ViewerWatch>(local_url(silent.port()), captured.log, stop, nullptr);
    REQUIRE(wait_until([&] { return silent.has_pending_connection(); }, 5s));
    const auto start = std::chrono::steady_clock::now();
    watch.reset();
    CHECK(std::chrono::steady_clock::now() - start < 100ms);
  }
  CHECK(captured.text().empty());
}

namespace {

// Our own binary's demo as go2rtc's preloaded exec: stream `printer`.
std::string preloaded_demo_streams() {
  return "streams:\n  printer: exec:" + std::string(e2e::k_binary) +
         " --demo --format mjpeg#killsignal=15#killtimeout=5\npreload:\n  printer: video\n";
}

// True once go2rtc lists its preload among `printer`'s consumers.
bool preload_attached(const go2rtc::Go2rtc& server) {
  const auto info = server.streams_info();
  if (!info.is_object() || !info.contains("printer")) return false;
  const auto& consumers = info["printer"]["consumers"];
  if (!consumers.is_array()) return false;
  for (const auto& c : consumers) {
    if (c.value("format_name", "") == "preload") return true;
  }
  return false;
}

}  // namespace

TEST_CASE("go2rtc: ViewerWatch reports 0 with only the preload, 1 with an MJPEG viewer, 0 after, nullopt without go2rtc") {
  go2rtc::skip_without_go2rtc();
  go2rtc::Go2rtc server(preloaded_demo_streams());
  REQUIRE(wait_until([&] { return preload_attached(server); }, 15s));
  CapturedLog captured(LogLevel::info);
  StopFlag stop;
  Changes changes;
  ViewerWatch watch(local_url(static_cast<std::uint16_t>(server.api_port())), captured.log, stop,
                    changes.callback());
  CHECK(wait_until([&] { return watch.viewers() == 0; }, 5s));
  {
    // A viewer of go2rtc's MJPEG stream, reading until it is killed.
    const std::string mjpeg = "http://127.0.0.1:" + std::to_string(server.api_port()) + "/api/stream.mjpeg?src=printer";
    ChildProcess viewer(ChildOptions{{e2e::k_python, "-c",
                                      "import sys, urllib.request\n"
                                      "r = urllib.request.urlopen(sys.argv[1])\n"
                                      "while r.read(65536): pass\n",
                                      mjpeg},
                                     {},
                                     {},
                                     false});
    CHECK(wait_until([&] { return watch.viewers() == 1; }, 5s));
    INFO("go2rtc's log:\n" << server.log());
    CHECK(preload_attached(server));
  }
  CHECK(wait_until([&] { return watch.viewers() == 0; }, 5s));
  CHECK(captured.text().empty());
  server.stop();
  CHECK(wait_until([&] { return changes.get().size() == 4; }, 5s));
  CHECK(changes.get() == std::vector<std::optional<int>>{0, 1, 0, std::nullopt});
  CHECK(count_of(captured.text(), "warning: ") == 1);
}

TEST_CASE("go2rtc: ViewerWatch of a stream name go2rtc does not have is nullopt, from go2rtc's 404") {
  go2rtc::skip_without_go2rtc();
  go2rtc::Go2rtc server(preloaded_demo_streams());
  const auto [viewers, log] = first_report(local_url(static_cast<std::uint16_t>(server.api_port()), "nosuch"));
  CHECK_FALSE(viewers);
  CHECK(log.find("/api/streams?src=nosuch: cannot tell its viewers: go2rtc answered HTTP 404 (it has no stream of "
                 "that name)\n") != std::string::npos);
}
