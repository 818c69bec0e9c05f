// PrinterLink: a stream's side channel to the printer's MQTT broker
// (--mqtt, --chamber-light): the session, its state into the heartbeat, the
// printer's word on the camera before it is dialled, and the chamber light.
// It never stops the video: every MQTT failure is a log line and a
// heartbeat field; only the printer's own "LAN Only Liveview is off" ends a
// run, before the camera is dialled.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "config/stream_config.h"
#include "core/errors.h"
#include "core/log.h"
#include "core/stop_flag.h"
#include "go2rtc/viewer_count.h"
#include "mqtt/chamber_light_control.h"
#include "mqtt/mqtt_session.h"
#include "output/snapshot_writer.h"
#include "pipeline/stream_status.h"

namespace bambu {

class PrinterLink {
 public:
  /// Starts the MQTT session of config (host, serial, access code, the
  /// camera's certificate policy, --mqtt-port) on its own thread and puts
  /// the heartbeat's print-state keys in `status`. `status` and `log` must
  /// outlive this. Throws as MqttSession's constructor (FatalError(usage)
  /// for an unreadable --ca-file).
  PrinterLink(const StreamConfig& config, StreamStatus& status, const Logger& log);
  /// Calls finish().
  ~PrinterLink();
  PrinterLink(const PrinterLink&) = delete;
  PrinterLink& operator=(const PrinterLink&) = delete;

  /// Before the camera is dialled: where the report can change the run
  /// (config/source_choice.h: printer_report_decides), waits for the full
  /// report up to k_report_wait (or `stop`), then settles --source auto by
  /// it. Returns ExitCode::unreachable (4) with `error` set to
  /// liveview_off_message() when the printer says LAN Only Liveview is off;
  /// nullopt to go on (also when no report came: today's rules apply).
  std::optional<ExitCode> heed_report(StreamConfig& config, const StopFlag& stop, std::string& error);

  /// --chamber-light: switches the light on now (or, with --go2rtc-stream,
  /// while go2rtc's stream has viewers), holding `snapshots` (may be null)
  /// for ChamberLightControl::k_settle after it comes on. Does nothing
  /// without --chamber-light. Call once.
  void start_light(SnapshotWriter* snapshots);

  /// Restores the chamber light if we changed it and nobody since, then
  /// ends the session, within MqttSession::k_close_flush (plus 100 ms).
  /// Idempotent.
  void finish();

 private:
  void on_change(const MqttSession& session, const PrinterState& state);

  const bool chamber_light_;          // --chamber-light
  const std::optional<Go2rtcStreamUrl> go2rtc_stream_;  // --go2rtc-stream
  StreamStatus& status_;
  const Logger& log_;
  StopFlag session_stop_;  // never raised: finish() ends the session, after the light is restored
  std::mutex mutex_;       // guards light_ and snapshots_ against the session's callbacks
  std::unique_ptr<ChamberLightControl> light_;
  SnapshotWriter* snapshots_ = nullptr;
  std::unique_ptr<MqttSession> session_;  // its thread calls on_change()
  StopFlag watch_stop_;                   // never raised: finish() closes the watch
  std::unique_ptr<ViewerWatch> viewers_;  // --go2rtc-stream; its thread calls light_->set_wanted()
};

}  // namespace bambu
