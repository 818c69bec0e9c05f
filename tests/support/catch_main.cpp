// The one Catch2 main of every test binary. SIGPIPE is ignored as in the
// real program (core/signals.cpp), so that writing to a closed pipe is an
// EPIPE the code under test handles, not the end of the test run.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <csignal>

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  return Catch::Session().run(argc, argv);
}
