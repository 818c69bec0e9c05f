#include "core/parent_folders.h"

#include <sys/stat.h>

#include <cerrno>
#include <system_error>

namespace bambu {

void make_parent_folders(const std::string& path) {
  const std::size_t last_slash = path.rfind('/');
  if (last_slash == std::string::npos || last_slash == 0) return;  // the current folder, or /
  const std::string folder = path.substr(0, last_slash);
  // Each prefix that ends before a '/', then the folder itself: a/, a/b/, a/b/c.
  for (std::size_t end = folder.find('/', 1);; end = folder.find('/', end + 1)) {
    const std::string prefix = folder.substr(0, end);
    if (!prefix.empty() && prefix.back() != '/' && ::mkdir(prefix.c_str(), 0755) != 0 && errno != EEXIST) {
      throw std::system_error(errno, std::generic_category(), "cannot create the folder " + prefix);
    }
    if (end == std::string::npos) break;
  }
  struct stat st {};
  if (::stat(folder.c_str(), &st) != 0) {
    throw std::system_error(errno, std::generic_category(), "cannot create the folder " + folder);
  }
  if (!S_ISDIR(st.st_mode)) {
    throw std::system_error(ENOTDIR, std::generic_category(), "cannot create the folder " + folder);
  }
}

}  // namespace bambu
