#include "nettool/core/async.hpp"

#include <boost/asio/error.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/system/system_error.hpp>

#include <algorithm>
#include <memory>
#include <sched.h>
#include <thread>

namespace nettool::core {

namespace exp = asio::experimental;

awaitable<void> throw_if_cancelled() {
  auto state = co_await asio::this_coro::cancellation_state;
  if (state.cancelled() != asio::cancellation_type::none)
    throw boost::system::system_error(asio::error::operation_aborted);
}

awaitable<void> sleep_for(duration d) {
  asio::steady_timer timer(co_await asio::this_coro::executor, d);
  co_await timer.async_wait(asio::use_awaitable);
}

awaitable<std::size_t> first_of(awaitable<void> a, awaitable<void> b) {
  auto ex = co_await asio::this_coro::executor;
  auto [order, error_a, error_b] =
      co_await exp::make_parallel_group(asio::co_spawn(ex, std::move(a), asio::deferred),
                                        asio::co_spawn(ex, std::move(b), asio::deferred))
          .async_wait(exp::wait_for_one(), asio::use_awaitable);
  const auto& first_error = order[0] == 0 ? error_a : error_b;
  if (first_error) std::rethrow_exception(first_error);
  co_return order[0];
}

awaitable<void> both(awaitable<void> a, awaitable<void> b) {
  auto ex = co_await asio::this_coro::executor;
  auto [order, error_a, error_b] =
      co_await exp::make_parallel_group(asio::co_spawn(ex, std::move(a), asio::deferred),
                                        asio::co_spawn(ex, std::move(b), asio::deferred))
          .async_wait(exp::wait_for_one_error(), asio::use_awaitable);
  // The first failure is the cause; the other one's is its cancellation.
  const auto& first = order[0] == 0 ? error_a : error_b;
  const auto& second = order[0] == 0 ? error_b : error_a;
  if (first) std::rethrow_exception(first);
  if (second) std::rethrow_exception(second);
}

awaitable<void> all_of(std::vector<awaitable<void>> ops) {
  if (ops.empty()) co_return;
  auto ex = co_await asio::this_coro::executor;
  using op_type = decltype(asio::co_spawn(ex, std::move(ops.front()), asio::deferred));
  std::vector<op_type> spawned;
  spawned.reserve(ops.size());
  for (auto& op : ops) spawned.push_back(asio::co_spawn(ex, std::move(op), asio::deferred));
  auto [order, errors] =
      co_await exp::make_parallel_group(std::move(spawned)).async_wait(exp::wait_for_one_error(), asio::use_awaitable);
  // The first failure in completion order is the cause.
  for (auto index : order)
    if (errors[index]) std::rethrow_exception(errors[index]);
}

awaitable<bool> wait_at_most(awaitable<void> op, duration limit) {
  auto ex = co_await asio::this_coro::executor;
  asio::steady_timer timer(ex, limit);
  auto [order, op_error, timer_ec] =
      co_await exp::make_parallel_group(asio::co_spawn(ex, std::move(op), asio::deferred), timer.async_wait(asio::deferred))
          .async_wait(exp::wait_for_one(), asio::use_awaitable);
  if (order[0] == 1 && !timer_ec) co_return false;
  if (op_error) std::rethrow_exception(op_error);
  co_return true;
}

awaitable<void> with_timeout(awaitable<void> op, duration limit, std::string phase, std::string where) {
  auto ex = co_await asio::this_coro::executor;
  asio::steady_timer timer(ex, limit);
  auto [order, op_error, timer_ec] =
      co_await exp::make_parallel_group(asio::co_spawn(ex, std::move(op), asio::deferred), timer.async_wait(asio::deferred))
          .async_wait(exp::wait_for_one(), asio::use_awaitable);
  if (order[0] == 1 && !timer_ec) throw error(errc::timed_out, std::move(phase), std::move(where));
  if (op_error) std::rethrow_exception(op_error);
}

// Shared with the pending timer wait, which may complete after the owner
// is gone (it then finds `closed`).
struct lazy_deadline::state {
  explicit state(const asio::any_io_executor& ex, std::function<void()> f) : timer(ex), expire(std::move(f)) {}
  asio::steady_timer timer;
  std::function<void()> expire;
  std::chrono::steady_clock::time_point deadline;
  bool armed = false;
  bool waiting = false;  // a timer wait is pending
  bool expired = false;
  bool closed = false;
};

lazy_deadline::lazy_deadline(const asio::any_io_executor& ex, std::function<void()> expire)
    : state_(std::make_shared<state>(ex, std::move(expire))) {}

lazy_deadline::~lazy_deadline() {
  state_->closed = true;
  state_->expire = nullptr;
  state_->timer.cancel();
}

void lazy_deadline::arm(duration limit) {
  state_->deadline = std::chrono::steady_clock::now() + limit;
  state_->armed = true;
  state_->expired = false;
  if (!state_->waiting) watch(state_);
  else if (state_->timer.expiry() > state_->deadline) state_->timer.cancel();  // its handler waits again, shorter
}

void lazy_deadline::disarm() noexcept { state_->armed = false; }

bool lazy_deadline::expired() const noexcept { return state_->expired; }

void lazy_deadline::watch(const std::shared_ptr<state>& s) {
  s->waiting = true;
  s->timer.expires_at(s->deadline);
  s->timer.async_wait([s](const boost::system::error_code&) {
    s->waiting = false;
    if (s->closed || !s->armed) return;  // a later arm() starts a new wait
    if (std::chrono::steady_clock::now() < s->deadline) {
      watch(s);  // moved on meanwhile
      return;
    }
    s->armed = false;
    s->expired = true;
    if (s->expire) s->expire();
  });
}

std::size_t usable_cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof set, &set) == 0) return std::max(1, CPU_COUNT(&set));
  return std::max(1u, std::thread::hardware_concurrency());
}

