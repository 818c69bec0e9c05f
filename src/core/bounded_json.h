// Parsing JSON from outside (an MQTT report, go2rtc's answer) with its
// nesting bounded, so that a hostile document can neither recurse the
// parser's stack deep nor build a deep tree.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

#include <nlohmann/json.hpp>

namespace bambu {

/// Why parse_json_bounded() refused a text.
struct JsonRefusal {
  bool too_deep = false;  ///< nested deeper than the bound
  std::size_t byte = 0;   ///< not JSON: nlohmann's position of the error (bytes, from 1)
};

/// Parses `text` as one JSON value whose arrays and objects are nested at
/// most `max_depth` deep (the outermost counts as 1). nullopt, with
/// `refusal` saying why, when it is nested deeper (parsing stops at the
/// first container past the bound) or is not JSON. Throws only
/// std::bad_alloc.
std::optional<nlohmann::json> parse_json_bounded(std::string_view text, int max_depth, JsonRefusal& refusal);

}  // namespace bambu
