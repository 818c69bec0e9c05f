// --source auto without a serial: the TCP probe of the RTSPS port, then the
// JPEG port, and what each answer means. Loopback ports only.
#include <catch2/catch.hpp>

#include "core/errors.h"
#include "stream/rtsps_client.h"
#include "stream/source_probe.h"
#include "support/ports.h"

using namespace bambu;
using namespace std::chrono_literals;
using bambu::test::LoopbackPort;

namespace {

StreamConfig auto_config() {
  StreamConfig c;
  c.host = "127.0.0.1";
  c.access_code = "12345678";
  return c;
}

}  // namespace

TEST_CASE("the probe picks rtsps when the RTSPS port accepts, jpeg when only the JPEG port does") {
  LoopbackPort rtsps(true), jpeg(true), refused(false);
  Logger log(LogLevel::error);
  StopFlag stop;
  std::string error;

  StreamConfig both = auto_config();
  REQUIRE(probe_source(both, 1s, stop, log, error, {rtsps.port(), jpeg.port()}));
  CHECK(both.source == SourceChoice::rtsps);
  CHECK(both.port == rtsps.port());
  CHECK(both.format == OutputFormat::mpegts);

  StreamConfig only_jpeg = auto_config();
  REQUIRE(probe_source(only_jpeg, 1s, stop, log, error, {refused.port(), jpeg.port()}));
  CHECK(only_jpeg.source == SourceChoice::jpeg);
  CHECK(only_jpeg.port == jpeg.port());
  CHECK(only_jpeg.format == OutputFormat::mjpeg);
}

TEST_CASE("the probe names both ports when neither answers, and stops on request") {
  LoopbackPort a(false), b(false);
  Logger log(LogLevel::error);
  StopFlag stop;
  std::string error;
  StreamConfig c = auto_config();
  CHECK_FALSE(probe_source(c, 1s, stop, log, error, {a.port(), b.port()}));
  CHECK_THAT(error, Catch::Contains(std::to_string(a.port()) + " for X1/H2/P2S: refused") &&
                        Catch::Contains(std::to_string(b.port()) + " for P1/A1: refused") &&
                        Catch::Contains("LAN liveview"));
  CHECK(c.source == SourceChoice::automatic);
  stop.request_stop(StopReason::signal);
  CHECK_FALSE(probe_source(c, 1s, stop, log, error, {a.port(), b.port()}));
  CHECK(error.empty());
}

TEST_CASE("url_encode keeps unreserved characters and escapes the rest") {
  CHECK(url_encode("12345678") == "12345678");
  CHECK(url_encode("aZ-._~") == "aZ-._~");
  CHECK(url_encode("a:b@c/d%") == "a%3Ab%40c%2Fd%25");
}
