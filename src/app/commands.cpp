#include <fcntl.h>
#include <openssl/rand.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cstring>
#include <memory>
#include <optional>
#include <system_error>
#include <thread>

#include "app/commands.h"
#include "app/printer_link.h"
#include "core/log.h"
#include "heartbeat/heartbeat.h"
#include "media/encoding_sink.h"
#include "media/h264_encoder.h"
#include "media/keyframe_jpeg.h"
#include "media/libav.h"
#include "output/frame_writer.h"
#include "output/snapshot_writer.h"
#include "simulator/simulator.h"
#include "stream/camera_client.h"
#include "stream/rtsps_client.h"
#include "stream/source_probe.h"
#include "transport/endpoint.h"
#include "transport/socket.h"

namespace bambu {

namespace {

// Time the stdout writer gets to finish its frame at shutdown; the whole
// shutdown must fit in go2rtc's 1 s expectation.
constexpr auto k_drain_grace = std::chrono::milliseconds(300);

// An 8-digit code like the printers', for the demo's simulator.
std::string random_access_code() {
  unsigned char bytes[8];
  if (RAND_bytes(bytes, sizeof bytes) != 1) throw std::runtime_error("RAND_bytes failed");
  std::string code;
  for (auto b : bytes) code += static_cast<char>('0' + b % 10);
  return code;
}

// The demo's simulator, run on its own thread for the life of the stream.
class DemoPrinter {
 public:
  DemoPrinter(StreamConfig& config, const Logger& log) {
    SimulateConfig sim;
    sim.listen_host = "127.0.0.1";
    sim.listen_port = 0;
    sim.access_code = random_access_code();
    log_ = std::make_unique<Logger>(log.enabled(LogLevel::debug) ? LogLevel::debug : LogLevel::warning,
                                    "simulator: ");
    log_->add_secret(sim.access_code);
    simulator_ = std::make_unique<Simulator>(sim, *log_);
    config.host = sim.listen_host;
    config.port = simulator_->port();
    config.access_code = sim.access_code;
    thread_ = std::thread([this] { simulator_->run(stop_); });
  }
  ~DemoPrinter() {
    stop_.request_stop(StopReason::requested);
    thread_.join();
  }

 private:
  std::unique_ptr<Logger> log_;
  std::unique_ptr<Simulator> simulator_;
  StopFlag stop_;
  std::thread thread_;  // last: started once the rest exists
};

// --source auto with nothing else to go on: probes the ports (half the
// start budget per port, so both fit, but at most 3 s each) and settles
// config's source and port. On failure sets the status and returns the
// exit code, with `error` set (empty when stopped).
std::optional<ExitCode> probe_camera(StreamConfig& config, StreamStatus& status, const StopFlag& stop,
                                     const Logger& log, std::string& error) {
  const auto per_port =
      std::min<Clock::duration>(seconds_to_duration(config.start_timeout_s) / 2, std::chrono::seconds(3));
  status.set_state(StreamState::connecting);
  std::optional<ExitCode> failed;
  if (!probe_source(config, per_port, stop, log, error)) {
    failed = error.empty() ? ExitCode::ok : ExitCode::unreachable;
    status.set_state(error.empty() ? StreamState::stopped : StreamState::failed, error);
  }
  status.set_endpoint(std::string(to_string(config.source)), config.host, config.port);
  return failed;
}

// --timing: the file that gets one line per unit written, emptied; an
// invalid descriptor without the option. Throws FatalError(usage) if it
// cannot be opened.
UniqueFd open_timing_file(const std::string& path) {
  UniqueFd timing;
  if (path.empty()) return timing;
  timing.reset(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644));
  if (!timing) throw FatalError(ExitCode::usage, fmt::format("--timing {}: {}", path, std::strerror(errno)));
  return timing;
}

// Runs the client of config.source into `sink` until it ends; RTSPS
// keyframes go to `snapshots` when one is due.
ExitCode run_camera(const StreamConfig& config, const TlsContext& tls, FrameSink& sink, StreamStatus& status,
                    std::optional<SnapshotWriter>& snapshots, StopFlag& stop, const Logger& log,
                    std::string& error) {
  if (config.source == SourceChoice::rtsps) {
    RtspsClient client(config, tls, sink, status, log, stop);
    if (snapshots) {
      client.set_keyframe_tap([&snapshots](std::span<const std::uint8_t> keyframe) {
        if (snapshots->due()) snapshots->offer(keyframe);
      });
    }
    return client.run(error);
  }
  CameraClient client(config, tls, sink, status, log, stop);
  return client.run(error);
}

// The stages of a settled source, wired and run: camera client ->
// [SnapshotTap] -> [EncodingSink, for the port-6000 JPEGs as H.264] ->
// FrameWriter -> stdout. Returns the exit code, with `error` set when it
// is not ok; a failed stdout or encoder turns it into an internal error.
ExitCode run_pipeline(const StreamConfig& config, const TlsContext& tls, StreamStatus& status,
                      std::optional<SnapshotWriter>& snapshots, std::optional<HeartbeatWriter>& heartbeat,
                      StopFlag& stop, const Logger& log, std::string& error) {
  const bool encode = config.source == SourceChoice::jpeg && is_h264(config.format);
  std::optional<LibavLogRoute> libav_log;
  if (encode) libav_log.emplace(log);
  const UniqueFd timing = open_timing_file(config.timing_path);
  status.set_output(std::string(to_string(config.format)), "");
  const Backlog backlog = config.format == OutputFormat::mjpeg ? Backlog::newest_frame : Backlog::until_keyframe;
  FrameWriter writer(STDOUT_FILENO, config.frames, status, stop, backlog, timing.get());
  std::optional<EncodingSink> encoder;
  if (encode) {
    try {
      // Opens the encoder now, so that a bad --encoder fails before any
      // connection and the first JPEG does not wait for it.
      encoder.emplace(config.encoder, config.format, config.empty_pes, writer, status, log, stop);
    } catch (const EncoderUnavailable& e) {
      status.set_state(StreamState::failed, e.what());
      if (heartbeat) heartbeat->finish();
      throw FatalError(ExitCode::usage, e.what());
    }
  }
  ExitCode code = ExitCode::ok;
  try {
    FrameSink& output = encoder ? static_cast<FrameSink&>(*encoder) : writer;
    std::optional<SnapshotTap> tap;
    if (snapshots && config.source == SourceChoice::jpeg) tap.emplace(*snapshots, output);
    code = run_camera(config, tls, tap ? static_cast<FrameSink&>(*tap) : output, status, snapshots, stop, log, error);
  } catch (const std::exception& e) {
    // Exit 1 follows from main(); the heartbeat must not claim we still stream.
    status.set_state(StreamState::failed, std::string("internal error: ") + e.what());
    throw;
  }
  if (encoder) encoder->finish();
  writer.finish(k_drain_grace);
  if (stop.reason() == StopReason::output_failed || stop.reason() == StopReason::encoder_failed) {
    error = stop.reason() == StopReason::output_failed
                ? fmt::format("cannot write the video to stdout: {}", std::strerror(writer.error()))
                : encoder->error();
    status.set_state(StreamState::failed, error);
    return ExitCode::internal;
  }
  return code;
}

// --snapshot: the port-6000 JPEGs as they come; the RTSPS keyframes
// decoded to JPEG on the writer's thread, only when one is due. Throws
// FatalError(usage), with the status failed, if its folder cannot be made.
void open_snapshots(const StreamConfig& config, StreamStatus& status, const Logger& log,
                    std::optional<SnapshotWriter>& snapshots) {
  SnapshotWriter::Converter convert;
  if (config.source != SourceChoice::jpeg) {
    convert = [](std::span<const std::uint8_t> keyframe) { return KeyframeJpeg().convert(keyframe); };
  }
  try {
    snapshots.emplace(config.snapshot_path, config.snapshot_interval_s, status, log, std::move(convert));
  } catch (const FatalError& e) {
    status.set_state(StreamState::failed, e.what());  // the heartbeat must say why we ended
    throw;
  }
}

}  // namespace

