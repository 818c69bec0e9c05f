// One printer's print state for the status tests: what a stream run with
// --mqtt reports while printing benchy, set into a StatusReport (so that
// heartbeat_json writes the keys as the real writer does) and checked in
// the JSON that `status` and its server give back.
#pragma once

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "pipeline/stream_status.h"

namespace bambu::test {

/// Sets in `s` the state of a printer printing "benchy": RUNNING, 42 %,
/// layer 7 of 100, 62 minutes left, the chamber light on, the MQTT session
/// connected with no error.
inline void set_printing_benchy(StatusReport& s) {
  s.printer = PrinterState{};
  s.printer->print_state = "RUNNING";
  s.printer->print_percent = 42;
  s.printer->print_layer = 7;
  s.printer->print_layers_total = 100;
  s.printer->print_remaining_minutes = 62;
  s.printer->print_job = "benchy";
  s.printer->chamber_light = "on";
  s.mqtt_connected = true;
  s.mqtt_error.clear();
}

/// Checks that the JSON object `j` (a heartbeat, or the status JSON made of
/// one) has every print key of set_printing_benchy() with the heartbeat's
/// names and types.
inline void check_printing_benchy(const nlohmann::json& j) {
  CHECK(j["print_state"] == "RUNNING");
  CHECK(j["print_percent"] == 42);
  CHECK(j["print_layer"] == 7);
  CHECK(j["print_layers_total"] == 100);
  CHECK(j["print_remaining_minutes"] == 62);
  CHECK(j["print_job"] == "benchy");
  CHECK(j["chamber_light"] == "on");
  CHECK(j["mqtt"] == "connected");
  CHECK(j.contains("mqtt_error"));
  CHECK(j["mqtt_error"].is_null());
}

}  // namespace bambu::test
