// make_parent_folders (core/parent_folders.h): `mkdir -p` for the folder
// of a file about to be written.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <system_error>

#include "core/parent_folders.h"
#include "support/temp_dir.h"

namespace fs = std::filesystem;
using bambu::make_parent_folders;
using bambu::test::TempDir;

namespace {

// The permission bits of `path`.
mode_t mode_of(const fs::path& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

}  // namespace

TEST_CASE("make_parent_folders creates every missing level with mode 0755, and leaves the file alone") {
  TempDir dir("folders");
  const mode_t old_mask = ::umask(022);
  make_parent_folders((dir.path / "a" / "b" / "c" / "printer.json").string());
  ::umask(old_mask);
  for (const fs::path& folder : {dir.path / "a", dir.path / "a" / "b", dir.path / "a" / "b" / "c"}) {
    CHECK(fs::is_directory(folder));
    CHECK(mode_of(folder) == 0755);
  }
  CHECK_FALSE(fs::exists(dir.path / "a" / "b" / "c" / "printer.json"));
  // Existing folders are left as they are, whatever their mode.
  fs::permissions(dir.path / "a", fs::perms(0700));
  make_parent_folders((dir.path / "a" / "b" / "other.json").string());
  CHECK(mode_of(dir.path / "a") == 0700);
  // No folder part, or only the root: nothing to make.
  make_parent_folders("printer.json");
  make_parent_folders("/printer.json");
}

TEST_CASE("make_parent_folders names the folder it cannot make") {
  TempDir dir("folders");
  std::ofstream(dir.path / "file") << "x";
  CHECK_THROWS_WITH(make_parent_folders((dir.path / "file" / "sub" / "printer.json").string()),
                    Catch::StartsWith("cannot create the folder " + (dir.path / "file" / "sub").string()) &&
                        Catch::Contains("Not a directory"));
  CHECK_THROWS_WITH(make_parent_folders((dir.path / "file" / "printer.json").string()),
                    Catch::StartsWith("cannot create the folder " + (dir.path / "file").string()) &&
                        Catch::Contains("Not a directory"));
  CHECK_THROWS_AS(make_parent_folders((dir.path / "file" / "printer.json").string()), std::system_error);
}
