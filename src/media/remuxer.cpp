#include "media/remuxer.h"

#include <algorithm>
#include <stdexcept>
#include <utility>

#include "media/libav.h"

namespace bambu {

namespace {

// Size of the buffer between the mpegts muxer and our byte sink: 22 TS
// packets; the muxer's output is flushed after every access unit anyway.
constexpr int k_io_buffer_size = 22 * 188;

// MPEG-TS packet size and the PID of the SDT (ISO/IEC 13818-1; ETSI EN 300 468).
constexpr std::size_t k_ts_packet = 188;
constexpr unsigned k_sdt_pid = 0x11;

// Leaves out the SDT packets. The SDT (DVB service names: "Service01" by
// "FFmpeg") is optional, means nothing to go2rtc or players, and libavformat
// writes it before the PAT, while a stream should open with PAT and PMT.
// The muxer writes whole 188-byte packets, so `ts` splits evenly.
std::vector<std::uint8_t> drop_sdt(std::vector<std::uint8_t> ts) {
  std::size_t kept = 0;
  for (std::size_t i = 0; i + k_ts_packet <= ts.size(); i += k_ts_packet) {
    const unsigned pid = ((ts[i + 1] & 0x1Fu) << 8) | ts[i + 2];
    if (pid == k_sdt_pid) continue;
    if (kept != i) std::copy_n(ts.begin() + static_cast<std::ptrdiff_t>(i), k_ts_packet,
                               ts.begin() + static_cast<std::ptrdiff_t>(kept));
    kept += k_ts_packet;
  }
  ts.resize(kept);
  return ts;
}

[[noreturn]] void throw_av(const char* what, int err) {
  throw std::runtime_error(std::string("MPEG-TS muxer: ") + what + ": " + av_error_text(err));
}

}  // namespace

/// libavformat's mpegts muxer writing into a byte vector.
struct Remuxer::Muxer {
  AVFormatContext* context = nullptr;
  AVIOContext* io = nullptr;
  AVPacket* packet = nullptr;
  std::vector<std::uint8_t> bytes;  // written since the last take

  // AVIOContext write callback (FFmpeg 5.1's signature).
  static int write(void* opaque, std::uint8_t* data, int size) {
    auto* self = static_cast<Muxer*>(opaque);
    self->bytes.insert(self->bytes.end(), data, data + size);
    return size;
  }

