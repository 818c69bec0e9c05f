// H264Encoder: one whole JPEG in, its H.264 access unit out, at once.
// The P1/A1 camera sends JPEGs; browsers, Frigate and NVRs need H.264.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "media/encoder_settings.h"

struct AVCodecParameters;
struct AVPacket;

namespace bambu {

/// Thrown when --encoder names no usable H.264 encoder: the message is one
/// line naming the encoder, why it failed and the H.264 encoders this
/// libavcodec has (what exit code 2 prints).
class EncoderUnavailable : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// The names of this libavcodec's H.264 encoders, comma-separated (for
/// messages), e.g. "libx264, libx264rgb, h264_v4l2m2m". Needs libav() loaded.
std::string h264_encoder_names();

/// Decodes one JPEG (libavcodec's MJPEG decoder), converts it to
/// limited-range yuv420p (libswscale) and encodes it to H.264 with the
/// settings' encoder, configured for a live view: no B-frames, no
/// lookahead, no frame delay, Constrained Baseline, one keyframe exactly
/// when asked (forced IDR; no periodic ones of the encoder's own).
///
/// The encoder is opened at the first picture's size and reopened when the
/// size changes; a reopened encoder's first unit is a keyframe. For libx264
/// an IDR carries its SPS and PPS in-band (no global header).
/// Not thread-safe: one thread drives it. Needs libav() loaded.
class H264Encoder {
 public:
  /// One encoded access unit.
  struct Unit {
    std::vector<std::uint8_t> annexb;  ///< Annex-B bytes, as the encoder gave them
    bool keyframe = false;             ///< the encoder flagged it as a keyframe (IDR)
  };

  /// What encode() made of one JPEG.
  enum class Result {
    encoded,      ///< the JPEG decoded; `units` holds what the encoder gave back (one unit for libx264)
    undecodable,  ///< the JPEG did not decode to a picture; nothing was encoded
  };

  /// Throws EncoderUnavailable if the encoder does not exist or is not H.264.
  explicit H264Encoder(const EncoderSettings& settings);
  ~H264Encoder();
  H264Encoder(const H264Encoder&) = delete;
  H264Encoder& operator=(const H264Encoder&) = delete;

  /// Decodes `jpeg` and encodes it as the picture at `pts` (any monotonic
  /// count; 90 kHz ticks by convention), a forced keyframe if `keyframe`.
  /// Appends the resulting units to `units`. Throws EncoderUnavailable if
  /// the encoder cannot be opened at this picture's size, std::runtime_error
  /// if encoding fails (no memory, a broken encoder).
  Result encode(std::span<const std::uint8_t> jpeg, std::int64_t pts, bool keyframe, std::vector<Unit>& units);

  /// Encodes the last picture that encode() took again, as the picture at
  /// `pts` (above the last one's), a forced keyframe if `keyframe`: the
  /// same pixels, encoded anew (a repeat is never the earlier bytes sent
  /// again, which would break the stream's frame numbering). Appends the
  /// units to `units`. Returns false, encoding nothing, when there is no
  /// such picture (none yet, or the encoder was reopened since). Throws
  /// std::runtime_error if encoding fails.
  bool encode_again(std::int64_t pts, bool keyframe, std::vector<Unit>& units);

  /// The camera's measured pace, frames per second. With a --bitrate cap the
  /// encoder is reopened (its next unit a keyframe) when the pace moves by
  /// more than a quarter from the one it was opened for, since the cap is
  /// kept per frame (see the .cpp). Without a cap it changes nothing.
  void set_pace(double fps) { pace_fps_ = fps > 0 ? fps : 1; }

  /// Opens the encoder for `width` x `height` pixel pictures now, instead of
  /// at the first picture. Throws EncoderUnavailable if it cannot be opened.
  void prepare(int width, int height);

  /// The stream parameters of the open encoder (codec, size), for a muxer;
  /// nullptr before the first picture. Valid until the next encode().
  const AVCodecParameters* parameters() const;

  /// The encoder's libavcodec name, e.g. "libx264".
  const std::string& name() const { return settings_.encoder; }
  /// Width and height of the last picture, pixels (0 before the first).
  int width() const { return width_; }
  int height() const { return height_; }
  /// libavcodec's error text of the last undecodable JPEG (for a warning).
  const std::string& last_decode_error() const { return last_decode_error_; }

 private:
  struct Handles;

  const EncoderSettings settings_;
  std::unique_ptr<Handles> av_;
  int width_ = 0;
  int height_ = 0;
  double pace_fps_ = 1;         // the camera's, as last told
  double opened_pace_fps_ = 1;  // what the open encoder's cap was set for
  bool has_picture_ = false;    // the picture buffer holds the last picture encoded

  // A new, empty yuv420p picture buffer of `width` x `height` pixels.
  // Throws std::runtime_error if it cannot be allocated.
  void allocate_picture(int width, int height);
  // Sends the picture buffer to the encoder at `pts` and takes what comes out.
  void encode_picture(std::int64_t pts, bool keyframe, std::vector<Unit>& units);
  std::string last_decode_error_;
};

}  // namespace bambu
