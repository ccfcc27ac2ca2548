// Small coroutine combinators over Asio's parallel_group. Asio's own `||`
// waits for the first *success*, so an exception in one branch would wait for
// the other; these complete on the first outcome, whatever it is.
#pragma once

#include "nettool/core/error.hpp"
#include "nettool/core/parse.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <type_traits>
#include <vector>

namespace nettool::core {

namespace asio = boost::asio;
template <class T = void>
using awaitable = asio::awaitable<T>;

// Throws operation_aborted if the calling coroutine was cancelled.
awaitable<void> throw_if_cancelled();

// Waits for `d`; cancellation ends the wait with an exception.
awaitable<void> sleep_for(duration d);

// Runs both; returns the index (0/1) of the one that finished first after
// cancelling the other. The first one's exception is rethrown.
awaitable<std::size_t> first_of(awaitable<void> a, awaitable<void> b);

// Runs both to completion; the first exception cancels the other and is
// rethrown.
awaitable<void> both(awaitable<void> a, awaitable<void> b);

// Runs all concurrently; the first exception cancels the rest and is rethrown.
awaitable<void> all_of(std::vector<awaitable<void>> ops);

// `op`, for `limit` at most: true when it finished first (its exception is
// rethrown), false when the limit came first and it was cancelled. The
// timer's own cancellation is an error code, not an exception: first_of(op,
// sleep_for(d)) threw one each time `op` won, which is the usual case.
awaitable<bool> wait_at_most(awaitable<void> op, duration limit);

// `op` bounded by `limit`: on expiry the op is cancelled and
// error(errc::timed_out, phase, where) is thrown.
awaitable<void> with_timeout(awaitable<void> op, duration limit, std::string phase, std::string where = {});

// A deadline that costs nothing to move, for a wait repeated many times on
// one connection (each request head of a kept-alive connection): arm()
// stores the time, and one timer per deadline wakes when it may have
// passed, waiting again if it moved on. Past an armed deadline `expire`
// runs (it cancels the waits to be ended) and expired() turns true until
// the next arm(); a wait begun after the expiry must ask expired() first
// (`expire` can only cancel what is pending then). Wrapping
// each wait in with_timeout instead costs a coroutine, a parallel group and
// a timer each time: 13 % of the CPU of a small HTTP request.
class lazy_deadline {
 public:
  lazy_deadline(const asio::any_io_executor& ex, std::function<void()> expire);
  ~lazy_deadline();
  lazy_deadline(const lazy_deadline&) = delete;
  lazy_deadline& operator=(const lazy_deadline&) = delete;

  void arm(duration limit);  // from now
  void disarm() noexcept;
  bool expired() const noexcept;

 private:
  struct state;
  static void watch(const std::shared_ptr<state>& s);
  std::shared_ptr<state> state_;
};

// Event loops, each run by a thread of its own. stop() (or destruction)
// stops every loop, joins its thread and then destroys the loops with what
// they still hold, so no frame outlives its thread or runs beside it.
class loop_threads {
 public:
  loop_threads();
  ~loop_threads();
  loop_threads(const loop_threads&) = delete;
  loop_threads& operator=(const loop_threads&) = delete;

  // A new loop, not yet running. `idle` keeps it running with no work (a
  // server's loop waiting for connections); otherwise it ends when its
  // work does.
  asio::io_context& add(bool idle = false);
  // Starts a thread for each loop added since the last start().
  void start();
  void stop() noexcept;
  std::size_t size() const noexcept { return loops_.size(); }

 private:
  struct loop;
  std::vector<std::unique_ptr<loop>> loops_;
  std::size_t started_ = 0;
};

// The CPUs this process may run on (its affinity mask: a container's or
// taskset's share, not the whole machine's); at least 1.
std::size_t usable_cores();

// Runs body(0) … body(n-1) each on a thread of its own with its own
// io_context (one event loop per core, nothing shared between them), and
// completes when all have; the first exception is rethrown. When the caller
// is cancelled (SIGINT, --timeout) every loop is stopped and joined first.
awaitable<void> on_threads(std::size_t n, std::function<awaitable<void>(std::size_t)> body);

namespace detail {
template <class T>
awaitable<void> store_result(awaitable<T> op, std::optional<T>& out) {
  out.emplace(co_await std::move(op));
}
}  // namespace detail

template <class T>
awaitable<T> with_timeout(awaitable<T> op, duration limit, std::string phase, std::string where = {}) {
  // Results travel through an optional: they need not be default-constructible.
  std::optional<T> result;
  co_await with_timeout(detail::store_result(std::move(op), result), limit, std::move(phase), std::move(where));
  co_return std::move(*result);
}

// A one-shot flag coroutines can wait for.
class event {
 public:
  explicit event(const asio::any_io_executor& ex) : timer_(ex, asio::steady_timer::time_point::max()) {}
  void set() {
    set_ = true;
    timer_.cancel();
  }
  bool is_set() const noexcept { return set_; }
  awaitable<void> wait();

 private:
  asio::steady_timer timer_;
  bool set_ = false;
};

}  // namespace nettool::core
