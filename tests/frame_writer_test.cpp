// The stdout writer: whole frames in one write each, newest-wins under a slow
// reader, EPIPE and --frames turning into a clean stop.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include "output/frame_writer.h"
#include "support/frames.h"
#include "support/wait.h"

using namespace bambu;
using namespace std::chrono_literals;
using bambu::test::fake_jpeg;
using bambu::test::wait_until;

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

// Bytes written into the pipe behind `read_fd` and not read yet.
std::size_t bytes_in(int read_fd) {
  int n = 0;
  REQUIRE(::ioctl(read_fd, FIONREAD, &n) == 0);
  return static_cast<std::size_t>(n);
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
      REQUIRE(wait_until([&] { return status.report().frames == i + 1u; }, 2s));  // no drops: one at a time
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
  auto report = status.report();
  CHECK(report.bytes == 40000 + 41000 + 42000 + 43000 + 44000);
  CHECK(report.dropped == 0);
  ::close(fds[0]);
  ::close(fds[1]);
}

// Fills the pipe behind `fd` to the brim with 'x' bytes and returns how many:
// from then on the reader looks stalled until it reads them.
std::size_t fill_pipe(int fd) {
  int flags = ::fcntl(fd, F_GETFL);
  ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
  std::vector<std::uint8_t> chunk(4096, 'x');
  std::size_t total = 0;
  for (ssize_t n; (n = ::write(fd, chunk.data(), chunk.size())) > 0;) total += static_cast<std::size_t>(n);
  ::fcntl(fd, F_SETFL, flags);
  return total;
}

TEST_CASE("a stalled reader: nothing is written until a whole frame fits, and the newest frame wins") {
  Pipe pipe;
  StopFlag stop;
  StreamStatus status("jpeg", "h", 1);
  auto last = fake_jpeg(65536, 10);
  {
    FrameWriter writer(pipe.write, 0, status, stop);
    CHECK(::fcntl(pipe.write, F_GETPIPE_SZ) == 1 << 20);  // enlarged so whole frames fit
    std::size_t filler = fill_pipe(pipe.write);
    for (std::uint8_t i = 1; i < 10; ++i) {
      writer.post(fake_jpeg(65536, i));
      std::this_thread::sleep_for(5ms);  // a camera's pace: the writer thread takes some while it waits
    }
    writer.post(last);
    // Every older frame replaced, whether still queued or already taken by
    // the writer thread, which now waits for room with the newest.
    REQUIRE(wait_until([&] { return status.report().dropped == 9; }, 2s));
    CHECK(status.report().frames == 0);  // no room: not even a part was written
    // The reader catches up: the filler, then exactly one whole frame, the newest.
    CHECK(read_exactly(pipe.read, filler) == std::vector<std::uint8_t>(filler, 'x'));
    CHECK(read_exactly(pipe.read, last.size()) == last);
    CHECK(writer.finish(1s));
  }
  auto report = status.report();
  CHECK(report.frames == 1);
  CHECK(report.dropped == 9);
  CHECK_FALSE(stop.stop_requested());
}

// Posts frames to `writer`, whose reader is stalled, until its thread is seen
// holding one while it waits for room: a frame posted then is taken from the
// queue by the thread itself, which counts the one it held as dropped after
// post() has returned (a frame still queued is replaced, and counted, inside
// post()). Returns how many frames it posted; the test fails (REQUIRE) if
// the thread is not seen holding one within 5 s.
std::uint64_t post_until_held(FrameWriter& writer, const StreamStatus& status) {
  std::uint64_t posted = 0;
  REQUIRE(wait_until(
      [&] {
        writer.post(fake_jpeg(65536, static_cast<std::uint8_t>(posted++)));
        const auto after_post = status.report().dropped;
        return wait_until([&] { return status.report().dropped > after_post; }, 100ms);
      },
      5s));
  return posted;
}

