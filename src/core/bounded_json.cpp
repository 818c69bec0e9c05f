#include "core/bounded_json.h"

namespace bambu {

std::optional<nlohmann::json> parse_json_bounded(std::string_view text, int max_depth, JsonRefusal& refusal) {
  using json = nlohmann::json;
  bool too_deep = false;
  const json::parser_callback_t bound = [&too_deep, max_depth](int depth, json::parse_event_t event, json&) {
    const bool opens = event == json::parse_event_t::object_start || event == json::parse_event_t::array_start;
    // `depth` counts the containers around this one: 0 for the outermost.
    if (opens && depth >= max_depth) too_deep = true;
    return !too_deep;
  };
  try {
    json root = json::parse(text.begin(), text.end(), bound);
    if (!too_deep) return root;
    refusal.too_deep = true;
  } catch (const json::parse_error& e) {
    refusal.byte = e.byte;
  }
  return std::nullopt;
}

}  // namespace bambu
