// The project's user documentation, as the documentation tests read it.
#pragma once

#include <algorithm>
#include <filesystem>
#include <vector>

namespace bambu::test {

/// README.md of `source_dir` first, then every docs/*.md in name order: the
/// files whose links, recipes and names users follow.
inline std::vector<std::filesystem::path> documentation_files(const std::filesystem::path& source_dir) {
  std::vector<std::filesystem::path> files{source_dir / "README.md"};
  for (const auto& entry : std::filesystem::directory_iterator(source_dir / "docs")) {
    if (entry.path().extension() == ".md") files.push_back(entry.path());
  }
  std::sort(files.begin() + 1, files.end());
  return files;
}

}  // namespace bambu::test
