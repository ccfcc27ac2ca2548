#include "nettool/core/foreign_thread.hpp"

#include <boost/asio/error.hpp>
#include <boost/system/system_error.hpp>

#include <thread>

namespace nettool::core {

awaitable<void> on_own_thread(std::function<void()> blocking) {
  // The thread's `done` and our cancellation race to finish the wait; the
  // first one wins (foreign_call's done runs once), the thread always runs on.
  auto done_slot = std::make_shared<std::pair<std::mutex, foreign_done<std::exception_ptr>>>();
  // Named, not temporaries inside co_await (docs/architecture.md).
  std::function<void(foreign_done<std::exception_ptr>)> start =
      [done_slot, blocking = std::move(blocking)](foreign_done<std::exception_ptr> done) mutable {
        {
          std::lock_guard lock(done_slot->first);
          done_slot->second = done;
        }
        std::thread([blocking = std::move(blocking), done = std::move(done)] {
          std::exception_ptr thrown;
          try {
            blocking();
          } catch (...) {
            thrown = std::current_exception();
          }
          done(thrown);
        }).detach();
      };
  std::function<void()> cancel = [done_slot] {
    std::lock_guard lock(done_slot->first);
    if (done_slot->second)
      done_slot->second(std::make_exception_ptr(boost::system::system_error(asio::error::operation_aborted)));
  };
  auto op = foreign_call<std::exception_ptr>(std::move(start), std::move(cancel));
  auto failure = co_await std::move(op);
  {
    std::lock_guard lock(done_slot->first);
    done_slot->second = nullptr;  // it holds the call's state: no cycle left
  }
  if (failure) std::rethrow_exception(failure);
}

}  // namespace nettool::core
