#include "nettool/core/foreign_fd.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>

#include <poll.h>

namespace nettool::core {

foreign_fd::foreign_fd(const asio::any_io_executor& ex, int fd) : fd_(ex, fd) {}

foreign_fd::~foreign_fd() {
  // Deregister from the reactor without closing the library's descriptor.
  boost::system::error_code ignored;
  fd_.cancel(ignored);
  (void)fd_.release();
}

awaitable<void> foreign_fd::until(const std::function<bool()>& ready) {
  while (!ready()) co_await signalled();
}

awaitable<void> foreign_fd::signalled() {
  // Edge-triggered: an edge that came while nobody waited still shows as a
  // readable fd; then only go through the scheduler, so a busy library
  // cannot starve stdin or signals.
  pollfd p{fd_.native_handle(), POLLIN, 0};
  if (::poll(&p, 1, 0) > 0) {
    auto ex = co_await asio::this_coro::executor;
    co_await asio::post(ex, asio::use_awaitable);
    co_return;
  }
  ++waiting_;
  auto [ec] = co_await fd_.async_wait(asio::posix::descriptor_base::wait_read, asio::as_tuple(asio::use_awaitable));
  --waiting_;
  // operation_aborted is touched() unless this coroutine was cancelled.
  if (ec == asio::error::operation_aborted) co_await throw_if_cancelled();
  else if (ec) throw error(ec, core::phase::read, "notification descriptor");
}

void foreign_fd::touched() {
  if (waiting_ == 0) return;
  boost::system::error_code ignored;
  fd_.cancel(ignored);
}

}  // namespace nettool::core
