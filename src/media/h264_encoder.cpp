#include "media/h264_encoder.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "media/libav.h"

extern "C" {
#include <libavutil/pixfmt.h>
}

namespace bambu {

namespace {

// libx264's settings for a live view (see docs/performance.md, "Encoder
// settings", for the measurements behind preset and CRF): zerolatency means
// no B-frames, no lookahead and no frame threads, so a picture's access unit
// comes out of the very call that took the picture.
constexpr const char* k_tune = "zerolatency";
// x264's "baseline" is Constrained Baseline (no FMO/ASO): every browser's
// WebRTC decoder takes it, Firefox's OpenH264 included.
constexpr const char* k_profile = "baseline";
// GOP length given to the encoder: far beyond any interval we ask for, so
// keyframes come only when EncodingSink forces them (by camera time).
constexpr int k_gop_frames = 100000;
// One thread: at 0.5-5 fps a 720p ultrafast frame takes a few ms, and every
// extra x264 thread costs a stack and buffers, per printer.
constexpr int k_threads = 1;

[[noreturn]] void throw_av(const char* what, int err) {
  throw std::runtime_error(fmt::format("H.264 encoder: {}: {}", what, av_error_text(err)));
}

}  // namespace

std::string h264_encoder_names() {
  const Libav& av = libav();
  std::string names;
  void* it = nullptr;
  while (const AVCodec* c = av.av_codec_iterate(&it)) {
    if (c->id != AV_CODEC_ID_H264 || av.av_codec_is_encoder(c) == 0) continue;
    names += names.empty() ? "" : ", ";
    names += c->name;
  }
  return names.empty() ? "none" : names;
}

/// Every libav handle, freed in reverse order of need.
struct H264Encoder::Handles {
  const AVCodec* codec = nullptr;     // the H.264 encoder (static, not owned)
  AVCodecContext* decoder = nullptr;  // MJPEG
  AVCodecContext* encoder = nullptr;  // opened at the first picture's size
  AVCodecParameters* parameters = nullptr;
  SwsContext* scaler = nullptr;
  int scaler_format = -1, scaler_width = 0, scaler_height = 0;
  AVFrame* decoded = nullptr;
  AVFrame* picture = nullptr;  // yuv420p, limited range: what the encoder takes
  AVPacket* packet = nullptr;
  std::vector<std::uint8_t> input;  // the JPEG plus the zeroed padding libavcodec reads past the end