  ~Muxer() {
    const Libav& av = libav();
    const LibavFormat& avf = libav_format();  // loaded: open_mpegts() made this
    if (context != nullptr) avf.avformat_free_context(context);
    if (io != nullptr) {
      av.av_free(io->buffer);
      avf.avio_context_free(&io);
    }
    av.av_packet_free(&packet);
  }
};

Remuxer::Remuxer(OutputFormat format, bool wallclock_timestamps, bool empty_pes, FrameSink& sink, const Logger& log)
    : format_(format), sink_(sink), log_(log), timeline_(wallclock_timestamps), empty_pes_(k_video_pid, empty_pes) {
  if (format != OutputFormat::mpegts && format != OutputFormat::h264) {
    throw std::invalid_argument("Remuxer: format must be mpegts or h264");
  }
}

Remuxer::~Remuxer() = default;

void Remuxer::begin_session(const AVCodecParameters& parameters, AVRational time_base) {
  parameters_ = &parameters;
  if (parameters.extradata != nullptr && parameters.extradata_size > 0) {
    parameter_sets_.learn({parameters.extradata, static_cast<std::size_t>(parameters.extradata_size)});
  }
  time_base_num_ = time_base.num > 0 ? time_base.num : 1;
  time_base_den_ = time_base.den > 0 ? time_base.den : Timeline::k_ticks_per_second;
  waiting_for_keyframe_ = true;
  frozen_warned_ = false;
  timeline_.begin_session();
}

void Remuxer::open_mpegts() {
  const Libav& av = libav();
  const LibavFormat& avf = libav_format();
  auto muxer = std::make_unique<Muxer>();
  muxer->packet = av.av_packet_alloc();
  if (muxer->packet == nullptr) throw std::bad_alloc();
  if (int err = avf.avformat_alloc_output_context2(&muxer->context, nullptr, "mpegts", nullptr); err < 0) {
    throw_av("cannot create it", err);
  }
  auto* buffer = static_cast<unsigned char*>(av.av_malloc(k_io_buffer_size));
  if (buffer == nullptr) throw std::bad_alloc();
  muxer->io = avf.avio_alloc_context(buffer, k_io_buffer_size, 1, muxer.get(), nullptr, &Muxer::write, nullptr);
  if (muxer->io == nullptr) {
    av.av_free(buffer);
    throw std::bad_alloc();
  }
  muxer->context->pb = muxer->io;
  AVStream* stream = avf.avformat_new_stream(muxer->context, nullptr);
  if (stream == nullptr) throw std::bad_alloc();
  if (int err = av.avcodec_parameters_copy(stream->codecpar, parameters_); err < 0) {
    throw_av("cannot copy the stream parameters", err);
  }
  stream->codecpar->codec_tag = 0;  // the RTSP demuxer's tag means nothing in MPEG-TS
  stream->time_base = AVRational{1, static_cast<int>(Timeline::k_ticks_per_second)};
  AVDictionary* options = nullptr;
  av.av_dict_set(&options, "mpegts_start_pid", std::to_string(k_video_pid).c_str(), 0);
  const int err = avf.avformat_write_header(muxer->context, &options);
  av.av_dict_free(&options);
  if (err < 0) throw_av("cannot start", err);
  muxer_ = std::move(muxer);
}

std::vector<std::uint8_t> Remuxer::mux(const AccessUnit& au, std::int64_t pts) {
  const Libav& av = libav();
  const LibavFormat& avf = libav_format();
  AVPacket* p = muxer_->packet;
  av.av_packet_unref(p);
  p->data = const_cast<std::uint8_t*>(au.bytes.data());  // not reference-counted: the muxer copies or reads only
  p->size = static_cast<int>(au.bytes.size());
  p->stream_index = 0;
  p->pts = pts;
  p->dts = pts;  // Constrained Baseline has no B-frames: decode order is display order
  p->flags = au.keyframe ? AV_PKT_FLAG_KEY : 0;
  const int err = avf.av_write_frame(muxer_->context, p);
  p->data = nullptr;
  p->size = 0;
  if (err < 0) throw_av("cannot write a packet", err);
  avf.avio_flush(muxer_->io);
  std::vector<std::uint8_t> ts = drop_sdt(std::exchange(muxer_->bytes, {}));
  empty_pes_.apply(ts);
  return ts;
}

void Remuxer::post(std::vector<std::uint8_t> unit, bool keyframe, bool repeat) {
  if (repeat) {
    sink_.post_repeat(std::move(unit), keyframe);
  } else {
    sink_.post(std::move(unit), keyframe);
  }
}

bool Remuxer::add(const AVPacket& packet, Clock::time_point arrival) {
  if (packet.data == nullptr || packet.size <= 0) return false;
  std::optional<std::int64_t> source;
  const std::int64_t ts = packet.pts != AV_NOPTS_VALUE ? packet.pts : packet.dts;
  if (ts != AV_NOPTS_VALUE) {
    // ts * num * 90000 / den, split so that it cannot overflow for any
    // timestamp a camera sends (the RTSP demuxer's time base is 1/90000).
    const std::int64_t scale = time_base_num_ * Timeline::k_ticks_per_second;
    source = ts / time_base_den_ * scale + ts % time_base_den_ * scale / time_base_den_;
  }
  return add({packet.data, static_cast<std::size_t>(packet.size)}, source, arrival);
}

bool Remuxer::add(std::span<const std::uint8_t> bytes, std::optional<std::int64_t> source,
                  Clock::time_point arrival, bool repeat) {
  if (bytes.empty()) return false;
  AccessUnit au = parameter_sets_.prepare(bytes);
  if (waiting_for_keyframe_) {
    if (!au.keyframe) return false;
    waiting_for_keyframe_ = false;
  }
  if (au.keyframe && keyframe_tap_) keyframe_tap_(au.bytes);
  if (format_ == OutputFormat::h264) {
    post(std::move(au.bytes), au.keyframe, repeat);
    return true;
  }

  const std::int64_t pts = timeline_.stamp(source, arrival);
  if (timeline_.frozen() && !frozen_warned_) {
    frozen_warned_ = true;
    log_.warning("the printer's video timestamps do not advance (a known firmware fault); stamping frames on "
                 "arrival instead (--wallclock-timestamps does this from the start)");
  }
  if (!muxer_) open_mpegts();
  post(mux(au, pts), au.keyframe, repeat);
  return true;
}

}  // namespace bambu
