// libFuzzer target: merge_report (src/mqtt/printer_report.h), what the MQTT
// session does with every payload the printer's broker sends on
// device/SERIAL/report.
//
// Input: one payload, as is. It is merged twice, into an empty state and
// into a full one (every field set, fuzz::printer_state_full()), and each
// result once more. Checked, against what a partial update must be:
// - a payload over k_max_report_size is refused, and every refusal leaves
//   the state as it was and says why;
// - the problem line is one line of printable bytes, at most 512, and the
//   same whatever the state before (it depends on the payload alone);
// - a report overrides what it carries and keeps the rest: the fields it
//   set in the empty state hold the same values in the full one, and the
//   full state's other fields are unchanged;
// - no field is ever cleared, full_report_seen never reverts, and a full
//   outcome sets it;
// - `changed` is exactly "the state differs", and merging the same payload
//   again changes nothing;
// - numbers are in range (percent 0 to 100, counts 0 to 600000), texts at
//   most k_max_report_text bytes.
// A failed check prints what failed and aborts (libFuzzer saves the input).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include "fuzz_inputs.h"
#include "mqtt/printer_report.h"

namespace {

using bambu::PrinterState;
using bambu::ReportOutcome;
namespace fuzz = bambu::fuzz;

[[noreturn]] void check_failed(const char* what, int line) {
  std::fprintf(stderr, "printer_report_fuzz: check failed at line %d: %s\n", line, what);
  std::abort();
}
#define FUZZ_CHECK(cond) ((cond) ? void() : check_failed(#cond, __LINE__))

template <typename T>
bool kept(const std::optional<T>& before, const std::optional<T>& after) {
  return !before || after;
}

// No field cleared, full_report_seen not reverted.
bool nothing_cleared(const PrinterState& before, const PrinterState& after) {
  return kept(before.print_state, after.print_state) && kept(before.print_percent, after.print_percent) &&
         kept(before.print_layer, after.print_layer) && kept(before.print_layers_total, after.print_layers_total) &&
         kept(before.print_remaining_minutes, after.print_remaining_minutes) &&
         kept(before.print_job, after.print_job) && kept(before.chamber_light, after.chamber_light) &&
         kept(before.chamber_light2, after.chamber_light2) && kept(before.rtsp_url, after.rtsp_url) &&
         kept(before.firmware_version, after.firmware_version) &&
         (!before.full_report_seen || after.full_report_seen);
}

// The field as merged into the full state: what the report set in the
// empty state if it set it, else the full state's old value.
template <typename T>
bool overrides(const std::optional<T>& from_empty, const std::optional<T>& full_before,
               const std::optional<T>& full_after) {
  return full_after == (from_empty ? from_empty : full_before);
}

bool overrides_all(const PrinterState& e, const PrinterState& b, const PrinterState& a) {
  return overrides(e.print_state, b.print_state, a.print_state) &&
         overrides(e.print_percent, b.print_percent, a.print_percent) &&
         overrides(e.print_layer, b.print_layer, a.print_layer) &&
         overrides(e.print_layers_total, b.print_layers_total, a.print_layers_total) &&
         overrides(e.print_remaining_minutes, b.print_remaining_minutes, a.print_remaining_minutes) &&
         overrides(e.print_job, b.print_job, a.print_job) &&
         overrides(e.chamber_light, b.chamber_light, a.chamber_light) &&
         overrides(e.chamber_light2, b.chamber_light2, a.chamber_light2) &&
         overrides(e.rtsp_url, b.rtsp_url, a.rtsp_url) &&
         overrides(e.firmware_version, b.firmware_version, a.firmware_version);
}

bool in_range(const std::optional<int>& value, int high) { return !value || (*value >= 0 && *value <= high); }
bool short_text(const std::optional<std::string>& text) {
  return !text || text->size() <= bambu::k_max_report_text;
}

bool plausible(const PrinterState& s) {
  return in_range(s.print_percent, 100) && in_range(s.print_layer, 600000) &&
         in_range(s.print_layers_total, 600000) && in_range(s.print_remaining_minutes, 600000) &&
         short_text(s.print_state) && short_text(s.print_job) && short_text(s.chamber_light) &&
         short_text(s.chamber_light2) && short_text(s.rtsp_url) && short_text(s.firmware_version);
}

bool one_printable_line(const std::string& text) {
  if (text.size() > 512) return false;
  for (char c : text) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return false;
  }
  return true;
}

// Merges `payload` into `state`, checks what holds for any start state.
ReportOutcome merge_checked(std::string_view payload, PrinterState& state) {
  const PrinterState before = state;
  const ReportOutcome outcome = bambu::merge_report(payload, state);
  FUZZ_CHECK(one_printable_line(outcome.problem));
  if (payload.size() > bambu::k_max_report_size) FUZZ_CHECK(outcome.rejected);
  if (outcome.rejected) {
    FUZZ_CHECK(state == before);
    FUZZ_CHECK(!outcome.problem.empty());
    FUZZ_CHECK(!outcome.changed && !outcome.full);
  }
  FUZZ_CHECK(outcome.changed == (state != before));
  FUZZ_CHECK(nothing_cleared(before, state));
  if (outcome.full) FUZZ_CHECK(state.full_report_seen);
  FUZZ_CHECK(plausible(state));
  // Idempotent: the same payload again changes nothing.
  PrinterState again = state;
  const ReportOutcome second = bambu::merge_report(payload, again);
  FUZZ_CHECK(!second.changed && again == state);
  FUZZ_CHECK(second.problem == outcome.problem && second.rejected == outcome.rejected);
  return outcome;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view payload(reinterpret_cast<const char*>(data), size);
  PrinterState from_empty;
  const ReportOutcome empty_outcome = merge_checked(payload, from_empty);
  const PrinterState full_before = fuzz::printer_state_full();
  PrinterState from_full = full_before;
  const ReportOutcome full_outcome = merge_checked(payload, from_full);
  FUZZ_CHECK(empty_outcome.problem == full_outcome.problem);
  FUZZ_CHECK(empty_outcome.rejected == full_outcome.rejected && empty_outcome.full == full_outcome.full);
  FUZZ_CHECK(overrides_all(from_empty, full_before, from_full));
  FUZZ_CHECK(from_empty.full_report_seen == empty_outcome.full);
  return 0;
}
