#include "nettool/core/foreign_thread.hpp"

#include <boost/asio/error.hpp>
#include <boost/system/system_error.hpp>

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>
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

foreign_worker::foreign_worker() {
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd_ < 0) throw std::system_error(errno, std::generic_category(), "eventfd");
  thread_ = std::thread([this] { run(); });
}

foreign_worker::~foreign_worker() {
  stop();
  if (thread_.joinable()) thread_.join();
  ::close(wake_fd_);
}

void foreign_worker::wake() {
  const std::uint64_t one = 1;
  // A full counter (never reached) still leaves the fd readable.
  [[maybe_unused]] auto n = ::write(wake_fd_, &one, sizeof one);
}

bool foreign_worker::post(std::function<void()> job) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return false;
    jobs_.push_back(std::move(job));
  }
  wake();
  return true;
}

void foreign_worker::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake();
}

std::optional<std::function<void()>> foreign_worker::next_job() {
  std::lock_guard lock(mutex_);
  if (jobs_.empty()) return std::nullopt;
  auto job = std::move(jobs_.front());
  jobs_.pop_front();
  return job;
}

void foreign_worker::run() {
  for (;;) {
    while (auto job = next_job()) (*job)();
    {
      std::lock_guard lock(mutex_);
      if (stopping_ && jobs_.empty()) return;
    }
    if (idle_) {
      idle_(wake_fd_);
    } else {
      pollfd p{wake_fd_, POLLIN, 0};
      ::poll(&p, 1, -1);
    }
    std::uint64_t count = 0;
    [[maybe_unused]] auto n = ::read(wake_fd_, &count, sizeof count);
  }
}

awaitable<void> foreign_worker::call(std::function<void()> job, std::function<void()> cancel) {
  // Named, not temporaries inside co_await (docs/architecture.md).
  std::function<void(foreign_done<std::exception_ptr>)> start =
      [this, job = std::move(job)](foreign_done<std::exception_ptr> done) mutable {
        const bool queued = post([job = std::move(job), done] {
          std::exception_ptr thrown;
          try {
            job();
          } catch (...) {
            thrown = std::current_exception();
          }
          done(thrown);
        });
        if (!queued) done(std::make_exception_ptr(boost::system::system_error(asio::error::operation_aborted)));
      };
  auto op = foreign_call<std::exception_ptr>(std::move(start), std::move(cancel));
  auto failure = co_await std::move(op);
  if (failure) std::rethrow_exception(failure);
}

}  // namespace nettool::core
