// `bambu-stream status --listen 127.0.0.1:0` as a child process, and an
// httplib client for it (the end-to-end tests of --snapshot, the print
// farm's --heartbeat-dir and the shipped go2rtc configurations).
#pragma once

#include <catch2/catch.hpp>
#include <httplib.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "support/child_process.h"
#include "support/cli_env.h"
#include "support/e2e.h"
#include "support/wait.h"

namespace bambu::test {

/// Starts `bambu-stream status --listen 127.0.0.1:0 ARGS...` and waits (at
/// most 10 s) for its "listening on" line; killed with the object.
class StatusListener {
 public:
  explicit StatusListener(std::vector<std::string> args) {
    std::vector<std::string> argv = {e2e::k_binary, "status", "--listen", "127.0.0.1:0"};
    argv.insert(argv.end(), args.begin(), args.end());
    process_ = std::make_unique<ChildProcess>(ChildOptions{argv, {}, k_cli_env_vars, true});
    auto line = process_->wait_for_stderr("listening on 127.0.0.1:", std::chrono::seconds(10));
    REQUIRE(line);
    port_ = std::stoi(line->substr(line->find("127.0.0.1:") + 10));
  }
  /// GET `path`, 5 s at most.
  httplib::Result get(const std::string& path) const {
    httplib::Client client("127.0.0.1", port_);
    client.set_connection_timeout(5, 0);
    client.set_read_timeout(5, 0);
    return client.Get(path.c_str());
  }
  /// Polls `path` every 50 ms until the answer satisfies `ok`, for at most
  /// `limit`; returns whether it did.
  template <typename F>
  bool until(const std::string& path, F ok, std::chrono::seconds limit = std::chrono::seconds(30)) const {
    return wait_until(
        [&] {
          auto res = get(path);
          return res && ok(*res);
        },
        limit, std::chrono::milliseconds(50));
  }
  /// Polls until `path` answers with HTTP status `status`.
  bool until_status(const std::string& path, int status) const {
    return until(path, [status](const httplib::Response& r) { return r.status == status; });
  }

 private:
  std::unique_ptr<ChildProcess> process_;
  int port_ = 0;
};

}  // namespace bambu::test
