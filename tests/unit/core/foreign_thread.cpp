#include "nettool/core/foreign_thread.hpp"

#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>

#include "run_loop.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include <poll.h>

using namespace nettool::core;
using namespace std::chrono_literals;

using nettool::test::run_loop;

TEST_CASE("foreign_call resumes on the caller's thread with the foreign thread's result", "[unit][foreign]") {
  const auto caller = std::this_thread::get_id();
  int got = 0;
  std::thread::id resumed_on;
  run_loop([&]() -> awaitable<void> {
    // The io_context has nothing else to do while the foreign thread sleeps:
    // the wait itself must keep it running.
    std::function<void(foreign_done<int>)> start = [](foreign_done<int> done) {
      std::thread([done] {
        std::this_thread::sleep_for(50ms);
        done(42);
        done(7);  // a second report is ignored
      }).detach();
    };
    auto op = foreign_call<int>(std::move(start), [] {});
    got = co_await std::move(op);
    resumed_on = std::this_thread::get_id();
  });
  CHECK(got == 42);
  CHECK(resumed_on == caller);
}

TEST_CASE("a cancelled foreign_call cancels the operation and still waits for its result", "[unit][foreign]") {
  std::atomic<bool> cancelled = false, finished = false;
  int got = 0;
  run_loop([&]() -> awaitable<void> {
    std::function<void(foreign_done<int>)> start = [&](foreign_done<int> done) {
      std::thread([&, done] {
        while (!cancelled) std::this_thread::sleep_for(1ms);
        std::this_thread::sleep_for(20ms);  // the operation takes a while to end
        finished = true;
        done(-1);
      }).detach();
    };
    auto call = [&]() -> awaitable<void> {
      auto op = foreign_call<int>(start, [&] { cancelled = true; });
      got = co_await std::move(op);
    };
    auto race = first_of(call(), sleep_for(20ms));
    co_await std::move(race);
  });
  CHECK(cancelled);
  CHECK(finished);  // first_of returned only after the operation ended
  CHECK(got == -1);
}

TEST_CASE("on_own_thread returns the blocking call's outcome, or leaves it running when cancelled", "[unit][foreign]") {
  auto value = std::make_shared<int>(0);
  run_loop([&]() -> awaitable<void> {
    auto op = on_own_thread([value] { *value = 5; });
    co_await std::move(op);
  });
  CHECK(*value == 5);

  CHECK_THROWS_WITH(run_loop([&]() -> awaitable<void> {
                      auto op = on_own_thread([] { throw std::runtime_error("boom"); });
                      co_await std::move(op);
                    }),
                    "boom");

  auto release = std::make_shared<std::atomic<bool>>(false);
  const auto start = std::chrono::steady_clock::now();
  run_loop([&]() -> awaitable<void> {
    auto blocked = on_own_thread([release] {
      while (!*release) std::this_thread::sleep_for(1ms);
    });
    auto race = first_of(std::move(blocked), sleep_for(20ms));
    co_await std::move(race);
  });
  CHECK(std::chrono::steady_clock::now() - start < 2s);  // did not wait for the blocked thread
  *release = true;
}

TEST_CASE("foreign_worker runs jobs in order on one thread, returns results and rethrows failures", "[unit][foreign]") {
  const auto caller = std::this_thread::get_id();
  foreign_worker worker;
  std::vector<int> order;  // the worker's only
  std::thread::id ran_on;
  int got = 0;
  bool threw = false;
  run_loop([&]() -> awaitable<void> {
    for (int i = 0; i < 100; ++i) worker.post([&order, i] { order.push_back(i); });
    std::function<int()> answer = [&] {
      ran_on = std::this_thread::get_id();
      return static_cast<int>(order.size());
    };
    auto op = worker.call<int>(std::move(answer));
    got = co_await std::move(op);
    try {
      auto failing = worker.call([] { throw std::runtime_error("from the worker"); });
      co_await std::move(failing);
    } catch (const std::runtime_error& e) {
      threw = std::string(e.what()) == "from the worker";
    }
  });
  CHECK(got == 100);  // every job posted before the call ran before it
  CHECK(order.size() == 100);
  CHECK(std::is_sorted(order.begin(), order.end()));
  CHECK(ran_on != caller);
  CHECK(threw);
}

TEST_CASE("a cancelled foreign_worker call runs its cancel and waits for the job, idle wakes for jobs",
          "[unit][foreign]") {
  foreign_worker worker;
  std::atomic<int> idles = 0;
  std::atomic<bool> released = false, finished = false;
  worker.post([&] {
    // The adapter's own wait: it must return when wake_fd turns readable.
    worker.set_idle([&](int wake_fd) {
      ++idles;
      pollfd p{wake_fd, POLLIN, 0};
      ::poll(&p, 1, -1);
    });
  });
  run_loop([&]() -> awaitable<void> {
    std::function<void()> blocking = [&] {
      while (!released) std::this_thread::sleep_for(1ms);
      std::this_thread::sleep_for(20ms);
      finished = true;
    };
    auto call = [&]() -> awaitable<void> {
      auto op = worker.call(std::move(blocking), [&] { released = true; });
      co_await std::move(op);
    };
    auto race = first_of(call(), sleep_for(20ms));
    co_await std::move(race);
  });
  CHECK(released);
  CHECK(finished);  // the race ended only after the job returned
  // A job after the idle wait began: the wait wakes for it.
  std::atomic<bool> later = false;
  worker.post([&] { later = true; });
  for (int i = 0; i < 200 && !later; ++i) std::this_thread::sleep_for(5ms);
  CHECK(later);
  CHECK(idles >= 1);
  worker.stop();
  CHECK_FALSE(worker.post([] {}));
}
