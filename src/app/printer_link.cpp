#include "app/printer_link.h"

#include "config/mqtt_options.h"
#include "config/source_choice.h"

namespace bambu {

PrinterLink::PrinterLink(const StreamConfig& config, StreamStatus& status, const Logger& log)
    : chamber_light_(config.chamber_light), go2rtc_stream_(config.go2rtc_stream), status_(status), log_(log) {
  status_.set_printer(PrinterState{}, false, "");
  session_ = std::make_unique<MqttSession>(mqtt_options_for(config), log_, session_stop_,
                                           [this](const MqttSession& session, const PrinterState& state) {
                                             on_change(session, state);
                                           });
}

PrinterLink::~PrinterLink() { finish(); }

// On the session's thread: the heartbeat's keys, then the light.
void PrinterLink::on_change(const MqttSession& session, const PrinterState& state) {
  status_.set_printer(state, session.connected(), session.last_error());
  std::lock_guard lock(mutex_);
  if (light_) light_->on_state(state);
}

std::optional<ExitCode> PrinterLink::heed_report(StreamConfig& config, const StopFlag& stop, std::string& error) {
  if (!printer_report_decides(config)) return std::nullopt;
  const Deadline deadline = Clock::now() + k_report_wait;
  // In slices, so that a signal during the wait ends it at once.
  while (!stop.stop_requested() && Clock::now() < deadline) {
    if (session_->wait_for_full_report(std::min(deadline, Clock::now() + std::chrono::milliseconds(100)))) break;
  }
  const PrinterState state = session_->state();
  const CameraWord word = camera_word(state);
  if (word == CameraWord::liveview_off) {
    error = liveview_off_message(state);
    status_.set_state(StreamState::failed, error);
    return ExitCode::unreachable;
  }
  if (word == CameraWord::none) {
    log_.debug("mqtt: no full report within {} s; the camera is dialled by today's rules", k_report_wait.count());
  }
  settle_source_by_report(config, word);
  if (config.source_basis == SourceBasis::printer_report) {
    status_.set_endpoint(std::string(to_string(config.source)), config.host, config.port);
    log_.debug("mqtt: the printer's report says {}", to_string(config.source));
  }
  return std::nullopt;
}

void PrinterLink::start_light(SnapshotWriter* snapshots) {
  if (!chamber_light_) return;
  std::lock_guard lock(mutex_);
  snapshots_ = snapshots;
  light_ = std::make_unique<ChamberLightControl>(*session_, log_, [this](Clock::time_point until) {
    if (snapshots_) snapshots_->hold_until(until);
  });
  light_->on_state(session_->state());
  if (!go2rtc_stream_) {
    light_->set_wanted(true);
    return;
  }
  // go2rtc's viewers decide, its preload left out.
  viewers_ = std::make_unique<ViewerWatch>(*go2rtc_stream_, log_, watch_stop_, [this](std::optional<int> viewers) {
    if (!viewers) return;  // go2rtc cannot be asked: the light stays as it is
    std::lock_guard held(mutex_);
    if (light_) light_->set_wanted(*viewers > 0);
  });
}

void PrinterLink::finish() {
  if (!session_) return;
  if (viewers_) viewers_->close();  // no viewer count switches the light on again
  {
    std::lock_guard lock(mutex_);
    if (light_) light_->set_wanted(false);
  }
  session_->close();
  std::lock_guard lock(mutex_);
  light_.reset();
  snapshots_ = nullptr;
}

}  // namespace bambu
