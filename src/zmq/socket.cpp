#include "socket.hpp"
#include "linger.hpp"

#include "nettool/core/error.hpp"
#include "nettool/core/foreign_thread.hpp"
#include "nettool/core/log.hpp"

#include <fmt/format.h>
#include <zmq.h>

#include <chrono>
#include <cstring>
#include <optional>

namespace nettool::zmq {

async_socket::async_socket(::zmq::context_t& context, ::zmq::socket_type type, const core::asio::any_io_executor& ex)
    : socket_(context, type), fd_(ex, socket_.get(::zmq::sockopt::fd)) {}

async_socket::~async_socket() {
  stop_events();
  if (socket_) socket_.set(::zmq::sockopt::linger, 0);
}

void async_socket::log_events(::zmq::context_t& context) {
  const auto endpoint = fmt::format("inproc://nettool-events-{}", static_cast<const void*>(this));
  if (zmq_socket_monitor(socket_.handle(), endpoint.c_str(), ZMQ_EVENT_ALL) != 0) return;
  events_ = std::make_unique<::zmq::socket_t>(context, ::zmq::socket_type::pair);
  events_->connect(endpoint);
  events_fd_ = std::make_unique<core::foreign_fd>(fd_.executor(), events_->get(::zmq::sockopt::fd));
}

void async_socket::stop_events() {
  if (!events_) return;
  if (socket_) zmq_socket_monitor(socket_.handle(), nullptr, 0);
  log_pending_events();
  events_fd_.reset();
  events_->set(::zmq::sockopt::linger, 0);
  events_.reset();
}

namespace {

std::string describe_event(std::uint16_t event, std::uint32_t value, const std::string& ep) {
  switch (event) {
    case ZMQ_EVENT_CONNECTED:
      return fmt::format("connected to {}", ep);
    case ZMQ_EVENT_CONNECT_RETRIED:
      return fmt::format("no connection to {} yet; retrying in {} ms", ep, value);
    case ZMQ_EVENT_LISTENING:
      return fmt::format("listening on {}", ep);
    case ZMQ_EVENT_BIND_FAILED:
      return fmt::format("bind {} failed: {}", ep, std::strerror(static_cast<int>(value)));
    case ZMQ_EVENT_ACCEPTED:
      return fmt::format("accepted a connection on {}", ep);
    case ZMQ_EVENT_ACCEPT_FAILED:
      return fmt::format("accept on {} failed: {}", ep, std::strerror(static_cast<int>(value)));
    case ZMQ_EVENT_DISCONNECTED:
      return fmt::format("{}: disconnected", ep);
    case ZMQ_EVENT_HANDSHAKE_SUCCEEDED:
      return fmt::format("{}: handshake done", ep);
    case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL:
      return fmt::format("{}: handshake failed (with CURVE: a wrong --curve-serverkey, or one side is not CURVE)", ep);
    case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL:
      return fmt::format("{}: handshake failed: ZMTP protocol error {:#x} (a mechanism mismatch or a wrong key)", ep,
                         value);
    case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH:
      return fmt::format("{}: the peer refused our credentials ({})", ep, value);
    default:
      return {};  // CONNECT_DELAYED, CLOSED, …: nothing a user needs
  }
}

}  // namespace

void async_socket::log_pending_events() {
  ::zmq::message_t head, address;
  while (events_ && events_->recv(head, ::zmq::recv_flags::dontwait)) {
    (void)events_->recv(address, ::zmq::recv_flags::none);  // the second frame is always there
    if (head.size() < 6) continue;
    std::uint16_t event = 0;
    std::uint32_t value = 0;
    std::memcpy(&event, head.data(), sizeof event);
    std::memcpy(&value, static_cast<const char*>(head.data()) + 2, sizeof value);
    const auto text = describe_event(event, value, address.to_string());
    if (!text.empty()) core::log::info("{}", text);
  }
}

awaitable<void> async_socket::wait_for(short event) {
  if (!events_) {
    co_await fd_.until([this, event] { return can(event); });
    co_return;
  }
  // -v: events are logged while we wait, not only after.
  for (;;) {
    log_pending_events();
    if (can(event)) co_return;
    co_await core::first_of(fd_.until([this, event] { return can(event); }), events_fd_->until([this] {
      return (events_->get(::zmq::sockopt::events) & ZMQ_POLLIN) != 0;
    }));
  }
}

void async_socket::close_in_background() {
  stop_events();
  socket_.close();  // zmq_close keeps the linger time set on the socket
}

bool async_socket::can(short event) { return (socket_.get(::zmq::sockopt::events) & event) != 0; }

template <class Frames>
bool async_socket::try_send_frames(const Frames& msg) {
  const auto last = msg.size() - 1;
  // The first frame decides: once it is queued the rest cannot fail with
  // EAGAIN, so a multipart message is never cut.
  std::optional<std::size_t> sent;
  try {
    sent =
        socket_.send(::zmq::buffer(msg.front()), last == 0 ? ::zmq::send_flags::dontwait
                                                           : ::zmq::send_flags::dontwait | ::zmq::send_flags::sndmore);
  } catch (const ::zmq::error_t& e) {
    // ROUTER_MANDATORY: the first frame names a peer that is not there.
    if (e.num() == EHOSTUNREACH)
      throw core::error(core::errc::failure, "send", std::string(msg.front()), "no connected peer has this identity");
    throw core::error(core::error_code(e.num(), boost::system::system_category()), "send", "zmq");
  }
  if (!sent) return false;
  for (std::size_t i = 1; i <= last; ++i) {
    const auto flags =
        i == last ? ::zmq::send_flags::dontwait : ::zmq::send_flags::dontwait | ::zmq::send_flags::sndmore;
    socket_.send(::zmq::buffer(msg[i]), flags);
  }
  fd_.touched();
  return true;
}

bool async_socket::try_send(const message& msg) { return try_send_frames(msg); }

bool async_socket::try_send(const frame_views& msg) { return try_send_frames(msg); }

// A refused send waits for ZMQ_POLLOUT, except when libzmq reports it
// anyway: XPUB with XPUB_NODROP says POLLOUT while a subscriber's queue is
// full (its xhas_out is always true), and waiting for it spun, retrying the
// send at full speed against the I/O thread that empties the queue. There
// the room coming back arrives as a command: asking ZMQ_EVENTS takes
// in the commands already there, then the fd's next signal is awaited.
// For 10 ms at most: another waiter on the same socket (a both-ways
// router's receive loop) may take that command in first, and with it the
// signal.
template <class Frames>
awaitable<void> async_socket::send_frames(const Frames& msg) {
  while (!try_send(msg)) {
    if (!can(ZMQ_POLLOUT)) {
      co_await wait_for(ZMQ_POLLOUT);
    } else if (try_send(msg)) {
      co_return;
    } else {
      auto waiting = core::wait_at_most(fd_.signalled(), std::chrono::milliseconds(10));
      co_await std::move(waiting);  // named: g++ 12 and co_await temporaries
    }
  }
}

awaitable<void> async_socket::send(const message& msg) { co_await send_frames(msg); }

awaitable<void> async_socket::send(const frame_views& msg) { co_await send_frames(msg); }

bool async_socket::try_receive_first(::zmq::message_t& frame) {
  if (!socket_.recv(frame, ::zmq::recv_flags::dontwait)) return false;
  if (frame.more()) {
    ::zmq::message_t rest;
    do (void)socket_.recv(rest, ::zmq::recv_flags::none);
    while (rest.more());
  }
  fd_.touched();
  return true;
}

awaitable<void> async_socket::wait_readable() { co_await wait_for(ZMQ_POLLIN); }

awaitable<void> async_socket::wait_writable() { co_await wait_for(ZMQ_POLLOUT); }

// The frames go into the strings `out` already holds: a receive loop that
// reuses its message allocates nothing per message once they are grown.
bool async_socket::try_receive(message& out) {
  ::zmq::message_t frame;
  if (!socket_.recv(frame, ::zmq::recv_flags::dontwait)) return false;
  std::size_t frames = 0;
  const auto keep = [&] {
    if (frames == out.size()) out.emplace_back();
    out[frames++].assign(static_cast<const char*>(frame.data()), frame.size());
  };
  keep();
  while (frame.more()) {
    (void)socket_.recv(frame, ::zmq::recv_flags::none);  // the rest of a message is already there
    keep();
  }
  out.resize(frames);
  fd_.touched();
  return true;
}

awaitable<message> async_socket::receive() {
  message out;
  while (!try_receive(out)) co_await wait_for(ZMQ_POLLIN);
  co_return out;
}

// Closing waits up to --linger for queued messages to leave, inside
// zmq_ctx_term, which blocks: that runs on a thread of its own, watched from
// here, so SIGINT still ends the program at once. The thread shares nothing
// with the io_context.
awaitable<bool> close_lingering(std::unique_ptr<async_socket> socket, std::shared_ptr<::zmq::context_t> context) {
  // Timed where the close runs, and shared with that thread: a cancelled
  // wait leaves it running alone.
  auto took = std::make_shared<std::chrono::steady_clock::duration>();
  const auto linger = std::chrono::milliseconds(socket->raw().get(::zmq::sockopt::linger));
  socket->stop_events();
  auto raw = std::make_shared<::zmq::socket_t>(std::move(socket->raw()));
  socket.reset();  // stops watching its ZMQ_FD, here on the io_context's thread
  // Named, not a temporary inside co_await (docs/architecture.md).
  std::function<void()> close = [took, raw, context = std::move(context)] {
    const auto start = std::chrono::steady_clock::now();
    raw->close();
    context->close();
    *took = std::chrono::steady_clock::now() - start;
  };
  auto closing = core::on_own_thread(std::move(close));
  co_await std::move(closing);
  co_return !linger_ran_out(*took, linger);
}

// XPUB hands us subscriptions as messages: "\x01topic" subscribes.
awaitable<void> wait_for_subscribers(async_socket& socket, int wanted) {
  int seen = 0;
  core::log::info("waiting for {} subscriber{}", wanted, wanted == 1 ? "" : "s");
  while (seen < wanted) {
    const auto msg = co_await socket.receive();
    if (!msg.empty() && !msg.front().empty() && msg.front()[0] == 1) {
      ++seen;
      core::log::info("subscription {} of {}: '{}'", seen, wanted, msg.front().substr(1));
    }
  }
}

}  // namespace nettool::zmq
