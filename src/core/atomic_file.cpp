#include "core/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <system_error>

#include "core/log.h"

namespace bambu {

void write_file_atomically(const std::string& path, std::string_view content, mode_t mode) {
  std::string temp = fmt::format("{}.tmp.{}", path, ::getpid());
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "cannot write " + temp);
  int err = write_all_fd(fd, content.data(), content.size());
  if (::close(fd) != 0 && err == 0) err = errno;
  if (err == 0 && ::rename(temp.c_str(), path.c_str()) != 0) err = errno;
  if (err != 0) {
    ::unlink(temp.c_str());
    throw std::system_error(err, std::generic_category(), "cannot write " + path);
  }
}

}  // namespace bambu
