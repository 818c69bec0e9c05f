// EncoderSettings: how the port-6000 JPEGs are encoded to H.264
// (--encoder, --bitrate, --quality, --keyframe-interval, --keyframe-burst,
// --output-fps). Plain values,
// filled by the command line; the encoder (media/h264_encoder.h) uses them.
#pragma once

#include <string>

namespace bambu {

/// Settings of the in-process JPEG-to-H.264 encoder. Defaults were chosen
/// by measurement on ../shared/frames/camera-720p (docs/performance.md,
/// "Encoder settings").
struct EncoderSettings {
  /// libx264's preset for the default encoder.
  static constexpr const char* k_default_preset = "ultrafast";
  /// Default CRF: at 1 fps on camera-720p, 0.84x the JPEGs' bytes past the start-up burst and PSNR 43.5 dB (every frame over 40).
  static constexpr int k_default_quality = 33;
  /// Highest CRF (libx264's scale, 0..51).
  static constexpr int k_max_quality = 51;
  /// Bounds of --bitrate, kbit/s.
  static constexpr int k_min_bitrate_kbps = 50;
  static constexpr int k_max_bitrate_kbps = 100000;
  /// Longest --keyframe-interval, seconds: a late viewer waits at most this.
  static constexpr double k_max_keyframe_interval_s = 2;

  std::string encoder = "libx264";  ///< any libavcodec H.264 encoder taking software frames (--encoder)
  int bitrate_kbps = 0;             ///< cap, kbit/s; 0: none (--bitrate)
  int quality = k_default_quality;  ///< CRF, or the encoder's nearest equivalent (--quality)
  double keyframe_interval_s = 2;   ///< camera seconds between keyframes, at most 2 (--keyframe-interval)
  /// Seconds after the start and after each reconnect in which every frame is
  /// a keyframe, so a player that connects meanwhile shows the next frame;
  /// meanwhile the newest picture is also written again as a keyframe about
  /// four times a second (EncodingSink). 0: neither.
  double burst_s = 4;
  /// Highest --output-fps, frames per second.
  static constexpr double k_max_output_fps = 30;
  /// A steady output rate, frames per second, kept by writing the newest
  /// picture again (as a P-frame) whenever no camera frame came for
  /// 1/output_fps seconds; 0: off, only camera frames (--output-fps).
  double output_fps = 0;
};

}  // namespace bambu