  ~Handles() {
    const Libav& av = libav();
    av.av_packet_free(&packet);
    av.av_frame_free(&picture);
    av.av_frame_free(&decoded);
    if (scaler != nullptr) av.sws_freeContext(scaler);
    av.avcodec_parameters_free(&parameters);
    av.avcodec_free_context(&encoder);
    av.avcodec_free_context(&decoder);
  }
};

H264Encoder::H264Encoder(const EncoderSettings& settings) : settings_(settings), av_(std::make_unique<Handles>()) {
  const Libav& av = libav();
  av_->codec = av.avcodec_find_encoder_by_name(settings_.encoder.c_str());
  if (av_->codec == nullptr || av_->codec->id != AV_CODEC_ID_H264) {
    throw EncoderUnavailable(fmt::format("--encoder {}: {}; the H.264 encoders of this FFmpeg are: {}",
                                         settings_.encoder,
                                         av_->codec == nullptr ? "no such encoder in this FFmpeg"
                                                               : "not an H.264 encoder",
                                         h264_encoder_names()));
  }
  const AVCodec* mjpeg = av.avcodec_find_decoder(AV_CODEC_ID_MJPEG);
  if (mjpeg == nullptr) throw std::runtime_error("this FFmpeg has no MJPEG decoder");
  av_->decoder = av.avcodec_alloc_context3(mjpeg);
  av_->decoded = av.av_frame_alloc();
  av_->picture = av.av_frame_alloc();
  av_->packet = av.av_packet_alloc();
  av_->parameters = av.avcodec_parameters_alloc();
  if (!av_->decoder || !av_->decoded || !av_->picture || !av_->packet || !av_->parameters) throw std::bad_alloc();
  av_->decoder->thread_count = 1;
  if (int err = av.avcodec_open2(av_->decoder, mjpeg, nullptr); err < 0) throw_av("cannot open the JPEG decoder", err);
}

H264Encoder::~H264Encoder() = default;

void H264Encoder::prepare(int width, int height) {
  const Libav& av = libav();
  av.avcodec_free_context(&av_->encoder);
  AVCodecContext* c = av.avcodec_alloc_context3(av_->codec);
  if (c == nullptr) throw std::bad_alloc();
  av_->encoder = c;
  c->width = width;
  c->height = height;
  c->pix_fmt = AV_PIX_FMT_YUV420P;
  c->color_range = AVCOL_RANGE_MPEG;
  c->colorspace = AVCOL_SPC_SMPTE170M;  // BT.601, the JPEGs' matrix
  c->time_base = AVRational{1, 90000};  // pts are camera arrival times in 90 kHz ticks
  // x264 must not wait for the next frame to learn this one's duration (its
  // VFR mode does: one frame of delay), so it runs at a constant declared
  // rate. 1 fps is the P1/A1 camera's typical pace, and what the CRF was
  // measured at; per-frame quality then does not depend on the camera's pace.
  c->framerate = AVRational{1, 1};
  c->gop_size = k_gop_frames;
  c->max_b_frames = 0;
  c->thread_count = k_threads;
  c->profile = FF_PROFILE_H264_CONSTRAINED_BASELINE;  // for encoders other than libx264
  opened_pace_fps_ = pace_fps_;
  if (settings_.bitrate_kbps > 0) {
    // A cap over about one second (VBV), on top of the CRF. At the declared
    // 1 fps each frame is one second of budget, so the budget per frame is
    // the cap divided by the camera's real pace.
    const double per_frame = settings_.bitrate_kbps * 1000.0 / std::max(pace_fps_, 0.1);
    c->rc_max_rate = static_cast<std::int64_t>(per_frame);
    c->rc_buffer_size = static_cast<int>(per_frame);
    if (settings_.encoder != "libx264") c->bit_rate = c->rc_max_rate;
  }
  AVDictionary* options = nullptr;
  if (settings_.encoder == "libx264") {
    av.av_dict_set(&options, "preset", EncoderSettings::k_default_preset, 0);
    av.av_dict_set(&options, "tune", k_tune, 0);
    av.av_dict_set(&options, "profile", k_profile, 0);
    av.av_dict_set(&options, "crf", std::to_string(settings_.quality).c_str(), 0);
    av.av_dict_set(&options, "forced-idr", "1", 0);  // a forced keyframe is an IDR, never an open-GOP I frame
  } else {
    c->global_quality = settings_.quality;  // the nearest generic equivalent of a CRF
  }
  const int err = av.avcodec_open2(c, av_->codec, &options);
  av.av_dict_free(&options);
  if (err < 0) {
    av.avcodec_free_context(&av_->encoder);
    throw EncoderUnavailable(fmt::format("--encoder {} cannot be opened for {}x{} pictures: {}; the H.264 encoders "
                                         "of this FFmpeg are: {}",
                                         settings_.encoder, width, height, av_error_text(err), h264_encoder_names()));
  }
  if (int e = av.avcodec_parameters_from_context(av_->parameters, c); e < 0) throw_av("cannot read its parameters", e);
  allocate_picture(width, height);
}

void H264Encoder::allocate_picture(int width, int height) {
  const Libav& av = libav();
  av.av_frame_unref(av_->picture);
  av_->picture->format = AV_PIX_FMT_YUV420P;
  av_->picture->width = width;
  av_->picture->height = height;
  av_->picture->color_range = AVCOL_RANGE_MPEG;
  if (int e = av.av_frame_get_buffer(av_->picture, 0); e < 0) throw_av("cannot allocate a picture", e);
  width_ = width;
  height_ = height;
  has_picture_ = false;
}

const AVCodecParameters* H264Encoder::parameters() const {
  return av_->encoder != nullptr ? av_->parameters : nullptr;
}

H264Encoder::Result H264Encoder::encode(std::span<const std::uint8_t> jpeg, std::int64_t pts, bool keyframe,
                                        std::vector<Unit>& units) {
  const Libav& av = libav();
  AVFrame* decoded = av_->decoded;
  av.av_frame_unref(decoded);
  av_->input.assign(jpeg.begin(), jpeg.end());
  av_->input.resize(jpeg.size() + AV_INPUT_BUFFER_PADDING_SIZE, 0);
  AVPacket* packet = av_->packet;
  av.av_packet_unref(packet);
  packet->data = av_->input.data();  // not reference-counted: the decoder copies what it keeps
  packet->size = static_cast<int>(jpeg.size());
  int err = av.avcodec_send_packet(av_->decoder, packet);
  packet->data = nullptr;
  packet->size = 0;
  if (err >= 0) err = av.avcodec_receive_frame(av_->decoder, decoded);
  if (err < 0 || decoded->width <= 0 || decoded->height <= 0 || (decoded->width | decoded->height) & 1) {
    last_decode_error_ = err < 0 ? av_error_text(err) : fmt::format("{}x{} picture", decoded->width, decoded->height);
    return Result::undecodable;
  }

  const bool pace_moved = settings_.bitrate_kbps > 0 && std::abs(pace_fps_ - opened_pace_fps_) > 0.25 * opened_pace_fps_;
  if (decoded->width != width_ || decoded->height != height_ || av_->encoder == nullptr || pace_moved) {
    prepare(decoded->width, decoded->height);
    keyframe = true;  // a new encoder starts with one anyway; say so
  }
  if (av_->scaler == nullptr || av_->scaler_format != decoded->format || av_->scaler_width != width_ ||
      av_->scaler_height != height_) {
    if (av_->scaler != nullptr) av.sws_freeContext(av_->scaler);
    const auto source = static_cast<AVPixelFormat>(decoded->format);
    av_->scaler = av.sws_getContext(width_, height_, source, width_, height_, AV_PIX_FMT_YUV420P, SWS_BILINEAR,
                                    nullptr, nullptr, nullptr);
    if (av_->scaler == nullptr) {
      last_decode_error_ = "no conversion from this JPEG's pixel format";
      return Result::undecodable;
    }
    // JPEG is full range (0-255); H.264 for browsers is limited (16-235).
    const int* bt601 = av.sws_getCoefficients(SWS_CS_ITU601);
    av.sws_setColorspaceDetails(av_->scaler, bt601, 1, bt601, 0, 0, 1 << 16, 1 << 16);
    av_->scaler_format = decoded->format;
    av_->scaler_width = width_;
    av_->scaler_height = height_;
  }
  AVFrame* picture = av_->picture;
  if (int e = av.av_frame_make_writable(picture); e < 0) throw_av("cannot get a writable picture", e);
  av.sws_scale(av_->scaler, decoded->data, decoded->linesize, 0, height_, picture->data, picture->linesize);
  has_picture_ = true;
  encode_picture(pts, keyframe, units);
  return Result::encoded;
}

bool H264Encoder::encode_again(std::int64_t pts, bool keyframe, std::vector<Unit>& units) {
  if (!has_picture_ || av_->encoder == nullptr) return false;
  encode_picture(pts, keyframe, units);
  return true;
}

void H264Encoder::encode_picture(std::int64_t pts, bool keyframe, std::vector<Unit>& units) {
  const Libav& av = libav();
  AVFrame* picture = av_->picture;
  AVPacket* packet = av_->packet;
  // Only the frame's fields change here, never its pixels: the encoder may
  // still hold a reference to them (encode() makes them writable first).
  picture->pts = pts;
  picture->pict_type = keyframe ? AV_PICTURE_TYPE_I : AV_PICTURE_TYPE_NONE;
  picture->key_frame = keyframe ? 1 : 0;
  if (int e = av.avcodec_send_frame(av_->encoder, picture); e < 0) throw_av("cannot encode a picture", e);
  for (;;) {
    const int r = av.avcodec_receive_packet(av_->encoder, packet);
    if (r == AVERROR(EAGAIN) || r == AVERROR_EOF) break;
    if (r < 0) throw_av("cannot take an encoded picture", r);
    units.push_back(Unit{std::vector<std::uint8_t>(packet->data, packet->data + packet->size),
                         (packet->flags & AV_PKT_FLAG_KEY) != 0});
    av.av_packet_unref(packet);
  }
}

}  // namespace bambu
