// The port-6000 frame parser: bytes in; a frame, "need more" or "corrupt" out.
//
// Wire format (../shared/docs/port6000-protocol.md, "Frame"): a 16-byte
// little-endian header {u32 payload size, u32 itrack, u32 flags, u32 reserved}
// followed by `size` bytes of one JPEG. Pure: no I/O, logging or exceptions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace bambu {

/// Size of a frame header on the wire, in bytes.
inline constexpr std::size_t k_frame_header_size = 16;
/// Largest payload accepted, in bytes (4 MiB). Real frames are 30-60 KB
/// (1280x720 JPEG); anything larger is a corrupt or hostile size field and is
/// refused before any memory is allocated for it.
inline constexpr std::uint32_t k_max_frame_size = 4u * 1024u * 1024u;

/// A decoded frame header; all fields as sent by the printer.
struct FrameHeader {
  std::uint32_t size = 0;      ///< payload size in bytes, header not counted
  std::uint32_t itrack = 0;    ///< track number; 0 on every printer seen
  std::uint32_t flags = 0;     ///< 1 on every printer seen (each JPEG is a sync sample)
  std::uint32_t reserved = 0;  ///< 0 on every printer seen
};

/// Reads a little-endian u32 from the first 4 bytes of `bytes`.
constexpr std::uint32_t read_u32_le(const std::uint8_t* bytes) {
  return static_cast<std::uint32_t>(bytes[0]) | static_cast<std::uint32_t>(bytes[1]) << 8 |
         static_cast<std::uint32_t>(bytes[2]) << 16 | static_cast<std::uint32_t>(bytes[3]) << 24;
}
/// Writes `value` little-endian into the first 4 bytes of `out`.
constexpr void write_u32_le(std::uint8_t* out, std::uint32_t value) {
  for (int i = 0; i < 4; ++i) out[i] = static_cast<std::uint8_t>(value >> (8 * i));
}

/// Decodes the 16 header bytes (all four little-endian u32 fields).
FrameHeader decode_frame_header(std::span<const std::uint8_t, k_frame_header_size> bytes);
/// Encodes `header` into 16 bytes (used by the simulator and tests).
void encode_frame_header(const FrameHeader& header, std::span<std::uint8_t, k_frame_header_size> out);

/// Incremental parser for a stream of frames.
///
/// Feed it bytes in any split (one byte at a time, two frames at once); it
/// reassembles each payload in its own std::vector, which take_frame() hands
/// over without copying. After a header whose size exceeds k_max_frame_size
/// it stays in the `corrupt` state (the stream cannot be resynchronised:
/// there is no frame marker) until reset().
///
/// Two ways to feed it: feed() copies from a caller's buffer; window() and
/// commit() let a reader read(2) straight into the frame being assembled.
class FrameParser {
 public:
  enum class Status {
    need_more,  ///< the current frame is not complete yet
    frame,      ///< a whole frame is ready: call take_frame()
    corrupt,    ///< the size field exceeds k_max_frame_size: drop the stream, then reset()
  };
  /// The outcome of feed(): the status and how many input bytes were used.
  /// `consumed` stops right after a complete frame, so bytes of the next
  /// frame are left for the next call.
  struct Result {
    Status status;
    std::size_t consumed;
  };

  /// Consumes bytes from `bytes` up to the end of the current frame.
  Result feed(std::span<const std::uint8_t> bytes);

  /// Where the next bytes of the stream go: the rest of the header, or the rest
  /// of the payload. Its size is exactly what the current frame still needs, so
  /// a reader never reads past the frame. Empty when status() is not need_more.
  /// Invalidated by commit(), feed(), take_frame() and reset().
  std::span<std::uint8_t> window();
  /// Records that `n` bytes (n <= window().size()) were written into window().
  Status commit(std::size_t n);

  /// The current state.
  Status status() const { return status_; }
  /// The header of the frame being assembled or just completed (or, when
  /// corrupt, the header with the refused size).
  const FrameHeader& header() const { return header_; }
  /// Bytes of the current incomplete frame held so far (header included).
  std::size_t buffered() const { return header_filled_ + payload_filled_; }

  /// Hands over the completed payload and starts on the next frame. Only
  /// valid when status() == frame; otherwise returns an empty vector.
  std::vector<std::uint8_t> take_frame();
  /// Forgets any partial frame and the corrupt state (on a new connection).
  void reset();

 private:
  Status after_header();

  Status status_ = Status::need_more;
  std::uint8_t header_bytes_[k_frame_header_size] = {};
  std::size_t header_filled_ = 0;
  FrameHeader header_;
  std::vector<std::uint8_t> payload_;
  std::size_t payload_filled_ = 0;
};

}  // namespace bambu