ExitCode run_stream(StreamConfig config, StopFlag& stop) {
  Logger log(config.log_level);
  log.add_secret(config.access_code);
  log.add_secret(url_encode(config.access_code));  // as it appears in libavformat's RTSP URL

  std::optional<DemoPrinter> demo;
  if (config.demo) {
    demo.emplace(config, log);
    log.add_secret(config.access_code);
    log.debug("demo: streaming from the built-in simulator on {}", format_endpoint(config.host, config.port));
  }

  TlsContext tls = TlsContext::client(config.tls);
  StreamStatus status(std::string(to_string(config.source)), config.host, config.port);
  std::optional<HeartbeatWriter> heartbeat;
  if (!config.heartbeat_path.empty()) heartbeat.emplace(config.heartbeat_path, status, log);

  std::string error;
  std::optional<ExitCode> code;
  std::optional<SnapshotWriter> snapshots;  // before `printer`, whose light holds it, so it outlives it
  // --mqtt: the printer's word first, where it can change the run.
  std::optional<PrinterLink> printer;
  if (config.mqtt) {
    printer.emplace(config, status, log);
    code = printer->heed_report(config, stop, error);
  }
  if (!code && config.source == SourceChoice::automatic) code = probe_camera(config, status, stop, log, error);
  if (!code) {
    if (!config.snapshot_path.empty()) open_snapshots(config, status, log, snapshots);
    if (printer) printer->start_light(snapshots ? &*snapshots : nullptr);
    code = run_pipeline(config, tls, status, snapshots, heartbeat, stop, log, error);
  }
  if (*code != ExitCode::ok) {
    log.error("{}", error);
  } else {
    log.debug("stopped: {}", to_string(stop.reason()));
  }
  if (printer) printer->finish();  // the light restored before the last heartbeat
  if (snapshots) snapshots->finish();
  if (heartbeat) heartbeat->finish();
  return *code;
}

ExitCode run_simulate(const SimulateConfig& config, StopFlag& stop) {
  Logger log(config.log_level, "simulator: ");
  log.add_secret(config.access_code);
  std::optional<Simulator> simulator;
  try {
    simulator.emplace(config, log);
  } catch (const std::runtime_error& e) {
    // A taken port or an unwritable --record/--cert-out: the user's to fix.
    throw FatalError(ExitCode::usage, e.what());
  }
  // Always printed: scripts and tests read the port from this line.
  log.always(fmt::format("listening on {} (serial {}, certificate SHA-256 {})",
                         format_endpoint(config.listen_host, simulator->port()), config.serial,
                         simulator->fingerprint()));
  simulator->run(stop);
  return ExitCode::ok;
}

}  // namespace bambu
