#include "simulator/jpeg_maker.h"

#include "media/libav.h"

extern "C" {
#include <libavutil/pixfmt.h>
}

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>

namespace bambu {

namespace {

[[noreturn]] void throw_av(std::string_view what, int err) {
  throw std::runtime_error(fmt::format("JpegMaker: {}: {}", what, av_error_text(err)));
}

struct Yuv {
  std::uint8_t y, u, v;
};

// Full-range BT.601, the matrix JFIF prescribes, so the decoded colours come
// out as intended without any range conversion.
constexpr std::uint8_t clamp_byte(double v) {
  return static_cast<std::uint8_t>(v < 0.0 ? 0.0 : (v > 255.0 ? 255.0 : v + 0.5));
}
constexpr Yuv from_rgb(int r, int g, int b) {
  return {clamp_byte(0.299 * r + 0.587 * g + 0.114 * b),
          clamp_byte(128.0 - 0.168736 * r - 0.331264 * g + 0.5 * b),
          clamp_byte(128.0 + 0.5 * r - 0.418688 * g - 0.081312 * b)};
}

// 75% bars keep the white text the brightest thing in the picture.
constexpr std::array<Yuv, 8> kBars = {
    from_rgb(191, 191, 191), from_rgb(191, 191, 0), from_rgb(0, 191, 191),
    from_rgb(0, 191, 0),     from_rgb(191, 0, 191), from_rgb(191, 0, 0),
    from_rgb(0, 0, 191),     from_rgb(16, 16, 16)};
constexpr int kBarShift = 6;  // bars are 1 << 6 = 64 pixels wide (diagonally)
constexpr int kBarPeriod = static_cast<int>(kBars.size()) << kBarShift;
constexpr int kBarSpeed = 8;  // pixels per frame

constexpr Yuv kWhite = {255, 128, 128};
constexpr Yuv kTextBackground = {24, 128, 128};
constexpr Yuv kBoxBorder = {0, 128, 128};

// A 5x7 font: each row is 5 bits, the most significant bit on the left.
constexpr int kGlyphW = 5;
constexpr int kGlyphH = 7;
struct Glyph {
  char c;
  std::array<std::uint8_t, kGlyphH> rows;
};
constexpr std::array<Glyph, 20> kFont = {{
    {'0', {0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E}},
    {'1', {0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E}},
    {'2', {0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F}},
    {'3', {0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E}},
    {'4', {0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02}},
    {'5', {0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E}},
    {'6', {0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E}},
    {'7', {0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08}},
    {'8', {0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E}},
    {'9', {0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C}},
    {':', {0x00, 0x0C, 0x0C, 0x00, 0x0C, 0x0C, 0x00}},
    {'A', {0x0E, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11}},
    {'C', {0x0E, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0E}},
    {'E', {0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x1F}},
    {'F', {0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x10}},
    {'M', {0x11, 0x1B, 0x15, 0x15, 0x11, 0x11, 0x11}},
    {'R', {0x1E, 0x11, 0x11, 0x1E, 0x14, 0x12, 0x11}},
    {'T', {0x1F, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04}},
    {'U', {0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E}},
    {' ', {0, 0, 0, 0, 0, 0, 0}},
}};

// Characters the font lacks draw as blanks: the strings are our own, so a
// missing glyph is a cosmetic bug, not a reason to fail a frame.
const Glyph* find_glyph(char c) {
  for (const Glyph& g : kFont) {
    if (g.c == c) return &g;
  }
  return nullptr;
}

// One plane of the picture; every write is clipped to it so that any picture
// size, however small, is safe to draw on.
struct Plane {
  std::uint8_t* data;
  int linesize;
  int width;
  int height;

  std::uint8_t* row(int y) const {
    return data + static_cast<std::ptrdiff_t>(y) * linesize;
  }

  void fill(int x0, int y0, int x1, int y1, std::uint8_t value) const {
    x0 = std::max(x0, 0);
    y0 = std::max(y0, 0);
    x1 = std::min(x1, width);
    y1 = std::min(y1, height);
    if (x0 >= x1) return;
    for (int y = y0; y < y1; ++y) {
      std::fill(row(y) + x0, row(y) + x1, value);
    }
  }
};

struct Planes {
  Plane y, u, v;