struct loop_threads::loop {
  asio::io_context io{1};
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> idle;
  std::thread thread;
};

loop_threads::loop_threads() = default;
loop_threads::~loop_threads() { stop(); }

asio::io_context& loop_threads::add(bool idle) {
  auto& added = *loops_.emplace_back(std::make_unique<loop>());
  if (idle) added.idle.emplace(added.io.get_executor());
  return added.io;
}

void loop_threads::start() {
  for (; started_ < loops_.size(); ++started_) {
    auto& l = *loops_[started_];
    l.thread = std::thread([&io = l.io] { io.run(); });
  }
}

void loop_threads::stop() noexcept {
  for (auto& l : loops_) l->io.stop();
  for (auto& l : loops_)
    if (l->thread.joinable()) l->thread.join();
  loops_.clear();  // the loops' frames go now, on the caller's thread
  started_ = 0;
}

awaitable<void> on_threads(std::size_t n, std::function<awaitable<void>(std::size_t)> body) {
  // Completions hop back to the caller's executor, so this state needs no
  // lock; it is shared because a hop may still be queued when we leave.
  struct progress {
    explicit progress(const asio::any_io_executor& ex, std::size_t n) : done(ex), remaining(n) {}
    event done;
    std::size_t remaining;
    std::exception_ptr first_error;
  };
  auto home = co_await asio::this_coro::executor;
  auto state = std::make_shared<progress>(home, n);
  // Whatever way on_threads is left, every loop is stopped and joined
  // before the coroutines' frames are destroyed.
  loop_threads set;
  for (std::size_t i = 0; i < n; ++i) {
    asio::co_spawn(set.add(), body(i), [state, home](std::exception_ptr e) {
      asio::post(home, [state, e] {
        if (e && !state->first_error) state->first_error = e;
        if (--state->remaining == 0 || e) state->done.set();
      });
    });
  }
  set.start();
  co_await state->done.wait();
  if (state->first_error) std::rethrow_exception(state->first_error);
}

awaitable<void> event::wait() {
  while (!set_) {
    co_await timer_.async_wait(asio::as_tuple(asio::use_awaitable));
    if (!set_) co_await throw_if_cancelled();
  }
}

}  // namespace nettool::core
