#include "socket.hpp"

#include "nettool/core/error.hpp"

#include <atomic>
#include <chrono>
#include <optional>
#include <thread>

namespace nettool::zmq {

async_socket::async_socket(::zmq::context_t& context, ::zmq::socket_type type, const core::asio::any_io_executor& ex)
    : socket_(context, type), fd_(ex, socket_.get(::zmq::sockopt::fd)) {}

async_socket::~async_socket() {
  if (socket_) socket_.set(::zmq::sockopt::linger, 0);
}

bool async_socket::can(short event) { return (socket_.get(::zmq::sockopt::events) & event) != 0; }

awaitable<void> async_socket::send(const message& frames) {
  const auto last = frames.size() - 1;
  for (;;) {
    // The first frame decides: once it is queued the rest cannot fail with
    // EAGAIN, so a multipart message is never cut.
    const auto first = ::zmq::buffer(frames.front());
    std::optional<std::size_t> sent;
    try {
      sent = socket_.send(first, last == 0 ? ::zmq::send_flags::dontwait
                                           : ::zmq::send_flags::dontwait | ::zmq::send_flags::sndmore);
    } catch (const ::zmq::error_t& e) {
      // ROUTER_MANDATORY: the first frame names a peer that is not there.
      if (e.num() == EHOSTUNREACH)
        throw core::error(core::errc::failure, "send", frames.front(), "no connected peer has this identity");
      throw core::error(core::error_code(e.num(), boost::system::system_category()), "send", "zmq");
    }
    if (sent) break;
    co_await fd_.until([this] { return can(ZMQ_POLLOUT); });
  }
  for (std::size_t i = 1; i <= last; ++i) {
    const auto flags = i == last ? ::zmq::send_flags::dontwait : ::zmq::send_flags::dontwait | ::zmq::send_flags::sndmore;
    socket_.send(::zmq::buffer(frames[i]), flags);
  }
  fd_.touched();
}

bool async_socket::try_receive(message& out) {
  out.clear();
  ::zmq::message_t frame;
  if (!socket_.recv(frame, ::zmq::recv_flags::dontwait)) return false;
  out.emplace_back(static_cast<const char*>(frame.data()), frame.size());
  while (frame.more()) {
    (void)socket_.recv(frame, ::zmq::recv_flags::none);  // the rest of a message is already there
    out.emplace_back(static_cast<const char*>(frame.data()), frame.size());
  }
  fd_.touched();
  return true;
}

awaitable<message> async_socket::receive() {
  message out;
  while (!try_receive(out)) co_await fd_.until([this] { return can(ZMQ_POLLIN); });
  co_return out;
}

// Closing waits up to --linger for queued messages to leave, inside
// zmq_ctx_term, which blocks: that runs on a thread of its own, watched from
// here, so SIGINT still ends the program at once. The thread shares nothing
// with the io_context.
awaitable<void> close_lingering(std::unique_ptr<async_socket> socket, std::shared_ptr<::zmq::context_t> context) {
  auto done = std::make_shared<std::atomic<bool>>(false);
  ::zmq::socket_t raw = std::move(socket->raw());
  socket.reset();  // stops watching its ZMQ_FD, here on the io_context's thread
  std::thread([done, raw = std::move(raw), context = std::move(context)]() mutable {
    raw.close();
    context->close();
    *done = true;
  }).detach();
  while (!*done) co_await core::sleep_for(std::chrono::milliseconds(1));
}

}  // namespace nettool::zmq
