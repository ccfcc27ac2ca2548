// A libzmq socket driven from the io_context: libzmq's own threads move the
// bytes, and we wait on its ZMQ_FD (core::foreign_fd) only when ZMQ_EVENTS
// says the socket cannot send or has nothing to receive.
#pragma once

#include "zmq.hpp"

#include "nettool/core/foreign_fd.hpp"
#include "nettool/core/framing.hpp"

#include <zmq.hpp>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace nettool::zmq {

using core::awaitable;

// One ZeroMQ message: its frames, in order.
using message = std::vector<std::string>;
// A message to send whose bytes the caller keeps until it is sent: a line
// cut into frames without copying.
using frame_views = std::vector<std::string_view>;

class async_socket {
 public:
  async_socket(::zmq::context_t& context, ::zmq::socket_type type, const core::asio::any_io_executor& ex);
  // Queued messages are dropped: a socket destroyed here is abandoned (an
  // error, SIGINT); the normal end goes through close_lingering.
  ~async_socket();
  async_socket(const async_socket&) = delete;
  async_socket& operator=(const async_socket&) = delete;

  ::zmq::socket_t& raw() noexcept { return socket_; }

  // All frames or none (libzmq delivers multipart messages atomically);
  // waits while the high-water mark is reached.
  awaitable<void> send(const message& msg);
  awaitable<void> send(const frame_views& msg);
  awaitable<message> receive();
  // Without waiting: false when the message cannot go now / none is there.
  // Hot loops use these and wait only when they return false, so most
  // messages cost no coroutine.
  bool try_send(const message& msg);
  bool try_send(const frame_views& msg);
  bool try_receive(message& out);
  // A message's first frame, the rest dropped, with no copy (bench sinks).
  bool try_receive_first(::zmq::message_t& frame);
  awaitable<void> wait_readable();
  awaitable<void> wait_writable();

  // -v: libzmq's events for this socket (connected, retried, handshake
  // failed, …) become log lines, written whenever the socket waits.
  void log_events(::zmq::context_t& context);
  void stop_events();

  // Closes now; libzmq goes on sending what is queued (up to --linger)
  // until the context ends. For a caller that knows it will all arrive.
  void close_in_background();

 private:
  template <class Frames>
  bool try_send_frames(const Frames& msg);
  template <class Frames>
  awaitable<void> send_frames(const Frames& msg);
  bool can(short event);
  awaitable<void> wait_for(short event);
  void log_pending_events();

  ::zmq::socket_t socket_;
  core::foreign_fd fd_;
  // The PAIR end of zmq_socket_monitor, when -v.
  std::unique_ptr<::zmq::socket_t> events_;
  std::unique_ptr<core::foreign_fd> events_fd_;
};

// A socket of the verb's type with its options set, bound and connected.
std::unique_ptr<async_socket> open_socket(::zmq::context_t& context, const socket_args& args,
                                          const core::asio::any_io_executor& ex);
// The same with a socket type of the caller's choice (the proxy's XSUB, …).
std::unique_ptr<async_socket> open_socket(::zmq::context_t& context, ::zmq::socket_type type, const socket_args& args,
                                          const core::asio::any_io_executor& ex);

// Closes the socket, waiting up to its linger time for queued messages to
// leave (see socket.cpp); SIGINT ends the wait.
// False when the linger time ran out with messages still queued: libzmq
// dropped them. (A linger under 10 ms is too short to tell: true.)
awaitable<bool> close_lingering(std::unique_ptr<async_socket> socket, std::shared_ptr<::zmq::context_t> context);

// XPUB: returns once `wanted` subscriptions have arrived (with
// ZMQ_XPUB_VERBOSE every subscriber counts, also to the same topic).
awaitable<void> wait_for_subscribers(async_socket& socket, int wanted);

// A line as the frames of a message (views into it): split on
// --frame-sep with --multipart; a ROUTER's line always starts with the
// identity it goes to.
void to_frames(std::string_view line, const socket_args& args, frame_views& out);
// One line of output (buffered: the caller flushes): frames joined with
// --frame-sep, or {"frames":[…]} with --json.
void print_message(core::run_context& ctx, const message& msg, const socket_args& args);
// A message's frames joined by `sep` (--frame-sep): what --exec and
// --expect see of a multipart message.
std::string joined(const message& msg, const std::string& sep);
// What the verb sends: the --send texts, stdin lines or --binary chunks.
core::message_source open_input(core::run_context& ctx, const socket_args& args);

}  // namespace nettool::zmq
