// Mailbox (core/mailbox.h): the one waiting item between posting threads
// and one worker.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/mailbox.h"
#include "support/wait.h"

using namespace std::chrono_literals;
using bambu::Mailbox;
using bambu::test::wait_until;

TEST_CASE("Mailbox: a newer item replaces the waiting one, which the fold may merge in") {
  Mailbox<std::string> box;
  using Put = Mailbox<std::string>::Put;
  CHECK(box.put("one") == Put::stored);
  CHECK(box.put("two", [](std::string& newer, std::string& older) { newer += "+" + older; }) == Put::replaced);
  CHECK(box.put("three") == Put::replaced);  // without a fold the older item is simply dropped
  CHECK(box.take() == std::optional<std::string>("three"));
  CHECK(box.put("four", [](std::string&, std::string&) { FAIL("nothing was waiting to fold"); }) == Put::stored);
  CHECK(box.take() == std::optional<std::string>("four"));
}

TEST_CASE("Mailbox: close() drops the waiting item, ends take() and refuses later items") {
  Mailbox<int> box;
  box.put(1);
  CHECK_FALSE(box.closed());
  CHECK(box.close());
  CHECK(box.closed());
  CHECK_FALSE(box.take().has_value());
  CHECK(box.put(2) == Mailbox<int>::Put::refused);
  CHECK_FALSE(box.close());  // nothing waited the second time
}

TEST_CASE("Mailbox: a worker blocked in take() wakes for each item and for close()") {
  Mailbox<int> box;
  std::mutex mutex;
  std::vector<int> taken;  // guarded by mutex
  std::atomic<bool> ended{false};
  std::thread worker([&] {
    while (std::optional<int> item = box.take()) {
      std::lock_guard lock(mutex);
      taken.push_back(*item);
    }
    ended = true;
  });
  auto taken_count = [&] {
    std::lock_guard lock(mutex);
    return taken.size();
  };
  box.put(7);
  REQUIRE(wait_until([&] { return taken_count() == 1; }, 5000ms));
  box.put(8);
  REQUIRE(wait_until([&] { return taken_count() == 2; }, 5000ms));
  CHECK_FALSE(ended.load());
  box.close();
  REQUIRE(wait_until([&] { return ended.load(); }, 5000ms));
  worker.join();
  CHECK(taken == std::vector<int>{7, 8});
}

TEST_CASE("Mailbox: take_until() takes a waiting item even past its deadline, times out, and sees close()") {
  Mailbox<int> box;
  using Taken = Mailbox<int>::Taken;
  std::optional<int> item;
  const auto past = std::chrono::steady_clock::now() - 1s;
  box.put(7);
  CHECK(box.take_until(past, item) == Taken::item);
  CHECK(item == std::optional<int>(7));
  item.reset();
  const auto started = std::chrono::steady_clock::now();
  CHECK(box.take_until(started + 50ms, item) == Taken::timeout);
  CHECK(std::chrono::steady_clock::now() - started >= 50ms);  // it did wait for the deadline
  CHECK_FALSE(item.has_value());
  // An item put by another thread wakes it before a far deadline.
  std::thread poster([&box] { box.put(8); });
  CHECK(box.take_until(std::chrono::steady_clock::now() + 60s, item) == Taken::item);
  poster.join();
  CHECK(item == std::optional<int>(8));
  box.close();
  CHECK(box.take_until(std::chrono::steady_clock::now() + 60s, item) == Taken::closed);
}
