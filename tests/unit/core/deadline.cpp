#include "nettool/core/async.hpp"
#include "nettool/core/error.hpp"

#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>

#include "run_loop.hpp"

#include <chrono>

using namespace nettool::core;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

using nettool::test::run_loop;

TEST_CASE("lazy_deadline expires once its armed time has passed", "[unit][deadline]") {
  int expired = 0;
  steady::time_point at;
  const auto start = steady::now();
  run_loop([&]() -> awaitable<void> {
    lazy_deadline d(co_await asio::this_coro::executor, [&] {
      ++expired;
      at = steady::now();
    });
    d.arm(50ms);
    co_await sleep_for(150ms);
    CHECK(d.expired());
    d.arm(1s);  // a new deadline: no longer expired
    CHECK(!d.expired());
    d.disarm();
  });
  CHECK(expired == 1);
  CHECK(at - start >= 50ms);
  CHECK(at - start < 140ms);
}

TEST_CASE("lazy_deadline moved on before it passes never expires, and expires after the last move", "[unit][deadline]") {
  int expired = 0;
  steady::time_point last_arm, at;
  run_loop([&]() -> awaitable<void> {
    lazy_deadline d(co_await asio::this_coro::executor, [&] {
      ++expired;
      at = steady::now();
    });
    for (int i = 0; i < 10; ++i) {  // 200 ms of re-arming a 60 ms deadline
      d.arm(60ms);
      last_arm = steady::now();
      co_await sleep_for(20ms);
      CHECK(!d.expired());
    }
    co_await sleep_for(150ms);
    CHECK(d.expired());
  });
  CHECK(expired == 1);
  CHECK(at - last_arm >= 60ms);
}

TEST_CASE("lazy_deadline disarmed, destroyed, or armed shorter", "[unit][deadline]") {
  int expired = 0;
  run_loop([&]() -> awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    {
      lazy_deadline d(ex, [&] { ++expired; });
      d.arm(30ms);
      d.disarm();
      co_await sleep_for(80ms);
      CHECK(!d.expired());
    }
    {
      lazy_deadline gone(ex, [&] { ++expired; });
      gone.arm(30ms);
    }  // destroyed with its wait pending: the callback must never run
    co_await sleep_for(80ms);
    CHECK(expired == 0);
    lazy_deadline d(ex, [&] { ++expired; });
    const auto start = steady::now();
    d.arm(10s);
    d.arm(40ms);  // shorter than the pending wait: it must not wait the 10 s
    while (!d.expired() && steady::now() - start < 2s) co_await sleep_for(10ms);
    CHECK(d.expired());
    CHECK(steady::now() - start < 1s);
  });
  CHECK(expired == 1);
}

TEST_CASE("wait_at_most: true when the op ends first, false (op cancelled) when the limit comes first", "[unit][deadline]") {
  bool quick = false, slow = false, slow_ended = false;
  steady::duration slow_took{};
  run_loop([&]() -> awaitable<void> {
    auto quick_op = []() -> awaitable<void> { co_await sleep_for(10ms); };
    auto first = wait_at_most(quick_op(), 1s);
    quick = co_await std::move(first);
    auto slow_op = [](bool& ended) -> awaitable<void> {
      co_await sleep_for(5s);
      ended = true;  // not reached: cancelled by the limit
    };
    const auto start = steady::now();
    auto second = wait_at_most(slow_op(slow_ended), 30ms);
    slow = co_await std::move(second);
    slow_took = steady::now() - start;
  });
  CHECK(quick);
  CHECK(!slow);
  CHECK(!slow_ended);
  CHECK(slow_took >= 30ms);
  CHECK(slow_took < 1s);
}

TEST_CASE("wait_at_most rethrows the op's own failure", "[unit][deadline]") {
  auto failing = []() -> awaitable<void> {
    co_await sleep_for(1ms);
    throw error(errc::failure, "test", {}, "the op failed");
  };
  CHECK_THROWS_WITH(run_loop([&]() -> awaitable<void> {
                      auto op = wait_at_most(failing(), 1s);
                      co_await std::move(op);
                    }),
                    Catch::Contains("the op failed"));
}
