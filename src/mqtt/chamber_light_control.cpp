#include "mqtt/chamber_light_control.h"

namespace bambu {

std::optional<bool> LightHold::update(bool wanted, const std::optional<std::string>& mode) {
  const bool rising = wanted && !wanted_;
  const bool falling = !wanted && wanted_;
  wanted_ = wanted;
  if (rising) pending_ = true;
  if (falling) {
    pending_ = false;
    const bool restore = ours_ != Ours::no;
    ours_ = Ours::no;
    return restore ? std::optional<bool>(false) : std::nullopt;
  }
  if (ours_ == Ours::asked && mode == "on") {
    ours_ = Ours::held;
  } else if (ours_ == Ours::held && mode == "off") {
    ours_ = Ours::no;  // switched off by someone else: theirs now
  }
  if (!pending_ || !mode) return std::nullopt;
  pending_ = false;
  if (*mode != "off") return std::nullopt;  // on (or flashing) already: not ours to restore
  ours_ = Ours::asked;
  return true;
}

void LightHold::unsent(bool command) {
  if (!command) return;  // a restore that could not be sent: nothing to retry
  ours_ = Ours::no;
  pending_ = wanted_;
}

ChamberLightControl::ChamberLightControl(MqttSession& session, const Logger& log, HoldSnapshots hold)
    : session_(session), log_(log), hold_snapshots_(std::move(hold)) {}

void ChamberLightControl::set_wanted(bool wanted) {
  std::lock_guard lock(mutex_);
  wanted_ = wanted;
  apply(state_);
}

void ChamberLightControl::on_state(const PrinterState& state) {
  std::lock_guard lock(mutex_);
  const bool confirmed = first_.ours() && state_.chamber_light != "on" && state.chamber_light == "on";
  state_ = state;
  if (confirmed && hold_snapshots_) hold_snapshots_(Clock::now() + k_settle);
  apply(state_);
}

bool ChamberLightControl::holding() const {
  std::lock_guard lock(mutex_);
  return first_.ours() || second_.ours();
}

// Runs under mutex_. The second light only where the printer reports one.
void ChamberLightControl::apply(const PrinterState& state) {
  send(first_, ChamberLight::first, first_.update(wanted_, state.chamber_light));
  if (state.chamber_light2 || second_.ours()) {
    send(second_, ChamberLight::second, second_.update(wanted_, state.chamber_light2));
  }
}

void ChamberLightControl::send(LightHold& hold, ChamberLight light, std::optional<bool> command) {
  if (!command) return;
  const char* mode = *command ? "on" : "off";
  // Held before the command goes out, so that no picture taken meanwhile
  // slips through.
  if (*command && hold_snapshots_) hold_snapshots_(Clock::now() + k_settle);
  if (!session_.set_chamber_light(light, *command)) {
    hold.unsent(*command);
    log_.warning("mqtt: could not switch {} {}: not connected to the printer's MQTT broker{}", to_string(light),
                 mode, *command ? "; trying again when it is" : "");
    return;
  }
  log_.info("mqtt: switched {} {}{}", to_string(light), mode, *command ? " while the stream runs" : ", as it was");
}

}  // namespace bambu
