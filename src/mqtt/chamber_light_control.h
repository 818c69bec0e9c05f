// The chamber light while someone watches: switched on when wanted, and
// back to what it was after, only if we changed it and nobody changed it
// since. Users ask for it because pictures at night come out black
// (bambuddy#1655); the first pictures after it comes on are overexposed for
// about 1.5 s (bambulab/BambuStudio#5619), hence the snapshot hold.
#pragma once

#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <string>

#include "core/clock.h"
#include "core/log.h"
#include "mqtt/mqtt_session.h"
#include "pipeline/printer_state.h"

namespace bambu {

/// What to do with one light, decided from whether the stream wants it on
/// and what the printer last reported of it. Pure, not thread-safe.
///
/// It switches the light on at the rising edge of `wanted` once the
/// printer has reported its mode ("off": send on; "on" or "flashing": leave
/// it, and leave it after). It switches it off at the falling edge only if
/// it switched it on and no report said "off" since it was confirmed "on"
/// (someone switched it off while we held it: theirs from then on, until
/// the next rising edge).
class LightHold {
 public:
  /// The command to send now: true = on, false = off, nullopt = none.
  /// Call with every change of `wanted` or of `mode` (the light's
  /// lights_report mode, nullopt until reported).
  std::optional<bool> update(bool wanted, const std::optional<std::string>& mode);
  /// The command update() returned could not be sent (no connection): it
  /// is asked for again at the next update() while still wanted.
  void unsent(bool command);
  /// True from the "on" command we sent until we switch it off again or
  /// someone else takes it over.
  bool ours() const { return ours_ != Ours::no; }

 private:
  enum class Ours { no, asked, held };
  bool wanted_ = false;
  bool pending_ = false;  // wanted, waiting for the light's mode
  Ours ours_ = Ours::no;
};

/// Drives the chamber lights of one printer through an MqttSession:
/// `chamber_light` always, and `chamber_light2` (the H2D's second) when the
/// printer's lights_report lists it. Thread-safe: set_wanted() from any
/// thread, on_state() from the session's OnChange.
class ChamberLightControl {
 public:
  /// How long a snapshot waits after the light is switched on: the
  /// camera's exposure settles in about 1.5 s (bambulab/BambuStudio#5619).
  static constexpr std::chrono::milliseconds k_settle{1500};

  /// Called with a time before which no snapshot should be taken, each time
  /// the light is switched on (and again when the printer confirms it).
  using HoldSnapshots = std::function<void(Clock::time_point until)>;

  /// `session` and `log` must outlive this. `hold` may be empty.
  ChamberLightControl(MqttSession& session, const Logger& log, HoldSnapshots hold = nullptr);

  /// The stream wants the light on (true) or its previous state back.
  void set_wanted(bool wanted);
  /// Feeds a new state of the session (its OnChange).
  void on_state(const PrinterState& state);
  /// True while a light we switched on has not been switched back.
  bool holding() const;

 private:
  void apply(const PrinterState& state);
  void send(LightHold& hold, ChamberLight light, std::optional<bool> command);

  MqttSession& session_;
  const Logger& log_;
  const HoldSnapshots hold_snapshots_;
  mutable std::mutex mutex_;  // guards the members below
  bool wanted_ = false;
  PrinterState state_;
  LightHold first_, second_;
};

}  // namespace bambu
