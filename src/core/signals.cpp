#include "core/signals.h"

#include <pthread.h>
#include <signal.h>

#include <system_error>
#include <thread>

namespace bambu {

void stop_on_signals(std::shared_ptr<StopFlag> stop) {
  ::signal(SIGPIPE, SIG_IGN);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  if (int err = ::pthread_sigmask(SIG_BLOCK, &set, nullptr); err != 0) {
    throw std::system_error(err, std::generic_category(), "pthread_sigmask");
  }
  // Detached on purpose: it sleeps in sigwait() until the process ends, and
  // owns its share of the StopFlag so that a late signal never touches freed memory.
  std::thread([set, stop = std::move(stop)] {
    for (;;) {
      int sig = 0;
      if (::sigwait(&set, &sig) == 0) stop->request_stop(StopReason::signal);
    }
  }).detach();
}

}  // namespace bambu
