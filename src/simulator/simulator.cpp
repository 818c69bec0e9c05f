#include "simulator/simulator.h"

#include <fcntl.h>
#include <poll.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <list>
#include <random>
#include <mutex>
#include <system_error>
#include <thread>

#include "protocol/file_tunnel.h"
#include "protocol/frame_parser.h"
#include "protocol/jpeg.h"
#include "protocol/login.h"
#include "simulator/certificate.h"
#include "simulator/jpeg_maker.h"
#include "transport/socket.h"
#include "transport/tls.h"

namespace bambu {

namespace {

// How long a client gets for its handshake and login; a real printer's
// limit is unknown, 10 s is generous for loopback and LAN.
constexpr auto k_login_timeout = std::chrono::seconds(10);
// How long one frame may take to send before the session is dropped.
constexpr auto k_send_timeout = std::chrono::seconds(10);
// How often the accept loop reaps finished sessions and waiting clients
// re-check for a free slot.
constexpr auto k_housekeeping = std::chrono::milliseconds(50);
// The size field sent by the `oversize` fault: far over k_max_frame_size.
constexpr std::uint32_t k_oversize = 0x7FFFFFF0;

// What the `undecodable` faults send: FF D8 ... FF D9, so it passes the
// whole-JPEG check, but no frame header or scan inside, so no decoder can
// make a picture of it.
std::vector<std::uint8_t> undecodable_jpeg() {
  std::vector<std::uint8_t> jpeg(2000, 0x00);
  jpeg[0] = 0xFF;
  jpeg[1] = 0xD8;
  jpeg[jpeg.size() - 2] = 0xFF;
  jpeg[jpeg.size() - 1] = 0xD9;
  return jpeg;
}

// Most frames --frames-dir takes (about 500 MB of camera JPEGs), and the
// largest file it reads.
constexpr std::size_t k_max_dir_frames = 10000;
constexpr std::uintmax_t k_max_dir_file_size = std::uintmax_t{256} << 20;

// The whole JPEGs in the .jpg, .jpeg and .mjpeg files of `dir`, in name
// order; a file may hold several back to back (a --record capture). Throws
// std::runtime_error for an unreadable folder, a file over the frame size
// limit (4 MiB), a file over 256 MiB or not whole JPEGs, more than
// k_max_dir_frames frames, or none.
std::vector<std::vector<std::uint8_t>> load_frames_dir(const std::string& dir) {
  namespace fs = std::filesystem;
  std::vector<fs::path> paths;
  for (const auto& entry : fs::directory_iterator(dir)) {
    auto ext = entry.path().extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
    if (entry.is_regular_file() && (ext == ".jpg" || ext == ".jpeg" || ext == ".mjpeg")) paths.push_back(entry.path());
  }
  if (paths.empty()) throw std::runtime_error("--frames-dir " + dir + ": no .jpg, .jpeg or .mjpeg files");
  if (paths.size() > k_max_dir_frames) {
    throw std::runtime_error("--frames-dir " + dir + ": more than " + std::to_string(k_max_dir_frames) + " files");
  }
  std::sort(paths.begin(), paths.end());
  std::vector<std::vector<std::uint8_t>> frames;
  for (const auto& path : paths) {
    if (fs::file_size(path) > k_max_dir_file_size) {
      throw std::runtime_error("--frames-dir: " + path.string() + " is over 256 MiB");
    }
    std::ifstream in(path, std::ios::binary);
    std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (!in.good() && !in.eof()) throw std::runtime_error("--frames-dir: cannot read " + path.string());
    for (auto jpeg : split_jpeg_sequence(bytes)) {  // a --record capture holds many
      if (!is_whole_jpeg(jpeg)) throw std::runtime_error("--frames-dir: " + path.string() + " is not whole JPEGs");
      if (jpeg.size() > k_max_frame_size) {
        throw std::runtime_error("--frames-dir: " + path.string() + " holds a JPEG over the 4 MiB frame limit");
      }
      if (frames.size() == k_max_dir_frames) {
        throw std::runtime_error("--frames-dir " + dir + ": more than " + std::to_string(k_max_dir_frames) +
                                 " frames");
      }
      frames.emplace_back(jpeg.begin(), jpeg.end());
    }
  }
  return frames;
}

std::vector<std::uint8_t> frame_bytes(const std::vector<std::uint8_t>& payload) {
  std::vector<std::uint8_t> bytes(k_frame_header_size + payload.size());
  encode_frame_header(FrameHeader{static_cast<std::uint32_t>(payload.size()), 0, 1, 0},
                      std::span<std::uint8_t, k_frame_header_size>(bytes.data(), k_frame_header_size));
  std::copy(payload.begin(), payload.end(), bytes.begin() + k_frame_header_size);
  return bytes;
}

}  // namespace

struct Simulator::Impl {
  struct Session {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done = std::make_shared<std::atomic<bool>>(false);
  };

