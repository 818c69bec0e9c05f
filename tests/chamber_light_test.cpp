// LightHold: when the chamber light is switched on and back, and when it is
// left alone (mqtt/chamber_light_control.h).
#include <catch2/catch.hpp>

#include "mqtt/chamber_light_control.h"

using namespace bambu;

namespace {
const std::optional<std::string> k_on = "on", k_off = "off", k_unknown = std::nullopt;
}

TEST_CASE("LightHold: an off light is switched on when wanted and back off after") {
  LightHold hold;
  CHECK(hold.update(false, k_off) == std::nullopt);
  CHECK(hold.update(true, k_off) == true);
  CHECK(hold.ours());
  CHECK(hold.update(true, k_off) == std::nullopt);  // a report from before the command: wait
  CHECK(hold.update(true, k_on) == std::nullopt);   // confirmed
  CHECK(hold.update(false, k_on) == false);
  CHECK_FALSE(hold.ours());
  CHECK(hold.update(false, k_off) == std::nullopt);
}

TEST_CASE("LightHold: a light already on is left alone, then and after") {
  LightHold hold;
  CHECK(hold.update(true, k_on) == std::nullopt);
  CHECK_FALSE(hold.ours());
  CHECK(hold.update(false, k_on) == std::nullopt);
  // flashing counts as on: not ours to restore either
  CHECK(hold.update(true, std::optional<std::string>("flashing")) == std::nullopt);
  CHECK(hold.update(false, k_on) == std::nullopt);
}

TEST_CASE("LightHold: waits for the printer to report the light before deciding") {
  LightHold hold;
  CHECK(hold.update(true, k_unknown) == std::nullopt);
  CHECK(hold.update(true, k_off) == true);
  LightHold never;
  CHECK(never.update(true, k_unknown) == std::nullopt);
  CHECK(never.update(false, k_unknown) == std::nullopt);  // stopped before any report: nothing to restore
  CHECK(never.update(false, k_off) == std::nullopt);
}

TEST_CASE("LightHold: switched off by someone while held, it is theirs: no restore, no second on") {
  LightHold hold;
  CHECK(hold.update(true, k_off) == true);
  CHECK(hold.update(true, k_on) == std::nullopt);
  CHECK(hold.update(true, k_off) == std::nullopt);  // someone switched it off
  CHECK_FALSE(hold.ours());
  CHECK(hold.update(true, k_on) == std::nullopt);  // and on again: still theirs
  CHECK(hold.update(false, k_on) == std::nullopt);
  // The next watching period starts over.
  CHECK(hold.update(true, k_off) == true);
}

TEST_CASE("LightHold: a command that could not be sent is asked for again, a restore is not") {
  LightHold hold;
  CHECK(hold.update(true, k_off) == true);
  hold.unsent(true);
  CHECK_FALSE(hold.ours());
  CHECK(hold.update(true, k_off) == true);  // the next change (a reconnect) tries again
  hold.unsent(false);
  CHECK(hold.update(false, k_on) == false);
}
