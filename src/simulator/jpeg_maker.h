// JpegMaker: the simulator's camera frames, encoded with libavcodec's MJPEG
// encoder so that they are real baseline JFIF JPEGs like the printer's.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

// libav types stay opaque here so that users of this header need no FFmpeg
// include paths; they are complete only in jpeg_maker.cpp.
struct AVCodecContext;
struct AVFrame;
struct AVPacket;

namespace bambu {

/// Makes camera frames: baseline (SOF0) JFIF JPEGs showing a moving test
/// pattern, the frame number and the UTC wall-clock time.
///
/// The encoder, the picture and the packet are allocated once, in the
/// constructor, so that a 1280x720 frame costs only drawing plus encoding.
/// Not thread-safe: one instance must be used by one thread at a time
/// (callers hold a mutex).
class JpegMaker {
 public:
  /// `width` x `height` in pixels: both even (4:2:0 chroma halves them) and in
  /// 2..65535 (JPEG stores them as 16 bits); the default 1280x720 is what the
  /// P1/A1 camera sends. `qscale` is libavcodec's quantiser scale, 2..31
  /// (lower = better and bigger; 5 gives roughly 30-90 KB at 1280x720).
  /// Throws std::invalid_argument for values outside those ranges, and
  /// std::runtime_error (with libav's reason) if this libavcodec has no MJPEG
  /// encoder or it cannot be opened or allocated.
  explicit JpegMaker(int width = 1280, int height = 720, int qscale = 5);
  ~JpegMaker();

  JpegMaker(const JpegMaker&) = delete;
  JpegMaker& operator=(const JpegMaker&) = delete;

  /// Returns one complete JPEG: it starts FF D8 FF E0 with the "JFIF" APP0
  /// segment and ends with EOI (FF D9). The picture is diagonal colour bars
  /// and a bouncing box whose positions follow `frame_number` (so consecutive
  /// frames differ even within one second), plus "FRAME <n>" and the UTC time
  /// of `when` as HH:MM:SS in large white digits on a dark box.
  /// Throws std::runtime_error if libavcodec fails to encode the picture;
  /// the maker stays usable afterwards.
  std::vector<std::uint8_t> make(std::uint64_t frame_number,
                                 std::chrono::system_clock::time_point when);

  /// Picture width in pixels, as given to the constructor.
  int width() const { return width_; }
  /// Picture height in pixels, as given to the constructor.
  int height() const { return height_; }

 private:
  struct CodecContextDeleter {
    void operator()(AVCodecContext* p) const;
  };
  struct FrameDeleter {
    void operator()(AVFrame* p) const;
  };
  struct PacketDeleter {
    void operator()(AVPacket* p) const;
  };

  void draw(std::uint64_t frame_number, std::chrono::system_clock::time_point when);

  int width_;
  int height_;
  std::int64_t next_pts_ = 0;
  std::unique_ptr<AVCodecContext, CodecContextDeleter> codec_;
  std::unique_ptr<AVFrame, FrameDeleter> frame_;
  std::unique_ptr<AVPacket, PacketDeleter> packet_;
};

}  // namespace bambu