  Impl(const SimulateConfig& c, const Logger& l)
      : config(c),
        log(l),
        certificate(config.cert_file.empty()
                        ? make_self_signed_certificate(config.serial,
                                                       std::chrono::system_clock::now() - std::chrono::hours(1),
                                                       std::chrono::system_clock::now() + std::chrono::hours(24 * 3650))
                        : load_certificate(config.cert_file, config.key_file)),
        tls_context(TlsContext::server(certificate.cert.get(), certificate.key.get())),
        listener(tcp_listen(config.listen_host, config.listen_port)),
        port(local_port(listener.get())),
        maker(config.width, config.height),
        small_maker(config.width / 2 & ~1, config.height / 2 & ~1) {
    if (!config.frames_dir.empty()) recorded = load_frames_dir(config.frames_dir);
    if (!config.record_path.empty()) {
      record.reset(::open(config.record_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
      if (!record) throw std::system_error(errno, std::generic_category(), "--record " + config.record_path);
    }
    if (!config.timing_path.empty()) {
      // O_APPEND: sessions write their lines from their own threads.
      timing.reset(::open(config.timing_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644));
      if (!timing) throw std::system_error(errno, std::generic_category(), "--timing " + config.timing_path);
    }
    if (!config.cert_out.empty()) {
      std::string pem = certificate_pem(certificate.cert.get());
      UniqueFd out(::open(config.cert_out.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
      if (!out || write_all_fd(out.get(), pem.data(), pem.size()) != 0) {
        throw std::system_error(errno, std::generic_category(), "--cert-out " + config.cert_out);
      }
    }
  }

  // Waits for a free session slot. Returns false if the client left or the
  // simulator stops first. A waiting client gets no ServerHello, as with the
  // printer when its camera slots are taken.
  bool acquire_slot(int fd) {
    std::unique_lock lock(slot_mutex);
    while (active_sessions >= config.max_sessions) {
      if (stop.stop_requested()) return false;
      pollfd p{fd, POLLRDHUP, 0};
      if (::poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0) return false;
      slot_freed.wait_for(lock, k_housekeeping);
    }
    ++active_sessions;
    return true;
  }

  void release_slot() {
    {
      std::lock_guard lock(slot_mutex);
      --active_sessions;
    }
    slot_freed.notify_all();
  }

  std::vector<std::uint8_t> make_frame() {
    std::lock_guard lock(maker_mutex);
    ++frame_number;
    if (!recorded.empty()) return recorded[static_cast<std::size_t>((frame_number - 1) % recorded.size())];
    return maker.make(frame_number, std::chrono::system_clock::now());
  }

  // The frame to send as number `sent` of a session with `fault`.
  std::vector<std::uint8_t> frame_for(SimulatorFault fault, std::uint64_t sent) {
    if (sent >= config.fault_after) {
      if (fault == SimulatorFault::undecodable_all) return undecodable_jpeg();
      if (fault == SimulatorFault::resize) {
        std::lock_guard lock(maker_mutex);
        return small_maker.make(++frame_number, std::chrono::system_clock::now());
      }
    }
    return make_frame();
  }

  // The next frame interval: 1/fps, moved at random by up to --jitter.
  Clock::duration next_interval(Clock::duration interval) {
    if (config.jitter_ms <= 0) return interval;
    std::lock_guard lock(maker_mutex);
    std::uniform_real_distribution<double> jitter(-config.jitter_ms, config.jitter_ms);
    const auto moved = interval + std::chrono::duration_cast<Clock::duration>(
                                      std::chrono::duration<double, std::milli>(jitter(random)));
    return std::max<Clock::duration>(moved, std::chrono::milliseconds(1));
  }

  void record_frame(const std::vector<std::uint8_t>& jpeg) {
    if (!record) return;
    std::lock_guard lock(record_mutex);
    write_all_fd(record.get(), jpeg.data(), jpeg.size());
  }

  // For bench/: when the last byte of a frame (header + payload) was handed
  // to the kernel, on CLOCK_MONOTONIC (what steady_clock reads on Linux, and
  // Python's time.monotonic_ns()), so a reader on the same machine can
  // compute each frame's latency. One write(2) per line.
  void time_frame(std::uint64_t session, std::uint64_t sent, std::size_t bytes) {
    if (!timing) return;
    timespec now{};
    ::clock_gettime(CLOCK_MONOTONIC, &now);
    std::string line = std::to_string(session) + ' ' + std::to_string(sent) + ' ' +
                       std::to_string(std::int64_t{now.tv_sec} * 1'000'000'000 + now.tv_nsec) + ' ' +
                       std::to_string(bytes) + '\n';
    write_all_fd(timing.get(), line.data(), line.size());
  }

  // Reads the 80-byte login. Returns false (and says why in `why`) if the
  // client does not send it in time.
  bool read_login(TlsStream& tls, LoginPacket& packet, std::string& why) {
    std::size_t got = 0;
    Deadline deadline = Clock::now() + k_login_timeout;
    while (got < packet.size()) {
      TlsResult r = tls.read_some(std::span(packet).subspan(got), deadline, stop);
      if (r.status != TlsStatus::ok) {
        why = r.status == TlsStatus::timed_out ? "no login within 10 s" : "closed before the login: " + r.detail;
        return false;
      }
      got += r.bytes;
    }
    return true;
  }

  // Sleeps until `until` while watching the client. Returns false (with the
  // reason) if the client closed the session or the simulator stops.
  bool idle_until(TlsStream& tls, Deadline until, std::string& why) {
    std::uint8_t scratch[256];
    for (;;) {
      TlsResult r = tls.read_some(scratch, until, stop);
      switch (r.status) {
        case TlsStatus::timed_out: return true;
        case TlsStatus::ok: continue;  // clients never need to send anything more; ignore it
        case TlsStatus::stopped: why = "simulator stopping"; return false;
        case TlsStatus::closed: why = "closed by the client"; return false;
        case TlsStatus::failed: why = "client connection failed: " + r.detail; return false;
      }
    }
  }

  bool send(TlsStream& tls, std::span<const std::uint8_t> bytes, std::string& why) {
    TlsResult r = tls.write_all(bytes, Clock::now() + k_send_timeout, stop);
    if (r.status == TlsStatus::ok) return true;
    why = r.status == TlsStatus::stopped ? "simulator stopping" : "send failed: " + r.detail;
    return false;
  }

  void serve(UniqueFd fd, std::uint64_t id) {
    if (!acquire_slot(fd.get())) {
      log.debug("session {}: client left while waiting for a free slot", id);
      return;
    }
    struct SlotGuard {
      Impl& impl;
      ~SlotGuard() { impl.release_slot(); }  // also when the session throws
    } slot{*this};
    std::string why = "ended";
    {
      TlsStream tls(tls_context, std::move(fd), TlsStream::Role::server);
      why = stream_to(tls, id);
      tls.close(Clock::now() + std::chrono::milliseconds(200));
    }
    log.info("session {} closed: {}", id, why);
  }

  // The session after the slot is taken; returns why it ended.
  std::string stream_to(TlsStream& tls, std::uint64_t id) {
    TlsResult hs = tls.handshake(Clock::now() + k_login_timeout, stop);
    if (hs.status != TlsStatus::ok) return "TLS handshake failed: " + hs.detail;
    LoginPacket packet{};
    std::string why;
    if (!read_login(tls, packet, why)) return why;
    if (config.fault == SimulatorFault::tunnel) return answer_as_tunnel(tls);
    Login login = parse_login_packet(packet);
    if (login.type != k_login_type_start_video || login.user != k_login_user ||
        login.access_code != config.access_code) {
      // As the printer does: no error on the wire, the connection just closes.
      return "wrong login (user or access code); closed without a frame";
    }
    // Logged-in sessions right now, this one included: what a slot-safety
    // test reads to prove a client never holds two at once.
    struct OpenCount {
      std::atomic<int>& open;
      int now = ++open;
      ~OpenCount() { --open; }
    } counted{open_sessions};
    if (config.fault == SimulatorFault::slots_full) {
      log.info("session {} logged in: fault slots-full: sending nothing, {} open", id, counted.now);
      idle_until(tls, Clock::time_point::max(), why);
      return "fault slots-full: " + why;
    }
    log.info("session {} opened: streaming at {} fps, {} open", id, config.fps, counted.now);
    SimulatorFault fault = SimulatorFault::none;
    if (config.fault != SimulatorFault::none && !fault_used.exchange(true)) fault = config.fault;

    const auto interval = seconds_to_duration(1.0 / config.fps);
    Deadline next = Clock::now();
    for (std::uint64_t sent = 0;; ++sent) {
      if (!idle_until(tls, next, why)) return why;
      if (fault != SimulatorFault::none && sent == config.fault_after) {
        if (auto ended = inject(tls, fault)) return *ended;
      }
      std::vector<std::uint8_t> jpeg = frame_for(fault, sent);
      if (!send(tls, frame_bytes(jpeg), why)) return why;
      time_frame(id, sent, k_frame_header_size + jpeg.size());
      record_frame(jpeg);
      std::uint64_t total = ++frames_sent;
      if (config.frames != 0 && total >= config.frames) {
        stop.request_stop(StopReason::requested);
        return "sent --frames " + std::to_string(config.frames) + " frames";
      }
      next += next_interval(interval);
      if (next < Clock::now()) next = Clock::now();  // fell behind: do not burst
    }
  }

  // The `tunnel` fault: what port 6000 of an X1, P2S, H2 or X2D does with the
  // camera's login (../shared/docs/port6000-protocol.md): one short frame in
  // the file tunnel's framing {u32 payload length, u32 magic, u32 sequence,
  // u32 0}, then the connection closes. The 8-byte payload stands in for the
  // real answer, whose content no public source gives.
  std::string answer_as_tunnel(TlsStream& tls) {
    std::array<std::uint8_t, k_frame_header_size + 8> reply{};
    encode_frame_header(FrameHeader{8, k_file_tunnel_login_reply, 1, 0},
                        std::span<std::uint8_t, k_frame_header_size>(reply.data(), k_frame_header_size));
    std::string why;
    if (!send(tls, reply, why)) return why;
    return "fault tunnel: answered the camera login as the file-transfer tunnel, then closed";
  }

  // Applies `fault`. Returns the reason the session ends, or nullopt if it
  // carries on streaming afterwards.
  std::optional<std::string> inject(TlsStream& tls, SimulatorFault fault) {
    std::string why;
    switch (fault) {
      case SimulatorFault::none: return std::nullopt;
      case SimulatorFault::drop_mid_frame: {
        std::vector<std::uint8_t> bytes = frame_bytes(make_frame());
        if (!send(tls, std::span(bytes).first(bytes.size() / 2), why)) return why;
        tls.abort();
        return "fault drop-mid-frame: dropped the connection mid-frame";
      }
      case SimulatorFault::stall:
        idle_until(tls, Clock::time_point::max(), why);
        return "fault stall: " + why;
      case SimulatorFault::oversize: {
        std::array<std::uint8_t, k_frame_header_size> header{};
        encode_frame_header(FrameHeader{k_oversize, 0, 1, 0}, header);
        if (!send(tls, header, why)) return why;
        idle_until(tls, Clock::time_point::max(), why);
        return "fault oversize: " + why;
      }
      case SimulatorFault::non_jpeg: {
        std::vector<std::uint8_t> garbage(1000, 0x55);
        if (!send(tls, frame_bytes(garbage), why)) return why;
        return std::nullopt;
      }
      case SimulatorFault::undecodable:
        if (!send(tls, frame_bytes(undecodable_jpeg()), why)) return why;
        return std::nullopt;
      case SimulatorFault::undecodable_all:
      case SimulatorFault::resize:
        return std::nullopt;  // frame_for() sends them
      case SimulatorFault::tunnel:
      case SimulatorFault::slots_full: break;  // every session, before streaming: stream_to()
    }
    return std::nullopt;
  }

  void run(const StopFlag& outer) {
    std::list<Session> sessions;
    std::uint64_t next_id = 0;
    while (!stop.stop_requested()) {
      if (outer.stop_requested()) stop.request_stop(StopReason::requested);
      pollfd fds[3] = {{listener.get(), POLLIN, 0}, {outer.fd(), POLLIN, 0}, {stop.fd(), POLLIN, 0}};
      ::poll(fds, 3, static_cast<int>(k_housekeeping.count()));
      if (fds[0].revents & POLLIN) {
        while (UniqueFd client = tcp_accept(listener.get())) {
          std::uint64_t id = ++next_id;
          log.debug("session {}: TCP connection accepted", id);
          Session& s = sessions.emplace_back();
          s.thread = std::thread([this, fd = std::move(client), id, done = s.done]() mutable {
            try {
              serve(std::move(fd), id);
            } catch (const std::exception& e) {
              // One broken session (an encoder or OpenSSL failure) must not
              // take the simulator, or the --demo stream, down with it.
              log.error("session {}: {}", id, e.what());
            }
            done->store(true);
          });
        }
      }
      sessions.remove_if([](Session& s) {
        if (!s.done->load()) return false;
        s.thread.join();
        return true;
      });
    }
    stop.request_stop(StopReason::requested);
    for (auto& s : sessions) s.thread.join();
  }

  const SimulateConfig config;
  const Logger& log;
  Certificate certificate;
  TlsContext tls_context;
  UniqueFd listener;
  std::uint16_t port;
  std::mutex maker_mutex;
  JpegMaker maker;
  JpegMaker small_maker;                        // the resize fault's half-size frames
  std::vector<std::vector<std::uint8_t>> recorded;  // --frames-dir, in name order
  std::uint64_t frame_number = 0;  // guarded by maker_mutex
  std::mt19937 random{std::random_device{}()};  // --jitter; guarded by maker_mutex
  std::mutex record_mutex;
  UniqueFd record;
  UniqueFd timing;  // --timing: O_APPEND, one write(2) per line, so no mutex
  std::mutex slot_mutex;
  std::condition_variable slot_freed;
  int active_sessions = 0;
  std::atomic<std::uint64_t> frames_sent{0};
  std::atomic<bool> fault_used{false};
  std::atomic<int> open_sessions{0};  // logged in, not yet ended
  StopFlag stop;  // raised by the outer stop, or after --frames
};

Simulator::Simulator(const SimulateConfig& config, const Logger& log)
    : impl_(std::make_unique<Impl>(config, log)) {}

Simulator::~Simulator() = default;

std::uint16_t Simulator::port() const { return impl_->port; }

std::string Simulator::fingerprint() const {
  Fingerprint fp{};
  unsigned int len = 0;
  X509_digest(impl_->certificate.cert.get(), EVP_sha256(), fp.data(), &len);
  return format_fingerprint(fp);
}

void Simulator::run(const StopFlag& stop) { impl_->run(stop); }

}  // namespace bambu
