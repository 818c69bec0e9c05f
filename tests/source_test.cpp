// --source auto without a serial: the TCP probe of the RTSPS port, then the
// JPEG port, and what each answer means. Loopback ports only.
#include <catch2/catch.hpp>

#include "config/source_choice.h"
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

TEST_CASE("the printer's report decides only where it can change the run") {
  StreamConfig config;
  config.host = "p.lan";
  config.serial = "ZZZ00A000000001";
  config.mqtt = true;
  resolve_source_offline(config);  // unknown model: a probe
  CHECK(printer_report_decides(config));
  StreamConfig rtsps = config;
  rtsps.serial = "00M00A000000001";
  rtsps.source = SourceChoice::automatic;
  resolve_source_offline(rtsps);
  CHECK(printer_report_decides(rtsps));  // an X1C: LAN Only Liveview may be off
  StreamConfig jpeg = config;
  jpeg.serial = "01P00A000000001";
  jpeg.source = SourceChoice::automatic;
  resolve_source_offline(jpeg);
  CHECK_FALSE(printer_report_decides(jpeg));  // a P1S: dialled at once
  StreamConfig without = config;
  without.mqtt = false;
  CHECK_FALSE(printer_report_decides(without));
}

TEST_CASE("camera_word: disable, a URL (whatever its address), a full report without one, or nothing yet") {
  PrinterState state;
  CHECK(camera_word(state) == CameraWord::none);
  state.full_report_seen = true;
  CHECK(camera_word(state) == CameraWord::jpeg);
  state.rtsp_url = "";
  CHECK(camera_word(state) == CameraWord::jpeg);
  state.rtsp_url = "rtsps://192.0.2.1/streaming/live/1";
  CHECK(camera_word(state) == CameraWord::rtsps);
  state.rtsp_url = "disable";
  CHECK(camera_word(state) == CameraWord::liveview_off);
  CHECK(liveview_off_message(state) ==
        "the printer says \"LAN Only Liveview\" is off (its MQTT report has print.ipcam.rtsp_url = \"disable\"), "
        "so its camera serves no one on the LAN: switch on \"LAN Only Liveview\" on the printer's screen (its "
        "network settings), then start the stream again; the camera was not dialled");
}

TEST_CASE("settle_source_by_report settles only a source left to the probe, with the default port") {
  StreamConfig config;
  config.host = "p.lan";
  config.serial = "ZZZ00A000000001";
  resolve_source_offline(config);
  StreamConfig none = config;
  settle_source_by_report(none, CameraWord::none);
  CHECK(none.source == SourceChoice::automatic);
  settle_source_by_report(none, CameraWord::liveview_off);
  CHECK(none.source == SourceChoice::automatic);
  StreamConfig rtsps = config;
  settle_source_by_report(rtsps, CameraWord::rtsps);
  CHECK(rtsps.source == SourceChoice::rtsps);
  CHECK(rtsps.port == 322);
  CHECK(rtsps.format == OutputFormat::mpegts);
  CHECK(rtsps.source_basis == SourceBasis::printer_report);
  StreamConfig jpeg = config;
  settle_source_by_report(jpeg, CameraWord::jpeg);
  CHECK(jpeg.source == SourceChoice::jpeg);
  CHECK(jpeg.port == 6000);
  StreamConfig given = config;
  settle_source(given, SourceChoice::jpeg);
  given.source_basis = SourceBasis::given;
  settle_source_by_report(given, CameraWord::rtsps);
  CHECK(given.source == SourceChoice::jpeg);
}