TEST_CASE("shutdown with a stalled reader: prompt, and no partial frame is left in the pipe") {
  Pipe pipe;
  StopFlag stop;
  StreamStatus status("jpeg", "h", 1);
  FrameWriter writer(pipe.write, 0, status, stop);
  std::size_t filler = fill_pipe(pipe.write);
  const std::uint64_t posted = post_until_held(writer, status);
  auto t0 = std::chrono::steady_clock::now();
  CHECK(writer.finish(300ms));  // the frame held had not begun: the thread ends at once
  CHECK(std::chrono::steady_clock::now() - t0 < 100ms);
  CHECK(status.report().dropped == posted);
  ::close(pipe.write);
  pipe.write = -1;
  CHECK(read_exactly(pipe.read, filler + 70000).size() == filler);  // the filler and nothing else
}

TEST_CASE("a non-blocking stdout still gets whole frames (EAGAIN waits)") {
  Pipe pipe;
  ::fcntl(pipe.write, F_SETFL, ::fcntl(pipe.write, F_GETFL) | O_NONBLOCK);
  ::fcntl(pipe.write, F_SETPIPE_SZ, 4096);
  StopFlag stop;
  StreamStatus status("jpeg", "h", 1);
  auto big = fake_jpeg(3 << 20, 7);  // larger than any pipe: written in pieces as room appears
  FrameWriter writer(pipe.write, 0, status, stop);
  writer.post(big);
  // The pipe full before anyone reads: the writer's next write got EAGAIN.
  const auto capacity = static_cast<std::size_t>(::fcntl(pipe.write, F_GETPIPE_SZ));
  REQUIRE(wait_until([&] { return bytes_in(pipe.read) == capacity; }, 2s));
  CHECK(read_exactly(pipe.read, big.size()) == big);
  CHECK(writer.finish(1s));
  CHECK_FALSE(stop.stop_requested());
  CHECK(status.report().frames == 1);
}

TEST_CASE("a write error other than EPIPE stops with output_failed and its errno") {
  int read_only = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  StopFlag stop;
  StreamStatus status("jpeg", "h", 1);
  FrameWriter writer(read_only, 0, status, stop);
  writer.post(fake_jpeg(100));
  REQUIRE(wait_until([&] { return stop.stop_requested(); }, 2s));
  CHECK(stop.reason() == StopReason::output_failed);
  CHECK(writer.error() == EBADF);
  CHECK(writer.finish(1s));
  ::close(read_only);
}

TEST_CASE("EPIPE from a reader that left requests a clean stop") {
  Pipe pipe;
  ::close(pipe.read);
  pipe.read = -1;
  StopFlag stop;
  StreamStatus status("jpeg", "h", 1);
  FrameWriter writer(pipe.write, 0, status, stop);
  writer.post(fake_jpeg(100));
  REQUIRE(wait_until([&] { return stop.stop_requested(); }, 2s));
  CHECK(stop.reason() == StopReason::consumer_gone);
  CHECK(status.report().frames == 0);
  writer.post(fake_jpeg(100));  // ignored after the failure
  CHECK(writer.finish(1s));
}

TEST_CASE("max_frames: exactly N frames are written, then frames_done") {
  Pipe pipe;
  StopFlag stop;
  StreamStatus status("jpeg", "h", 1);
  std::vector<std::uint8_t> got;
  std::thread reader([&] { got = read_exactly(pipe.read, 1000); });  // until EOF
  FrameWriter writer(pipe.write, 3, status, stop);
  for (std::uint8_t i = 0; i < 6; ++i) {
    writer.post(fake_jpeg(10, i));
    wait_until([&] { return status.report().frames > i || stop.stop_requested(); }, 500ms);  // one at a time
  }
  REQUIRE(wait_until([&] { return stop.stop_requested(); }, 2s));
  CHECK(stop.reason() == StopReason::frames_done);
  CHECK(writer.finish(1s));
  CHECK(status.report().frames == 3);
  std::vector<std::uint8_t> expected;
  for (std::uint8_t i = 0; i < 3; ++i) {
    auto f = fake_jpeg(10, i);
    expected.insert(expected.end(), f.begin(), f.end());
  }
  ::close(pipe.write);
  pipe.write = -1;
  reader.join();
  CHECK(got == expected);
}

