// Libraries that run on threads of their own (grpc++'s callbacks, a blocking
// call such as zmq_ctx_term), driven from the io_context: the coroutine that
// waits resumes on its own executor, so stdin, signals, --timeout and stdout
// behave as in every other protocol. Whatever the library's thread does, it
// only ever posts back (asio::post is thread-safe); it never touches the
// coroutine's state.
//
// foreign_fd.hpp is the other bridge, for libraries that signal through a
// file descriptor.
#pragma once

#include "nettool/core/async.hpp"

#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>

#include <atomic>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

namespace nettool::core {

// What a foreign operation calls, once, from any thread, with its result.
template <class T>
using foreign_done = std::function<void(T)>;

namespace detail {

// The value travels boxed: Asio would turn a leading exception_ptr or
// error_code of the completion signature into a throw.
template <class T>
struct foreign_box {
  T value;
};

template <class T, class Handler>
struct foreign_call_state {
  Handler handler;
  // Keeps the io_context running while only a foreign thread has work.
  asio::executor_work_guard<asio::associated_executor_t<Handler, asio::any_io_executor>> work;
  std::function<void()> cancel;
  std::once_flag once;

  foreign_call_state(Handler h, const asio::any_io_executor& fallback, std::function<void()> c)
      : handler(std::move(h)), work(asio::get_associated_executor(handler, fallback)), cancel(std::move(c)) {}
};

}  // namespace detail

// Starts a foreign operation and waits for its result. `start(done)` begins
// it; `done(T)` may be called from any thread, exactly once (later calls are
// ignored). The defined cancellation behaviour: when the waiting coroutine
// is cancelled (SIGINT, --timeout, a sibling's failure), `cancel()` runs on
// the coroutine's thread, and the wait goes on until the operation reports
// its (usually "cancelled") result. So a foreign operation never outlives
// the frame whose buffers it uses; `cancel` must make it end promptly
// (grpc++'s TryCancel does).
template <class T>
awaitable<T> foreign_call(std::function<void(foreign_done<T>)> start, std::function<void()> cancel) {
  auto ex = co_await asio::this_coro::executor;
  // Named, not temporaries inside co_await: g++ 12 may destroy those twice
  // (docs/architecture.md).
  auto initiation = [ex](auto handler, std::function<void(foreign_done<T>)> begin, std::function<void()> stop) {
    using handler_type = decltype(handler);
    using state_type = detail::foreign_call_state<T, handler_type>;
    auto slot = asio::get_associated_cancellation_slot(handler);
    auto state = std::make_shared<state_type>(std::move(handler), ex, std::move(stop));
    if (slot.is_connected()) {
      // Runs on the coroutine's thread; the state outlives the slot,
      // which is cleared before the handler runs.
      slot.assign([weak = std::weak_ptr<state_type>(state)](asio::cancellation_type) {
        if (auto s = weak.lock(); s && s->cancel) s->cancel();
      });
    }
    begin([state, slot](T value) mutable {
      std::call_once(state->once, [&] {
        auto target = state->work.get_executor();
        asio::post(target, [state, slot, value = std::move(value)]() mutable {
          if (slot.is_connected()) slot.clear();
          // `cancel` may hold what holds `done` (on_own_thread does):
          // dropped here, that cycle cannot keep the state alive.
          state->cancel = nullptr;
          auto h = std::move(state->handler);
          state->work.reset();
          std::move(h)(detail::foreign_box<T>{std::move(value)});
        });
      });
    });
  };
  auto op = asio::async_initiate<decltype(asio::use_awaitable), void(detail::foreign_box<T>)>(
      std::move(initiation), asio::use_awaitable, std::move(start), std::move(cancel));
  auto boxed = co_await std::move(op);
  co_return std::move(boxed.value);
}

// Runs `blocking()` on a thread of its own and waits for it here; what it
// throws is rethrown here. A blocking call cannot be cancelled: when the
// caller is, the wait ends at once with operation_aborted and the thread
// finishes on its own, owning what `blocking` captured (so it must capture
// by value, or by shared_ptr, whatever it uses, results included).
awaitable<void> on_own_thread(std::function<void()> blocking);

}  // namespace nettool::core

namespace nettool::core {

// A long-lived thread for a library whose calls block (rabbitmq-c): jobs
// posted from the io_context run there one at a time, in order, so the
// library is only ever used from that one thread. When no job is queued the
// thread waits in `idle(wake_fd)`, the adapter's own wait (a poll on the
// library's socket and on wake_fd); a new job or stop() makes wake_fd
// readable, and idle must then return. Whatever the thread has for the
// io_context it posts there (asio::post is thread-safe).
class foreign_worker {
 public:
  using idle_function = std::function<void(int wake_fd)>;

  foreign_worker();
  // stop(), then waits for the thread to end.
  ~foreign_worker();
  foreign_worker(const foreign_worker&) = delete;
  foreign_worker& operator=(const foreign_worker&) = delete;

  // Queues `job` (from any thread); it runs after the jobs queued before it.
  // False (and `job` dropped) once stop() was called.
  bool post(std::function<void()> job);
  // Runs `job` there and waits here; what it throws is rethrown here. When
  // the caller is cancelled, `cancel` runs on the caller's thread (it must
  // make a blocking job return soon, e.g. by shutting the library's socket
  // down) and the wait goes on until the job has returned: the job may use
  // what the caller's frame owns.
  awaitable<void> call(std::function<void()> job, std::function<void()> cancel = {});
  // The same for a job with a result.
  template <class T>
  awaitable<T> call(std::function<T()> job, std::function<void()> cancel = {}) {
    auto out = std::make_shared<std::optional<T>>();
    std::function<void()> wrapped = [out, job = std::move(job)] { out->emplace(job()); };
    auto op = call(std::move(wrapped), std::move(cancel));
    co_await std::move(op);
    co_return std::move(**out);
  }
  // Replaces the wait between jobs; only from a job (the worker's thread).
  void set_idle(idle_function idle) { idle_ = std::move(idle); }
  // No job after the queued ones runs; the thread ends after them.
  void stop();
  // Readable when a job is queued or stop() was called; idle's poll set.
  int wake_fd() const noexcept { return wake_fd_; }
  // Lets the thread's idle wait re-check its own conditions.
  void wake();

 private:
  void run();
  std::optional<std::function<void()>> next_job();

  int wake_fd_ = -1;
  std::mutex mutex_;
  std::deque<std::function<void()>> jobs_;
  bool stopping_ = false;
  idle_function idle_;
  std::thread thread_;
};

}  // namespace nettool::core
