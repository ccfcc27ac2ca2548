// Fan-out of byte chunks between connections: the broker and chat modes,
// and stdin sent to every client of `listen -k`. Memory is bounded and
// nothing is dropped for being slow: while any member's queue holds more
// than `max_queued` bytes, publishers wait (backpressure reaches the
// senders through TCP). A member that stops reading altogether is the
// server's to drop: its writes fail after the connection's write stall
// limit (--send-timeout), and it leaves.
#pragma once

#include "nettool/core/async.hpp"

#include <deque>
#include <list>
#include <memory>
#include <string>

namespace nettool::core {

class hub {
 public:
  using chunk = std::shared_ptr<const std::string>;
  struct member {
    explicit member(const asio::any_io_executor& ex, std::uint64_t id_)
        : id(id_), wake(ex, asio::steady_timer::time_point::max()) {}
    std::uint64_t id;
    std::deque<chunk> queue;
    std::size_t queued = 0;
    bool closed = false;
    asio::steady_timer wake;
  };
  using member_ptr = std::shared_ptr<member>;

  explicit hub(const asio::any_io_executor& ex, std::size_t max_queued = 4 * 1024 * 1024)
      : ex_(ex), max_queued_(max_queued), space_(ex, asio::steady_timer::time_point::max()) {}

  member_ptr join();
  void leave(const member_ptr& m);
  std::size_t size() const noexcept { return members_.size(); }

  // Queues `data` for every member but `from` (null: from outside), once
  // no member is over its bound.
  awaitable<void> publish(const member* from, std::string data);
  // The next chunk for `m`; null once `m` has left or was dropped.
  awaitable<chunk> next(const member_ptr& m);

 private:
  bool full() const;

  asio::any_io_executor ex_;
  std::size_t max_queued_;
  std::uint64_t next_id_ = 1;
  std::list<member_ptr> members_;
  asio::steady_timer space_;  // cancelled whenever queues shrink
};

}  // namespace nettool::core
