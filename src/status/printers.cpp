#include "status/printers.h"

#include <dirent.h>
#include <sys/stat.h>

#include <fmt/format.h>

#include <algorithm>
#include <memory>

#include "core/bounded_read.h"
#include "protocol/jpeg.h"

namespace bambu {

SnapshotAnswer read_snapshot(const nlohmann::json& heartbeat, double max_age_s,
                             std::chrono::system_clock::time_point now) {
  const auto it = heartbeat.is_object() ? heartbeat.find("snapshot") : heartbeat.end();
  if (it == heartbeat.end() || !it->is_string()) {
    return {404, "no snapshot: the stream keeps none (bambu-stream --snapshot PATH)\n"};
  }
  const std::string path = it->get<std::string>();
  BoundedFile file = read_bounded_file(path, k_max_snapshot_bytes, "snapshot");
  if (file.missing) return {404, "no snapshot yet\n"};
  if (!file.failure.empty()) return {503, file.failure + "\n"};
  const double age = std::chrono::duration<double>(now - file.modified).count();
  if (age > max_age_s) {
    return {503, fmt::format("snapshot {} is stale: {:.1f} s old, more than the {} s allowed\n", path, age, max_age_s)};
  }
  const std::span<const std::uint8_t> bytes(reinterpret_cast<const std::uint8_t*>(file.bytes.data()),
                                            file.bytes.size());
  if (!is_whole_jpeg(bytes)) return {503, fmt::format("snapshot {} is not a whole JPEG\n", path)};
  return {200, std::move(file.bytes)};
}

bool valid_printer_name(std::string_view name) {
  if (name.empty() || name.size() > 64 || name.front() == '.') return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
           c == '.';
  });
}

std::vector<std::string> printer_names(const std::string& dir) {
  std::vector<std::string> names;
  std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir(dir.c_str()), &::closedir);
  if (!d) return names;
  constexpr std::string_view k_suffix = ".json";
  while (const dirent* e = ::readdir(d.get())) {
    std::string_view file = e->d_name;
    if (file.size() <= k_suffix.size() || !file.ends_with(k_suffix)) continue;
    std::string_view name = file.substr(0, file.size() - k_suffix.size());
    if (!valid_printer_name(name)) continue;
    struct stat st {};
    if (::stat(printer_heartbeat_path(dir, name).c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    names.emplace_back(name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::string printer_heartbeat_path(const std::string& dir, std::string_view name) {
  return fmt::format("{}/{}.json", dir, name);
}

bool PrinterHealths::all_started() const {
  return !healths.empty() && std::all_of(healths.begin(), healths.end(), [](const auto& h) { return h.started; });
}

PrinterHealths read_printer_healths(const std::string& dir, double max_age_s,
                                    std::chrono::system_clock::time_point now) {
  PrinterHealths out;
  out.names = printer_names(dir);
  for (const auto& name : out.names) {
    out.healths.push_back(read_stream_health(printer_heartbeat_path(dir, name), max_age_s, now));
    if (!out.healths.back().started && out.reason.empty()) {
      out.reason = fmt::format("printer {}: {}", name, out.healths.back().reason);
    }
  }
  if (out.names.empty()) out.reason = fmt::format("no printer heartbeat (NAME.json) in {}", dir);
  return out;
}

nlohmann::json printers_json(const PrinterHealths& printers) {
  nlohmann::json j{{"started", printers.all_started()}};
  j["reason"] = printers.all_started() ? nlohmann::json() : nlohmann::json(printers.reason);
  j["printers"] = nlohmann::json::object();
  for (std::size_t i = 0; i < printers.names.size(); ++i) j["printers"][printers.names[i]] = status_json(printers.healths[i]);
  return j;
}

}  // namespace bambu