  // [x0, x1) x [y0, y1) in luma pixels; chroma covers every chroma sample
  // the rectangle touches, so odd edges bleed by at most one luma pixel.
  void fill(int x0, int y0, int x1, int y1, Yuv c) const {
    y.fill(x0, y0, x1, y1, c.y);
    const int cx0 = x0 >> 1, cy0 = y0 >> 1, cx1 = (x1 + 1) >> 1, cy1 = (y1 + 1) >> 1;
    u.fill(cx0, cy0, cx1, cy1, c.u);
    v.fill(cx0, cy0, cx1, cy1, c.v);
  }
};

// Diagonal bars that slide by kBarSpeed pixels per frame: the position of
// pixel (x, y) along the pattern is x + y + shift.
void draw_bars(const Planes& p, std::uint64_t frame_number) {
  const int shift = static_cast<int>((frame_number % kBarPeriod) * kBarSpeed % kBarPeriod);
  for (int y = 0; y < p.y.height; ++y) {
    std::uint8_t* out = p.y.row(y);
    int pos = (y + shift) % kBarPeriod;
    for (int x = 0; x < p.y.width; ++x) {
      out[x] = kBars[static_cast<std::size_t>(pos >> kBarShift)].y;
      if (++pos == kBarPeriod) pos = 0;
    }
  }
  // A chroma sample at (cx, cy) stands for luma (2cx, 2cy), hence steps of 2.
  for (int cy = 0; cy < p.u.height; ++cy) {
    std::uint8_t* out_u = p.u.row(cy);
    std::uint8_t* out_v = p.v.row(cy);
    int pos = (2 * cy + shift) % kBarPeriod;
    for (int cx = 0; cx < p.u.width; ++cx) {
      const Yuv& c = kBars[static_cast<std::size_t>(pos >> kBarShift)];
      out_u[cx] = c.u;
      out_v[cx] = c.v;
      pos = (pos + 2) % kBarPeriod;
    }
  }
}

// Position along [0, range] that goes back and forth, `speed` pixels per frame.
int bounce(std::uint64_t frame_number, int range, int speed) {
  if (range <= 0) return 0;
  const auto period = static_cast<std::uint64_t>(range) * 2;
  const auto t = static_cast<int>((frame_number % period) * static_cast<std::uint64_t>(speed) % period);
  return t <= range ? t : 2 * range - t;
}

void draw_bouncing_box(const Planes& p, std::uint64_t frame_number) {
  // Even size and position keep the box aligned to the 2x2 chroma grid.
  const int size = std::max(2, std::min(p.y.width, p.y.height) / 6) & ~1;
  const int border = std::max(2, size / 16) & ~1;
  const int x = bounce(frame_number, p.y.width - size, 14) & ~1;
  const int y = bounce(frame_number, p.y.height - size, 10) & ~1;
  p.fill(x, y, x + size, y + size, kBoxBorder);
  p.fill(x + border, y + border, x + size - border, y + size - border, kWhite);
}

// Text goes into luma only: the dark box beneath it has neutral chroma, and
// white text needs neutral chroma too.
void draw_text(const Plane& luma, int x, int y, int scale, std::string_view text) {
  for (char c : text) {
    if (const Glyph* g = find_glyph(c)) {
      for (int gy = 0; gy < kGlyphH; ++gy) {
        for (int gx = 0; gx < kGlyphW; ++gx) {
          if ((g->rows[static_cast<std::size_t>(gy)] >> (kGlyphW - 1 - gx)) & 1) {
            const int px = x + gx * scale, py = y + gy * scale;
            luma.fill(px, py, px + scale, py + scale, kWhite.y);
          }
        }
      }
    }
    x += (kGlyphW + 1) * scale;
  }
}

std::string utc_hh_mm_ss(std::chrono::system_clock::time_point when) {
  using namespace std::chrono;
  const auto secs = floor<seconds>(when);
  const hh_mm_ss hms{secs - floor<days>(secs)};
  return fmt::format("{:02}:{:02}:{:02}", hms.hours().count(), hms.minutes().count(),
                     hms.seconds().count());
}

void draw_caption(const Planes& p, std::uint64_t frame_number,
                  std::chrono::system_clock::time_point when) {
  const std::array<std::string, 2> lines = {fmt::format("FRAME {}", frame_number),
                                            utc_hh_mm_ss(when) + " UTC"};
  const int columns = static_cast<int>(std::max(lines[0].size(), lines[1].size()));
  constexpr int kMargin = 16;
  constexpr int kMaxScale = 8;
  // Width and height of the caption box in units of `scale`: glyph cells of
  // 6 columns (the last one's gap dropped) and two 7-row lines 3 rows apart,
  // plus 2 units of padding on each side.
  const int units_w = columns * (kGlyphW + 1) - 1 + 4;
  const int units_h = 2 * kGlyphH + 3 + 4;
  const int fit = std::min((p.y.width - 2 * kMargin) / units_w,
                           (p.y.height - 2 * kMargin) / units_h);
  const int scale = std::clamp(fit, 1, kMaxScale);
  p.fill(kMargin, kMargin, kMargin + ((units_w * scale + 1) & ~1),
         kMargin + ((units_h * scale + 1) & ~1), kTextBackground);
  const int text_x = kMargin + 2 * scale;
  draw_text(p.y, text_x, kMargin + 2 * scale, scale, lines[0]);
  draw_text(p.y, text_x, kMargin + (2 + kGlyphH + 3) * scale, scale, lines[1]);
}

}  // namespace

void JpegMaker::CodecContextDeleter::operator()(AVCodecContext* p) const {
  libav().avcodec_free_context(&p);
}
void JpegMaker::FrameDeleter::operator()(AVFrame* p) const { libav().av_frame_free(&p); }
void JpegMaker::PacketDeleter::operator()(AVPacket* p) const { libav().av_packet_free(&p); }

JpegMaker::JpegMaker(int width, int height, int qscale)
    : width_(width), height_(height) {
  if (width < 2 || height < 2 || width > 65535 || height > 65535 || width % 2 != 0 ||
      height % 2 != 0) {
    throw std::invalid_argument(fmt::format(
        "JpegMaker: picture size {}x{} must be even and within 2..65535", width, height));
  }
  if (qscale < 2 || qscale > 31) {
    throw std::invalid_argument(
        fmt::format("JpegMaker: qscale {} is outside libavcodec's 2..31", qscale));
  }

  const AVCodec* codec = libav().avcodec_find_encoder(AV_CODEC_ID_MJPEG);
  if (codec == nullptr) {
    throw std::runtime_error("JpegMaker: this libavcodec was built without the MJPEG encoder");
  }
  codec_.reset(libav().avcodec_alloc_context3(codec));
  if (!codec_) throw std::runtime_error("JpegMaker: cannot allocate the MJPEG encoder context");

  AVCodecContext& c = *codec_;
  c.width = width;
  c.height = height;
  // The J format (full-range 0..255 samples) is what JFIF means; plain
  // YUV420P would make libavcodec demand strict=-1 and tag the frames as
  // limited range.
  c.pix_fmt = AV_PIX_FMT_YUVJ420P;
  c.color_range = AVCOL_RANGE_JPEG;
  c.time_base = AVRational{1, 30};
  // libavcodec writes the JFIF APP0 segment only when a sample aspect ratio
  // is known; with the default 0/1 the file starts SOI then a COM segment.
  c.sample_aspect_ratio = AVRational{1, 1};
  // Fixed quantiser instead of rate control: each frame is encoded on its own
  // and should look the same regardless of its neighbours.
  c.flags |= AV_CODEC_FLAG_QSCALE;
  c.global_quality = FF_QP2LAMBDA * qscale;
  // With frame threads the encoder would hold frames back, and make() must
  // return each frame's JPEG from the call that drew it.
  c.thread_count = 1;

  if (const int err = libav().avcodec_open2(&c, codec, nullptr); err < 0) {
    throw_av(fmt::format("cannot open the MJPEG encoder for {}x{}", width, height), err);
  }

  frame_.reset(libav().av_frame_alloc());
  if (!frame_) throw std::runtime_error("JpegMaker: cannot allocate an AVFrame");
  frame_->format = c.pix_fmt;
  frame_->width = width;
  frame_->height = height;
  frame_->color_range = AVCOL_RANGE_JPEG;
  if (const int err = libav().av_frame_get_buffer(frame_.get(), 0); err < 0) {
    throw_av("cannot allocate the picture buffer", err);
  }

  packet_.reset(libav().av_packet_alloc());
  if (!packet_) throw std::runtime_error("JpegMaker: cannot allocate an AVPacket");
}

JpegMaker::~JpegMaker() = default;

void JpegMaker::draw(std::uint64_t frame_number, std::chrono::system_clock::time_point when) {
  const Planes planes{
      {frame_->data[0], frame_->linesize[0], width_, height_},
      {frame_->data[1], frame_->linesize[1], width_ / 2, height_ / 2},
      {frame_->data[2], frame_->linesize[2], width_ / 2, height_ / 2},
  };
  draw_bars(planes, frame_number);
  draw_bouncing_box(planes, frame_number);
  draw_caption(planes, frame_number, when);
}

std::vector<std::uint8_t> JpegMaker::make(std::uint64_t frame_number,
                                          std::chrono::system_clock::time_point when) {
  // The encoder may still hold a reference to the previous picture; drawing
  // over it in place would corrupt that reference.
  if (const int err = libav().av_frame_make_writable(frame_.get()); err < 0) {
    throw_av("cannot make the picture writable", err);
  }
  draw(frame_number, when);
  frame_->pts = next_pts_++;
  // With AV_CODEC_FLAG_QSCALE the encoder takes the quantiser from each
  // frame, not from the context.
  frame_->quality = codec_->global_quality;

  if (const int err = libav().avcodec_send_frame(codec_.get(), frame_.get()); err < 0) {
    throw_av("cannot encode the picture", err);
  }
  if (const int err = libav().avcodec_receive_packet(codec_.get(), packet_.get()); err < 0) {
    throw_av("the encoder returned no JPEG for the picture", err);
  }
  std::vector<std::uint8_t> jpeg(packet_->data, packet_->data + packet_->size);
  libav().av_packet_unref(packet_.get());
  return jpeg;
}

}  // namespace bambu