TEST_CASE("max_frames counts camera frames only: repeats are written in order but counted apart") {
  Pipe pipe;
  StopFlag stop;
  StreamStatus status("jpeg", "h", 1);
  std::vector<std::uint8_t> got;
  std::thread reader([&] { got = read_exactly(pipe.read, 1000); });  // until EOF
  FrameWriter writer(pipe.write, 2, status, stop, Backlog::until_keyframe);
  std::vector<std::uint8_t> expected;
  auto send = [&](std::uint8_t id, bool repeat) {
    auto unit = fake_jpeg(10, id);
    expected.insert(expected.end(), unit.begin(), unit.end());
    if (repeat) {
      writer.post_repeat(std::move(unit), true);
    } else {
      writer.post(std::move(unit), true);
    }
  };
  send(0, false);
  send(1, true);
  send(2, true);
  REQUIRE(wait_until([&] { return status.report().repeats == 2; }, 2s));
  CHECK_FALSE(stop.stop_requested());  // two units written, but one frame
  send(3, false);
  REQUIRE(wait_until([&] { return stop.stop_requested(); }, 2s));
  CHECK(stop.reason() == StopReason::frames_done);
  CHECK(writer.finish(1s));
  const StatusReport r = status.report();
  CHECK(r.frames == 2);
  CHECK(r.repeats == 2);
  CHECK(r.bytes == expected.size());
  ::close(pipe.write);
  pipe.write = -1;
  reader.join();
  CHECK(got == expected);
}

TEST_CASE("video backlog: units queue in order, and on overflow output resumes at a keyframe") {
  Pipe pipe;
  StopFlag stop;
  StreamStatus status("rtsps", "h", 1);
  auto unit = [](std::size_t size, std::uint8_t tag) { return std::vector<std::uint8_t>(size, tag); };
  {
    FrameWriter writer(pipe.write, 0, status, stop, Backlog::until_keyframe);
    // Unit 1 is larger than the pipe: the writer thread writes it blocking,
    // fills the pipe, and stays in that write while the reader stalls. Once
    // the pipe holds a part of it, the thread has it in hand.
    const std::size_t first = static_cast<std::size_t>(::fcntl(pipe.write, F_GETPIPE_SZ)) + 4096;
    writer.post(unit(first, 1), true);
    REQUIRE(wait_until([&] { return bytes_in(pipe.read) > 0; }, 2s));
    // 2 small units queue in order behind it.
    writer.post(unit(1000, 2), false);
    writer.post(unit(1000, 3), false);
    CHECK(status.report().dropped == 0);
    // Then more than k_max_backlog_bytes: the queue is dropped, and so is
    // everything up to the next keyframe (tag 9), each as it is posted.
    const std::size_t big = FrameWriter::k_max_backlog_bytes / 4;
    for (std::uint8_t tag = 4; tag <= 8; ++tag) writer.post(unit(big, tag), false);
    writer.post(unit(1000, 9), true);
    writer.post(unit(1000, 10), false);
    CHECK(status.report().dropped == 7);  // units 2 to 8
    // Unit 1 was being written when the overflow came: it goes out whole,
    // and output resumes at the keyframe.
    std::vector<std::uint8_t> got = read_exactly(pipe.read, first + 2000);
    CHECK(got == [&] {
      std::vector<std::uint8_t> expected = unit(first, 1);
      for (std::uint8_t tag : {std::uint8_t{9}, std::uint8_t{10}}) {
        auto u = unit(1000, tag);
        expected.insert(expected.end(), u.begin(), u.end());
      }
      return expected;
    }());
    CHECK(writer.finish(1s));
  }
  auto report = status.report();
  CHECK(report.frames == 3);
  CHECK(report.dropped == 7);  // units 2 to 8
}
