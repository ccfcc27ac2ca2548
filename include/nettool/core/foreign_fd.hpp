// Waiting, with Asio, on a descriptor that another library owns and uses to
// signal "something changed, ask me" (libzmq's ZMQ_FD, rabbitmq-c's socket,
// …). Such libraries keep their own I/O threads or buffers, so the fd says
// nothing about *what* is ready: the adapter asks the library, and waits here
// only when the answer is "nothing". That keeps stdin, signals, --timeout and
// output on the one io_context, as in every other protocol.
#pragma once

#include "nettool/core/async.hpp"

#include <boost/asio/posix/stream_descriptor.hpp>

#include <functional>

namespace nettool::core {

class foreign_fd {
 public:
  // `fd` stays the library's: it is never closed or made non-blocking here.
  foreign_fd(const asio::any_io_executor& ex, int fd);
  ~foreign_fd();
  foreign_fd(const foreign_fd&) = delete;
  foreign_fd& operator=(const foreign_fd&) = delete;

  // Returns once `ready()` is true. `ready` is asked first and again after
  // each wake-up; it must be the library's own readiness check (for libzmq,
  // ZMQ_EVENTS, which also re-arms the fd). Cancellation ends the wait with
  // an exception, like any other wait.
  awaitable<void> until(const std::function<bool()>& ready);

  // Returns at the library's next signal, without asking it anything: for
  // a state its readiness check cannot show (libzmq's XPUB with
  // XPUB_NODROP reports POLLOUT even when a subscriber's queue is full; the
  // queue taking messages again arrives as a command, which signals).
  awaitable<void> signalled();

  // Call after using the library: the call may have consumed the
  // notification another waiter (a receive while we sent) was waiting for,
  // so every waiter asks its `ready()` again.
  void touched();

  asio::any_io_executor executor() { return fd_.get_executor(); }

 private:
  asio::posix::stream_descriptor fd_;
  int waiting_ = 0;
};

}  // namespace nettool::core
