#include "media/keyframe_jpeg.h"

#include <fmt/format.h>

#include <memory>
#include <stdexcept>

#include "media/libav.h"

namespace bambu {

namespace {

// RAII for the handles of one conversion, freed in reverse order of need.
struct Handles {
  AVCodecContext* decoder = nullptr;
  AVCodecContext* encoder = nullptr;
  AVFrame* decoded = nullptr;
  AVFrame* picture = nullptr;  // yuvj420p: what the MJPEG encoder takes
  AVPacket* packet = nullptr;
  SwsContext* scaler = nullptr;

  ~Handles() {
    const Libav& av = libav();
    if (scaler != nullptr) av.sws_freeContext(scaler);
    av.av_packet_free(&packet);
    av.av_frame_free(&picture);
    av.av_frame_free(&decoded);
    av.avcodec_free_context(&encoder);
    av.avcodec_free_context(&decoder);
  }
};

[[noreturn]] void fail(const char* what, int err) {
  throw std::runtime_error(fmt::format("{}: {}", what, av_error_text(err)));
}

}  // namespace

std::optional<std::vector<std::uint8_t>> KeyframeJpeg::convert(std::span<const std::uint8_t> keyframe) {
  const Libav& av = libav();
  Handles h;
  const AVCodec* h264 = av.avcodec_find_decoder(AV_CODEC_ID_H264);
  const AVCodec* mjpeg = av.avcodec_find_encoder(AV_CODEC_ID_MJPEG);
  if (h264 == nullptr || mjpeg == nullptr) throw std::runtime_error("this FFmpeg lacks the H.264 decoder or MJPEG encoder");
  h.decoder = av.avcodec_alloc_context3(h264);
  h.decoded = av.av_frame_alloc();
  h.picture = av.av_frame_alloc();
  h.packet = av.av_packet_alloc();
  if (!h.decoder || !h.decoded || !h.picture || !h.packet) throw std::bad_alloc();
  h.decoder->thread_count = 1;  // one picture: frame threads would only add delay
  if (int err = av.avcodec_open2(h.decoder, h264, nullptr); err < 0) fail("cannot open the H.264 decoder", err);

  // The decoder reads up to AV_INPUT_BUFFER_PADDING_SIZE bytes past the end.
  std::vector<std::uint8_t> input(keyframe.size() + AV_INPUT_BUFFER_PADDING_SIZE, 0);
  std::copy(keyframe.begin(), keyframe.end(), input.begin());
  h.packet->data = input.data();
  h.packet->size = static_cast<int>(keyframe.size());
  h.packet->flags = AV_PKT_FLAG_KEY;
  if (av.avcodec_send_packet(h.decoder, h.packet) < 0) return std::nullopt;
  av.avcodec_send_packet(h.decoder, nullptr);  // flush: the one picture comes out now
  if (av.avcodec_receive_frame(h.decoder, h.decoded) < 0) return std::nullopt;
  const int width = h.decoded->width, height = h.decoded->height;
  if (width <= 0 || height <= 0) return std::nullopt;

  h.encoder = av.avcodec_alloc_context3(mjpeg);
  if (h.encoder == nullptr) throw std::bad_alloc();
  AVCodecContext& c = *h.encoder;
  c.width = width;
  c.height = height;
  c.pix_fmt = AV_PIX_FMT_YUVJ420P;  // full range, what JFIF means
  c.color_range = AVCOL_RANGE_JPEG;
  c.time_base = AVRational{1, 1};
  c.sample_aspect_ratio = AVRational{1, 1};  // makes libavcodec write the JFIF APP0 segment
  c.flags |= AV_CODEC_FLAG_QSCALE;
  c.global_quality = FF_QP2LAMBDA * k_qscale;
  c.thread_count = 1;
  if (int err = av.avcodec_open2(h.encoder, mjpeg, nullptr); err < 0) fail("cannot open the MJPEG encoder", err);

  h.picture->format = AV_PIX_FMT_YUVJ420P;
  h.picture->width = width;
  h.picture->height = height;
  h.picture->color_range = AVCOL_RANGE_JPEG;
  if (int err = av.av_frame_get_buffer(h.picture, 0); err < 0) fail("cannot allocate a picture", err);
  // libswscale converts the decoder's format and range (usually limited-range
  // yuv420p) to full-range yuvj420p.
  h.scaler = av.sws_getContext(width, height, static_cast<AVPixelFormat>(h.decoded->format), width, height,
                               AV_PIX_FMT_YUVJ420P, SWS_BILINEAR, nullptr, nullptr, nullptr);
  if (h.scaler == nullptr) throw std::runtime_error("libswscale cannot convert the decoded picture");
  av.sws_scale(h.scaler, h.decoded->data, h.decoded->linesize, 0, height, h.picture->data, h.picture->linesize);
  h.picture->pts = 0;

  if (int err = av.avcodec_send_frame(h.encoder, h.picture); err < 0) fail("MJPEG encoding failed", err);
  av.av_packet_unref(h.packet);
  if (int err = av.avcodec_receive_packet(h.encoder, h.packet); err < 0) fail("MJPEG encoding failed", err);
  std::vector<std::uint8_t> jpeg(h.packet->data, h.packet->data + h.packet->size);
  av.av_packet_unref(h.packet);
  return jpeg;
}

}  // namespace bambu
