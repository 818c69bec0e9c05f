// libFuzzer target: the port-6000 FrameParser (src/protocol/frame_parser.h).
//
// Input: a mode byte (fuzz_inputs.h: which API, which chunk sizes, extra
// calls), then the byte stream as the printer would send it. The stream is
// fed to a FrameParser in the chosen way, and everything the parser says is
// checked against a plain whole-buffer parse of the same bytes: the same
// frames, byte-exact and in order; consumed counts that add up to where each
// frame ends; window() exactly as large as the current part still needs;
// `corrupt` exactly where a size field exceeds k_max_frame_size, and sticky
// until reset(); buffered() never above one header plus k_max_frame_size.
// A failed check prints what failed and aborts (libFuzzer saves the input).
// Allocations are capped by the ctest's -malloc_limit_mb.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <span>
#include <vector>

#include "fuzz_inputs.h"
#include "protocol/frame_parser.h"

namespace {

using bambu::FrameParser;
using bambu::k_frame_header_size;
using bambu::k_max_frame_size;
using Status = FrameParser::Status;
namespace fuzz = bambu::fuzz;

[[noreturn]] void check_failed(const char* what, int line) {
  std::fprintf(stderr, "frame_parser_fuzz: check failed at line %d: %s\n", line, what);
  std::abort();
}
#define FUZZ_CHECK(cond) ((cond) ? void() : check_failed(#cond, __LINE__))

// The stream parsed at once, the obvious way: what the parser must find.
struct Expected {
  std::vector<std::span<const std::uint8_t>> frames;
  std::vector<std::size_t> frame_ends;  // stream offset just past each frame
  bool corrupt = false;
  std::uint32_t corrupt_size = 0;  // the refused size field
  std::size_t end = 0;             // offset of the first byte not in a whole frame (or after the bad header)
};

Expected parse_whole(std::span<const std::uint8_t> stream) {
  Expected e;
  std::size_t pos = 0;
  while (stream.size() - pos >= k_frame_header_size) {
    std::uint32_t size = bambu::read_u32_le(stream.data() + pos);
    if (size > k_max_frame_size) {
      e.corrupt = true;
      e.corrupt_size = size;
      e.end = pos + k_frame_header_size;
      return e;
    }
    if (stream.size() - pos - k_frame_header_size < size) break;
    e.frames.push_back(stream.subspan(pos + k_frame_header_size, size));
    pos += k_frame_header_size + size;
    e.frame_ends.push_back(pos);
  }
  e.end = pos;
  return e;
}

// Chunk sizes from the mode byte: a tiny xorshift generator, so that one
// input always feeds the same way.
class Chunker {
 public:
  Chunker(unsigned chunk_class, std::uint32_t seed) : class_(chunk_class), state_(seed | 1u) {}
  std::size_t next(std::size_t left) {
    std::size_t n = left;
    if (class_ == 0) {
      n = 1;
    } else if (class_ >= 2) {
      state_ ^= state_ << 13;
      state_ ^= state_ >> 17;
      state_ ^= state_ << 5;
      n = 1 + state_ % (std::size_t{1} << (class_ + 2));
    }
    return n < left ? n : left;
  }

