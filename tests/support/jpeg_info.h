// Test helpers that look inside JPEGs by walking their markers, so tests can
// check what a frame claims to be (size, baseline, JFIF) and cut a stream of
// back-to-back JPEGs into frames without trusting "FF D9 FF D8" searches.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <vector>

namespace bambu::test {

/// What a JPEG's headers say about it.
struct JpegInfo {
  int width;      ///< pixels, from the SOFn segment
  int height;     ///< pixels, from the SOFn segment (0 if deferred to a DNL)
  bool baseline;  ///< the frame header is SOF0 (baseline DCT)
  bool jfif;      ///< the first segment after SOI is an APP0 "JFIF\0"
};

namespace jpeg_detail {

inline constexpr std::uint8_t kSoi = 0xD8;
inline constexpr std::uint8_t kEoi = 0xD9;
inline constexpr std::uint8_t kSos = 0xDA;
inline constexpr std::uint8_t kApp0 = 0xE0;
inline constexpr std::uint8_t kSof0 = 0xC0;

// Markers without a length field: TEM, RST0-7, SOI, EOI.
inline bool is_standalone(std::uint8_t m) { return m == 0x01 || (m >= 0xD0 && m <= 0xD9); }

// C4 (DHT), C8 (JPG) and CC (DAC) share the SOFn range but are not frames.
inline bool is_sof(std::uint8_t m) {
  return m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC;
}

inline bool is_rst(std::uint8_t m) { return m >= 0xD0 && m <= 0xD7; }

// Caller guarantees pos + 1 < bytes.size().
inline std::size_t be16(std::span<const std::uint8_t> bytes, std::size_t pos) {
  return (static_cast<std::size_t>(bytes[pos]) << 8) | bytes[pos + 1];
}

// Reads the marker at `pos` (0xFF, optional 0xFF fill bytes, marker code) and
// moves `pos` past it. nullopt if there is no marker there or it is cut off.
inline std::optional<std::uint8_t> read_marker(std::span<const std::uint8_t> bytes,
                                               std::size_t& pos) {
  if (pos >= bytes.size() || bytes[pos] != 0xFF) return std::nullopt;
  while (pos < bytes.size() && bytes[pos] == 0xFF) ++pos;
  if (pos >= bytes.size() || bytes[pos] == 0x00) return std::nullopt;
  return bytes[pos++];
}

// For a marker with a length field whose code was just read (`pos` right
// after it): the segment's length including the 2 length bytes, or nullopt if
// the length is invalid or the segment runs past the end.
inline std::optional<std::size_t> segment_length(std::span<const std::uint8_t> bytes,
                                                 std::size_t pos) {
  if (bytes.size() - pos < 2) return std::nullopt;
  const std::size_t len = be16(bytes, pos);
  if (len < 2 || len > bytes.size() - pos) return std::nullopt;
  return len;
}

// Moves `pos` (at the first byte of entropy-coded data after an SOS segment)
// to the 0xFF of the first real marker after the data. Byte stuffing (FF 00)
// and restart markers are part of the data. false if the data is cut off.
// The scan for 0xFF is memchr(3), not a loop of our own: the test programs
// are built -O0, and under qemu a byte loop over a recording of many
// megabytes takes minutes.
inline bool skip_entropy_data(std::span<const std::uint8_t> bytes, std::size_t& pos) {
  while (pos < bytes.size()) {
    const void* found = std::memchr(bytes.data() + pos, 0xFF, bytes.size() - pos);
    if (found == nullptr) return false;
    pos = static_cast<std::size_t>(static_cast<const std::uint8_t*>(found) - bytes.data());
    if (pos + 1 >= bytes.size()) return false;
    const std::uint8_t next = bytes[pos + 1];
    if (next == 0x00 || is_rst(next)) {
      pos += 2;
    } else if (next == 0xFF) {
      ++pos;  // fill byte ahead of a marker
    } else {
      return true;
    }
  }
  return false;
}

// Walks one JPEG starting at `pos` (its SOI) through its EOI and returns the
// offset just past the EOI; nullopt if it is malformed or cut off.
inline std::optional<std::size_t> end_of_jpeg(std::span<const std::uint8_t> bytes,
                                              std::size_t pos) {
  if (bytes.size() - pos < 2 || bytes[pos] != 0xFF || bytes[pos + 1] != kSoi) {
    return std::nullopt;
  }
  pos += 2;
  for (;;) {
    const auto marker = read_marker(bytes, pos);
    if (!marker || *marker == kSoi) return std::nullopt;
    if (*marker == kEoi) return pos;
    if (is_standalone(*marker)) continue;
    const auto len = segment_length(bytes, pos);
    if (!len) return std::nullopt;
    pos += *len;
    if (*marker == kSos && !skip_entropy_data(bytes, pos)) return std::nullopt;
  }
}

}  // namespace jpeg_detail

/// Parses the markers of one JPEG in memory up to its SOFn segment.
/// nullopt if `bytes` does not start with SOI, a segment is malformed or cut
/// off, or image data / EOI comes before any SOFn. Only the headers are read,
/// so a JPEG truncated after its SOFn segment still yields a value. Never
/// reads outside `bytes`.
inline std::optional<JpegInfo> read_jpeg_info(std::span<const std::uint8_t> bytes) {
  using namespace jpeg_detail;
  if (bytes.size() < 2 || bytes[0] != 0xFF || bytes[1] != kSoi) return std::nullopt;
  std::size_t pos = 2;
  bool first_segment = true;
  bool jfif = false;
  for (;;) {
    const auto marker = read_marker(bytes, pos);
    if (!marker || *marker == kSoi || *marker == kEoi || *marker == kSos) return std::nullopt;
    if (is_standalone(*marker)) {
      first_segment = false;
      continue;
    }
    const auto len = segment_length(bytes, pos);
    if (!len) return std::nullopt;
    if (first_segment && *marker == kApp0 && *len >= 16 && bytes[pos + 2] == 'J' &&
        bytes[pos + 3] == 'F' && bytes[pos + 4] == 'I' && bytes[pos + 5] == 'F' &&
        bytes[pos + 6] == 0x00) {
      jfif = true;
    }
    if (is_sof(*marker)) {
      // length(2) precision(1) height(2) width(2) components(1)
      if (*len < 8) return std::nullopt;
      return JpegInfo{static_cast<int>(be16(bytes, pos + 5)), static_cast<int>(be16(bytes, pos + 3)),
                      *marker == kSof0, jfif};
    }
    pos += *len;
    first_segment = false;
  }
}

/// Splits a concatenation of whole JPEGs (each ends with EOI, FF D9, and the
/// next starts with SOI, FF D8, with nothing between) into the individual
/// JPEGs, in order, byte for byte. Frames are found by walking markers, so
/// FF D9 inside a segment cannot fool it. nullopt if the bytes are not
/// exactly such a concatenation (bytes between or after frames, a malformed
/// or truncated frame). Empty input is zero JPEGs: an empty vector.
inline std::optional<std::vector<std::vector<std::uint8_t>>> split_jpegs(
    std::span<const std::uint8_t> bytes) {
  std::vector<std::vector<std::uint8_t>> jpegs;
  std::size_t pos = 0;
  while (pos < bytes.size()) {
    const auto end = jpeg_detail::end_of_jpeg(bytes, pos);
    if (!end) return std::nullopt;
    jpegs.emplace_back(bytes.begin() + static_cast<std::ptrdiff_t>(pos),
                       bytes.begin() + static_cast<std::ptrdiff_t>(*end));
    pos = *end;
  }
  return jpegs;
}

}  // namespace bambu::test
