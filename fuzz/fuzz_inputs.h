// What the fuzz inputs mean, shared by the fuzz targets and the seed corpus
// writer (make_seed_corpus.cpp), so that seeds exercise what they claim to.
#pragma once

#include <chrono>
#include <cstdint>

#include "pipeline/printer_state.h"

namespace bambu::fuzz {

/// The fixed "now" at which heartbeat_reader_fuzz judges every heartbeat:
/// 2026-11-21T05:31:30.000Z (the unit tests use the same moment).
inline const std::chrono::system_clock::time_point k_now{std::chrono::seconds(1795239090)};
/// The --max-age, in seconds, heartbeat_reader_fuzz judges with.
inline constexpr double k_max_age_s = 5;

// frame_parser_fuzz input: byte 0 is a mode byte, the rest is the byte stream
// from the printer. The mode byte's fields:

/// Bits 0-1: how bytes reach the parser (the k_api_* values).
inline constexpr std::uint8_t k_api_mask = 0x03;
inline constexpr std::uint8_t k_api_feed = 0;            ///< feed() only
inline constexpr std::uint8_t k_api_window = 1;          ///< window() and commit() only
inline constexpr std::uint8_t k_api_alternate = 2;       ///< feed() and window()/commit() in turn
inline constexpr std::uint8_t k_api_partial_commit = 3;  ///< window(), then commit() of part of it
/// Bits 2-4: chunk sizes. 0: one byte at a time; 1: everything at once;
/// n >= 2: pseudo-random sizes from 1 to 2^(n+2) bytes.
inline constexpr unsigned k_chunk_shift = 2;
inline constexpr std::uint8_t k_chunk_mask = 0x07;
/// Bit 5: poke the parser between steps (take_frame() when no frame is
/// ready, feed() and commit() while a frame waits, window() twice, commit(0)).
inline constexpr std::uint8_t k_poke = 0x20;
/// Bit 6: after the stream, reset() and check that a fresh frame parses.
inline constexpr std::uint8_t k_reset_after = 0x40;

/// The mode byte for `api`, chunk class `chunks` (0 to 7) and flags.
constexpr std::uint8_t frame_mode(std::uint8_t api, unsigned chunks, std::uint8_t flags = 0) {
  return static_cast<std::uint8_t>(api | (chunks & k_chunk_mask) << k_chunk_shift | flags);
}

/// printer_report_fuzz's second start state: every field set, as after a
/// full report of a printer mid-print (the seeds' own values differ).
inline PrinterState printer_state_full() {
  PrinterState s;
  s.print_state = "RUNNING";
  s.print_percent = 12;
  s.print_layer = 34;
  s.print_layers_total = 56;
  s.print_remaining_minutes = 78;
  s.print_job = "fuzz_plate_9";
  s.chamber_light = "flashing";
  s.chamber_light2 = "on";
  s.rtsp_url = "rtsps://192.0.2.9/streaming/live/1";
  s.firmware_version = "09.09.09.09";
  s.full_report_seen = true;
  return s;
}

}  // namespace bambu::fuzz