 private:
  unsigned class_;
  std::uint32_t state_;
};

// How much the current part (header or payload) still needs, from the
// parser's public state alone.
std::size_t still_needed(const FrameParser& parser) {
  std::size_t buffered = parser.buffered();
  if (buffered < k_frame_header_size) return k_frame_header_size - buffered;
  return k_frame_header_size + parser.header().size - buffered;
}

// Calls that must not change anything in the current state.
void poke(FrameParser& parser) {
  Status before = parser.status();
  std::size_t buffered = parser.buffered();
  if (before != Status::frame) FUZZ_CHECK(parser.take_frame().empty());
  if (before != Status::need_more) {
    static const std::uint8_t k_byte[1] = {0x42};
    FrameParser::Result r = parser.feed(k_byte);
    FUZZ_CHECK(r.status == before && r.consumed == 0);
    FUZZ_CHECK(parser.window().empty());
    FUZZ_CHECK(parser.commit(1) == before);
  } else {
    FUZZ_CHECK(parser.window().size() == still_needed(parser));
    FUZZ_CHECK(parser.feed({}).consumed == 0);
  }
  FUZZ_CHECK(parser.commit(0) == before);
  FUZZ_CHECK(parser.status() == before && parser.buffered() == buffered);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t mode = data[0];
  const std::span<const std::uint8_t> stream(data + 1, size - 1);
  const Expected expected = parse_whole(stream);

  const std::uint8_t api = mode & fuzz::k_api_mask;
  Chunker chunker((mode >> fuzz::k_chunk_shift) & fuzz::k_chunk_mask, 0x9E3779B9u ^ mode);
  const bool pokes = (mode & fuzz::k_poke) != 0;

  FrameParser parser;
  std::size_t pos = 0;  // bytes of the stream the parser has taken
  std::size_t frames_out = 0;
  std::size_t step = 0;
  for (;; ++step) {
    FUZZ_CHECK(parser.buffered() <= k_frame_header_size + k_max_frame_size);
    if (pokes) poke(parser);
    if (parser.status() == Status::frame) {
      FUZZ_CHECK(frames_out < expected.frames.size());
      FUZZ_CHECK(pos == expected.frame_ends[frames_out]);
      FUZZ_CHECK(parser.header().size == expected.frames[frames_out].size());
      std::vector<std::uint8_t> frame = parser.take_frame();
      FUZZ_CHECK(frame.size() <= k_max_frame_size);
      const auto& want = expected.frames[frames_out];
      FUZZ_CHECK(frame.size() == want.size());
      FUZZ_CHECK(want.empty() || std::memcmp(frame.data(), want.data(), want.size()) == 0);
      FUZZ_CHECK(parser.status() == Status::need_more && parser.buffered() == 0);
      ++frames_out;
      continue;
    }
    if (parser.status() == Status::corrupt) {
      FUZZ_CHECK(expected.corrupt);
      FUZZ_CHECK(pos == expected.end);
      FUZZ_CHECK(parser.header().size == expected.corrupt_size);
      // Sticky: nothing more goes in, however it is offered.
      if (pos < stream.size()) {
        FrameParser::Result r = parser.feed(stream.subspan(pos));
        FUZZ_CHECK(r.status == Status::corrupt && r.consumed == 0);
      }
      FUZZ_CHECK(parser.window().empty());
      FUZZ_CHECK(parser.commit(1) == Status::corrupt);
      FUZZ_CHECK(parser.take_frame().empty());
      break;
    }
    if (pos == stream.size()) break;

    const std::size_t chunk = chunker.next(stream.size() - pos);
    const bool use_feed = api == fuzz::k_api_feed || (api == fuzz::k_api_alternate && step % 2 == 0);
    if (use_feed) {
      FrameParser::Result r = parser.feed(stream.subspan(pos, chunk));
      FUZZ_CHECK(r.status == parser.status());
      FUZZ_CHECK(r.consumed >= 1 && r.consumed <= chunk);
      // Short only where a frame ends or the stream turns corrupt.
      if (r.status == Status::need_more) FUZZ_CHECK(r.consumed == chunk);
      pos += r.consumed;
    } else {
      std::span<std::uint8_t> window = parser.window();
      FUZZ_CHECK(!window.empty());
      FUZZ_CHECK(window.size() == still_needed(parser));
      std::size_t n = chunk < window.size() ? chunk : window.size();
      if (api == fuzz::k_api_partial_commit && n > 1) n = n / 2;
      std::memcpy(window.data(), stream.data() + pos, n);
      Status st = parser.commit(n);
      FUZZ_CHECK(st == parser.status());
      pos += n;
    }
  }

  FUZZ_CHECK(frames_out == expected.frames.size());
  if (!expected.corrupt) {
    FUZZ_CHECK(parser.status() == Status::need_more);
    FUZZ_CHECK(pos == stream.size());
    FUZZ_CHECK(parser.buffered() == stream.size() - expected.end);
  }

  if ((mode & fuzz::k_reset_after) != 0) {
    parser.reset();
    FUZZ_CHECK(parser.status() == Status::need_more && parser.buffered() == 0);
    std::uint8_t fresh[k_frame_header_size + 2] = {};
    bambu::write_u32_le(fresh, 2);
    fresh[k_frame_header_size] = 0xFF;
    fresh[k_frame_header_size + 1] = 0xD8;
    FrameParser::Result r = parser.feed(fresh);
    FUZZ_CHECK(r.status == Status::frame && r.consumed == sizeof fresh);
    std::vector<std::uint8_t> frame = parser.take_frame();
    FUZZ_CHECK(frame.size() == 2 && frame[0] == 0xFF && frame[1] == 0xD8);
  }
  return 0;
}
