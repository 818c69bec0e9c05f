#include "protocol/frame_parser.h"

#include <algorithm>
#include <cstring>

namespace bambu {

FrameHeader decode_frame_header(std::span<const std::uint8_t, k_frame_header_size> bytes) {
  // All four bytes of the size: some Python clients read three and break on
  // frames over 16 MiB (port6000-protocol.md, "Read exactly").
  return FrameHeader{read_u32_le(bytes.data()), read_u32_le(bytes.data() + 4),
                     read_u32_le(bytes.data() + 8), read_u32_le(bytes.data() + 12)};
}

void encode_frame_header(const FrameHeader& header, std::span<std::uint8_t, k_frame_header_size> out) {
  write_u32_le(out.data(), header.size);
  write_u32_le(out.data() + 4, header.itrack);
  write_u32_le(out.data() + 8, header.flags);
  write_u32_le(out.data() + 12, header.reserved);
}

FrameParser::Result FrameParser::feed(std::span<const std::uint8_t> bytes) {
  std::size_t consumed = 0;
  while (status_ == Status::need_more && consumed < bytes.size()) {
    auto dest = window();
    std::size_t n = std::min(dest.size(), bytes.size() - consumed);
    std::memcpy(dest.data(), bytes.data() + consumed, n);
    consumed += n;
    commit(n);
  }
  return Result{status_, consumed};
}

std::span<std::uint8_t> FrameParser::window() {
  if (status_ != Status::need_more) return {};
  if (header_filled_ < k_frame_header_size) {
    return {header_bytes_ + header_filled_, k_frame_header_size - header_filled_};
  }
  return {payload_.data() + payload_filled_, payload_.size() - payload_filled_};
}

FrameParser::Status FrameParser::commit(std::size_t n) {
  if (status_ != Status::need_more || n == 0) return status_;
  if (header_filled_ < k_frame_header_size) {
    header_filled_ += std::min(n, k_frame_header_size - header_filled_);
    if (header_filled_ == k_frame_header_size) return after_header();
    return status_;
  }
  payload_filled_ += std::min(n, payload_.size() - payload_filled_);
  if (payload_filled_ == payload_.size()) status_ = Status::frame;
  return status_;
}

FrameParser::Status FrameParser::after_header() {
  header_ = decode_frame_header(std::span<const std::uint8_t, k_frame_header_size>(header_bytes_));
  // Check before allocating: a hostile size must never become an allocation.
  if (header_.size > k_max_frame_size) {
    status_ = Status::corrupt;
    return status_;
  }
  payload_.assign(header_.size, 0);
  payload_filled_ = 0;
  if (header_.size == 0) status_ = Status::frame;
  return status_;
}

std::vector<std::uint8_t> FrameParser::take_frame() {
  if (status_ != Status::frame) return {};
  std::vector<std::uint8_t> frame = std::move(payload_);
  payload_ = {};
  payload_filled_ = 0;
  header_filled_ = 0;
  status_ = Status::need_more;
  return frame;
}

void FrameParser::reset() {
  status_ = Status::need_more;
  header_filled_ = 0;
  header_ = {};
  payload_ = {};
  payload_filled_ = 0;
}

}  // namespace bambu
