// Logger: one line per write, redaction of the access code.
#include <catch2/catch.hpp>

#include "core/log.h"
#include "support/captured_log.h"

using namespace bambu;
using bambu::test::CapturedLog;

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
  CapturedLog captured(LogLevel::info, "sim: ");
  captured.log.add_secret("s3cr3tAC");
  captured.log.warning("code {} in\ntwo lines", "s3cr3tAC");
  captured.log.debug("not written at info");
  captured.log.always("always");
  CHECK(captured.text() == "sim: warning: code ******** in two lines\nsim: always\n");
}
