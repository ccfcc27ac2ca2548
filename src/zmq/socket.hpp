// A libzmq socket driven from the io_context: libzmq's own threads move the
// bytes, and we wait on its ZMQ_FD (core::foreign_fd) only when ZMQ_EVENTS
// says the socket cannot send or has nothing to receive.
#pragma once

#include "nettool/core/foreign_fd.hpp"

#include <zmq.hpp>

#include <string>
#include <vector>

namespace nettool::zmq {

using core::awaitable;

// One ZeroMQ message: its frames, in order.
using message = std::vector<std::string>;

class async_socket {
 public:
  async_socket(::zmq::context_t& context, ::zmq::socket_type type, const core::asio::any_io_executor& ex);

  ::zmq::socket_t& raw() noexcept { return socket_; }

  // All frames or none (libzmq delivers multipart messages atomically);
  // waits while the high-water mark is reached.
  awaitable<void> send(const message& frames);
  awaitable<message> receive();
  // A message if one is already there, without waiting.
  bool try_receive(message& out);

 private:
  bool can(short event);

  ::zmq::socket_t socket_;
  core::foreign_fd fd_;
};

}  // namespace nettool::zmq
