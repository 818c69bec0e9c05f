// End to end: --heartbeat and --snapshot in folders that do not exist yet,
// as a go2rtc exec: line on a fresh machine gives them.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "support/e2e.h"
#include "support/temp_dir.h"

using namespace std::chrono_literals;
using namespace bambu::test::e2e;
using bambu::test::TempDir;
namespace fs = std::filesystem;

TEST_CASE("options --heartbeat and --snapshot create their missing folders, every level, as mkdir -p does") {
  TempDir dir("output-folders");
  const fs::path heartbeat = dir.path / "bambu" / "hb" / "printer.json";
  const fs::path snapshot = dir.path / "bambu" / "snapshots" / "printer.jpg";
  auto c = client({"--demo", "--frames", "3", "--heartbeat", heartbeat.string(), "--snapshot", snapshot.string()});
  REQUIRE(c.wait_for_exit(k_wait) == 0);
  CHECK(c.stdout_size() > 0);
  CHECK(fs::is_regular_file(heartbeat));
  CHECK(fs::file_size(snapshot) > 0);
  struct stat st {};
  REQUIRE(::stat((dir.path / "bambu").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777 & ~0755) == 0);  // 0755 less the umask
}

TEST_CASE("options --heartbeat and --snapshot: a folder that cannot be made exits 2 at start, the first line names it") {
  TempDir dir("output-folders");
  std::ofstream(dir.path / "file") << "x";
  SECTION("--heartbeat") {
    auto c = client({"--demo", "--frames", "3", "--heartbeat", (dir.path / "file" / "hb" / "printer.json").string()});
    REQUIRE(c.wait_for_exit(k_wait) == 2);
    CHECK(first_line(c.stderr_text()) ==
          "error: --heartbeat: cannot create the folder " + (dir.path / "file" / "hb").string() + ": Not a directory");
    CHECK(c.stdout_size() == 0);
  }
  SECTION("--snapshot") {
    const fs::path heartbeat = dir.path / "printer.json";
    auto c = client({"--demo", "--frames", "3", "--heartbeat", heartbeat.string(), "--snapshot",
                     (dir.path / "file" / "printer.jpg").string()});
    REQUIRE(c.wait_for_exit(k_wait) == 2);
    CHECK(first_line(c.stderr_text()) ==
          "error: --snapshot: cannot create the folder " + (dir.path / "file").string() + ": Not a directory");
    CHECK(c.stdout_size() == 0);
    // The heartbeat says why the stream ended.
    std::ifstream in(heartbeat);
    const std::string text((std::istreambuf_iterator<char>(in)), {});
    CHECK_THAT(text, Catch::Contains("\"state\":\"failed\"") && Catch::Contains("cannot create the folder"));
  }
}
