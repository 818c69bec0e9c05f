// Logger: one line per write, redaction of the access code.
#include <catch2/catch.hpp>

#include <unistd.h>

#include "core/log.h"

using namespace bambu;

namespace {
// Everything written to `log`'s pipe so far (the write end is closed first).
std::string drain(int read_fd, int write_fd) {
  ::close(write_fd);
  std::string text(4096, '\0');
  ssize_t n = ::read(read_fd, text.data(), text.size());
  ::close(read_fd);
  text.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
  return text;
}
}  // namespace

TEST_CASE("redact masks every occurrence, also of a secret that occurs inside the mask") {
  std::string text = "code 12345678 and again 12345678.";
  redact(text, "12345678");
  CHECK(text == "code ******** and again ********.");
  std::string stars = "a****b";
  redact(stars, "****");  // would never end if the search restarted at the mask
  CHECK(stars == "a********b");
  std::string untouched = "nothing here";
  redact(untouched, "");
  CHECK(untouched == "nothing here");
}

TEST_CASE("a log line is one write, with level word, prefix and the secret masked") {
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  Logger log(LogLevel::info, "sim: ", fds[1]);
  log.add_secret("s3cr3tAC");
  log.warning("code {} in\ntwo lines", "s3cr3tAC");
  log.debug("not written at info");
  log.always("always");
  CHECK(drain(fds[0], fds[1]) == "sim: warning: code ******** in two lines\nsim: always\n");
}
