#include "status/farm_page.h"

#include <openssl/evp.h>

#include <fmt/format.h>

#include <array>
#include <filesystem>
#include <stdexcept>

#include "status/printers.h"
#include "status/stream_health.h"

namespace bambu {

namespace {

// The text between `<tag>` and `</tag>`, which must occur exactly once in
// `page`; what a CSP hash covers (the element's content, byte for byte).
std::string_view element_text(std::string_view page, std::string_view tag) {
  const std::string open = fmt::format("<{}>", tag), close = fmt::format("</{}>", tag);
  const std::size_t start = page.find(open);
  const std::size_t end = start == std::string_view::npos ? start : page.find(close, start);
  if (end == std::string_view::npos || page.find(open, start + open.size()) != std::string_view::npos) {
    throw std::logic_error(fmt::format("the farm page needs exactly one <{}> element", tag));
  }
  return page.substr(start + open.size(), end - start - open.size());
}

// 'sha256-BASE64' of `text`, a CSP hash source (CSP Level 2, "hash-source").
std::string csp_hash(std::string_view text) {
  std::array<unsigned char, 32> digest{};
  unsigned int size = 0;
  if (EVP_Digest(text.data(), text.size(), digest.data(), &size, EVP_sha256(), nullptr) != 1 ||
      size != digest.size()) {
    throw std::runtime_error("SHA-256 of the farm page failed");
  }
  std::array<unsigned char, 4 * ((32 + 2) / 3) + 1> base64{};  // with the terminating NUL
  const int length = EVP_EncodeBlock(base64.data(), digest.data(), static_cast<int>(digest.size()));
  return fmt::format("'sha256-{}'", std::string_view(reinterpret_cast<const char*>(base64.data()),
                                                     static_cast<std::size_t>(length)));
}

// The single printer of --heartbeat: its file name without ".json".
std::string heartbeat_name(const std::string& path) {
  std::string name = std::filesystem::path(path).filename().string();
  if (name.size() > 5 && name.ends_with(".json")) name.resize(name.size() - 5);
  return name;
}

}  // namespace

const std::string& farm_page_security_policy() {
  // Built on first use (thread-safe static); the page never changes.
  static const std::string policy = fmt::format(
      "default-src 'none'; script-src {}; style-src {}; img-src 'self' data:; connect-src 'self'; "
      "base-uri 'none'; form-action 'none'",
      csp_hash(element_text(farm_page_html(), "script")), csp_hash(element_text(farm_page_html(), "style")));
  return policy;
}

nlohmann::json farm_json(const StatusConfig& config, std::chrono::system_clock::time_point now) {
  nlohmann::json j{{"max_age", config.max_age_s}, {"folder", !config.heartbeat_dir.empty()}};
  j["go2rtc_url"] = config.go2rtc_url.empty() ? nlohmann::json() : nlohmann::json(config.go2rtc_url);
  nlohmann::json& printers = j["printers"] = nlohmann::json::array();
  if (config.heartbeat_dir.empty()) {
    StreamHealth health = read_stream_health(config.heartbeat_path, config.max_age_s, now);
    printers.push_back({{"name", heartbeat_name(config.heartbeat_path)}, {"status", status_json(health)}});
    return j;
  }
  PrinterHealths healths = read_printer_healths(config.heartbeat_dir, config.max_age_s, now);
  for (std::size_t i = 0; i < healths.names.size(); ++i) {
    printers.push_back({{"name", healths.names[i]}, {"status", status_json(healths.healths[i])}});
  }
  return j;
}

}  // namespace bambu
