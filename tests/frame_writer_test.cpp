// The stdout writer: whole frames in one write each, newest-wins under a slow
// reader, EPIPE and --frames turning into a clean stop.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include "output/frame_writer.h"
#include "support/frames.h"

using namespace bambu;
using namespace std::chrono_literals;
using bambu::test::fake_jpeg;

namespace {

struct Pipe {
  int read = -1, write = -1;
  Pipe() {
    int fds[2];
    REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
    read = fds[0];
    write = fds[1];
  }
  ~Pipe() {
    if (read >= 0) ::close(read);
    if (write >= 0) ::close(write);
  }
};

std::vector<std::uint8_t> read_exactly(int fd, std::size_t n) {
  std::vector<std::uint8_t> out(n);
  std::size_t got = 0;
  while (got < n) {
    ssize_t r = ::read(fd, out.data() + got, n - got);
    if (r <= 0) break;
    got += static_cast<std::size_t>(r);
  }
  out.resize(got);
  return out;
}

bool wait_for(const std::function<bool()>& cond, std::chrono::milliseconds limit = 2000ms) {
  auto end = std::chrono::steady_clock::now() + limit;
  while (!cond()) {
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

}  // namespace

TEST_CASE("each frame reaches the fd in exactly one write, in order, byte-exact") {
  // SOCK_SEQPACKET keeps write boundaries: one recv returns one write.
  int fds[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) == 0);
  int big = 1 << 20;
  ::setsockopt(fds[0], SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
  ::setsockopt(fds[1], SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
  StopFlag stop;
  StreamStatus status("jpeg", "h", 1);
  std::vector<std::vector<std::uint8_t>> sent;
  {
    FrameWriter writer(fds[0], 0, status, stop);
    for (std::uint8_t i = 0; i < 5; ++i) {
      sent.push_back(fake_jpeg(40000 + i * 1000u, i));
      writer.post(sent.back());
      REQUIRE(wait_for([&] { return status.snapshot().frames == i + 1u; }));  // no drops: one at a time
    }
    CHECK(writer.finish(1s));
  }
  for (const auto& frame : sent) {
    std::vector<std::uint8_t> buf(200000);
    ssize_t n = ::recv(fds[1], buf.data(), buf.size(), MSG_DONTWAIT);
    REQUIRE(n == static_cast<ssize_t>(frame.size()));
    buf.resize(static_cast<std::size_t>(n));
    CHECK(buf == frame);
  }
  auto snap = status.snapshot();
  CHECK(snap.bytes == 40000 + 41000 + 42000 + 43000 + 44000);
  CHECK(snap.dropped == 0);
  ::close(fds[0]);
  ::close(fds[1]);
}

TEST_CASE("a slow reader: one frame in flight, one pending, the newest wins, drops are counted") {
  Pipe pipe;
  ::fcntl(pipe.write, F_SETPIPE_SZ, 4096);  // so the first 64 KB frame blocks in write()
  StopFlag stop;
  StreamStatus status("jpeg", "h", 1);
  auto first = fake_jpeg(65536, 1);
  auto last = fake_jpeg(65536, 10);
  {
    FrameWriter writer(pipe.write, 0, status, stop);
    writer.post(first);
    std::this_thread::sleep_for(50ms);  // the writer is now blocked inside write(first)
    for (std::uint8_t i = 2; i < 10; ++i) writer.post(fake_jpeg(65536, i));
    writer.post(last);
    CHECK(status.snapshot().dropped == 8);  // frames 2..9 replaced while waiting
    // The reader catches up: exactly `first` then `last` arrive, each whole.
    CHECK(read_exactly(pipe.read, first.size()) == first);
    CHECK(read_exactly(pipe.read, last.size()) == last);
    CHECK(writer.finish(1s));
  }
  CHECK(status.snapshot().frames == 2);
  CHECK_FALSE(stop.stop_requested());
}

TEST_CASE("EPIPE from a reader that left requests a clean stop") {
  Pipe pipe;
  ::close(pipe.read);
  pipe.read = -1;
  StopFlag stop;
  StreamStatus status("jpeg", "h", 1);
  FrameWriter writer(pipe.write, 0, status, stop);
  writer.post(fake_jpeg(100));
  REQUIRE(wait_for([&] { return stop.stop_requested(); }));
  CHECK(stop.reason() == StopReason::consumer_gone);
  CHECK(status.snapshot().frames == 0);
  writer.post(fake_jpeg(100));  // ignored after the failure
  CHECK(writer.finish(1s));
}

TEST_CASE("max_frames: exactly N frames are written, then frames_done") {
  Pipe pipe;
  StopFlag stop;
  StreamStatus status("jpeg", "h", 1);
  FrameWriter writer(pipe.write, 3, status, stop);
  for (std::uint8_t i = 0; i < 6; ++i) {
    writer.post(fake_jpeg(10, i));
    wait_for([&] { return status.snapshot().frames > i || stop.stop_requested(); }, 500ms);
  }
  REQUIRE(wait_for([&] { return stop.stop_requested(); }));
  CHECK(stop.reason() == StopReason::frames_done);
  CHECK(writer.finish(1s));
  CHECK(status.snapshot().frames == 3);
  std::vector<std::uint8_t> expected;
  for (std::uint8_t i = 0; i < 3; ++i) {
    auto f = fake_jpeg(10, i);
    expected.insert(expected.end(), f.begin(), f.end());
  }
  ::close(pipe.write);
  pipe.write = -1;
  CHECK(read_exactly(pipe.read, 1000) == expected);
}

TEST_CASE("finish() gives up on a blocked reader within the grace period") {
  Pipe pipe;
  ::fcntl(pipe.write, F_SETPIPE_SZ, 4096);
  StopFlag stop;
  StreamStatus status("jpeg", "h", 1);
  auto writer = std::make_unique<FrameWriter>(pipe.write, 0, status, stop);
  writer->post(fake_jpeg(65536));
  std::this_thread::sleep_for(50ms);
  writer->post(fake_jpeg(100));
  auto t0 = std::chrono::steady_clock::now();
  CHECK_FALSE(writer->finish(200ms));
  auto took = std::chrono::steady_clock::now() - t0;
  CHECK(took >= 190ms);
  CHECK(took < 600ms);
  CHECK(status.snapshot().dropped == 1);  // the pending frame was given up
  writer.reset();
  // The frame in flight is still written whole (never cut short); reading it
  // lets the detached thread end before the pipe closes.
  CHECK(read_exactly(pipe.read, 65536) == fake_jpeg(65536));
  std::this_thread::sleep_for(20ms);
}
