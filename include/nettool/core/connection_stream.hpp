// An Asio AsyncStream (async_read_some / async_write_some / get_executor)
// over a core::connection, for libraries driven by completion handlers —
// Beast's websocket::stream first. Plain TCP, Unix sockets and TLS over
// either all work through it, with the connection's -vvv hexdump and byte
// counts. Bytes a protocol head already read past its end (an HTTP upgrade
// request followed at once by frames) are handed out before the socket is
// read again. A write waits for the peer within the connection's write
// stall limit (a server's --send-timeout): a timer runs only while the
// socket is full, never for a write that goes out at once.
#pragma once

#include "nettool/core/stream.hpp"

#include <boost/asio/compose.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <array>
#include <cstring>
#include <memory>
#include <string>

namespace nettool::core {

class connection_stream {
 public:
  using executor_type = asio::any_io_executor;

  explicit connection_stream(connection conn, std::string leftover = {})
      : conn_(std::move(conn)), leftover_(std::move(leftover)) {
    // Every step tries the socket first and waits only when it is not ready.
    conn_.socket().non_blocking(true);
  }

  executor_type get_executor() noexcept { return conn_.socket().get_executor(); }
  connection& conn() noexcept { return conn_; }
  const connection& conn() const noexcept { return conn_; }

  template <class MutableBufferSequence, class ReadToken>
  auto async_read_some(const MutableBufferSequence& buffers, ReadToken&& token) {
    return asio::async_compose<ReadToken, void(error_code, std::size_t)>(
        io_op<true>{this, first_of<asio::mutable_buffer>(buffers)}, token, conn_.socket());
  }

  // A gather write of small pieces (a frame header and its payload) goes
  // out as one piece: one syscall, and under TLS one record.
  template <class ConstBufferSequence, class WriteToken>
  auto async_write_some(const ConstBufferSequence& buffers, WriteToken&& token) {
    return asio::async_compose<WriteToken, void(error_code, std::size_t)>(
        io_op<false>{this, gather(buffers)}, token, conn_.socket());
  }

 private:
  template <class Buffer, class Sequence>
  static Buffer first_of(const Sequence& buffers) {
    for (auto it = asio::buffer_sequence_begin(buffers); it != asio::buffer_sequence_end(buffers); ++it) {
      const Buffer b = *it;
      if (b.size() > 0) return b;
    }
    return {};
  }

  static constexpr std::size_t gather_limit = 64 * 1024;

  template <class Sequence>
  asio::const_buffer gather(const Sequence& buffers) {
    const auto first = first_of<asio::const_buffer>(buffers);
    const auto total = asio::buffer_size(buffers);
    if (total == first.size() || total > gather_limit) return first;
    scratch_.resize(total);  // one write at a time (AsyncStream's rule): one scratch
    asio::buffer_copy(asio::buffer(scratch_), buffers);
    return asio::buffer(scratch_);
  }

  // One read or write: try it, wait for readiness when the socket (or TLS)
  // asks, repeat. A result ready at once is posted, never delivered inside
  // the initiating call.
  template <bool Reading>
  struct io_op {
    using buffer_type = std::conditional_t<Reading, asio::mutable_buffer, asio::const_buffer>;
    io_op(connection_stream* s, buffer_type b) : self(s), buffer(b) {}

    connection_stream* self;
    buffer_type buffer;
    bool waited = false;
    std::optional<connection::io_step> ready;

    template <class Self>
    void operator()(Self& op, error_code ec = {}) {
      if (ready) return op.complete(ready->ec, ready->bytes);
      if (ec) return op.complete(ec, 0);
      auto step = attempt();
      if (step.wait == connection::io_wait::none) {
        if (waited) return op.complete(step.ec, step.bytes);
        ready = step;
        asio::post(std::move(op));
        return;
      }
      waited = true;
      const auto kind = step.wait == connection::io_wait::read ? connection::socket_type::wait_read
                                                               : connection::socket_type::wait_write;
      const auto limit = self->conn_.write_stall_limit();
      if (Reading || step.wait != connection::io_wait::write || !limit) {
        self->conn_.socket().async_wait(kind, std::move(op));
        return;
      }
      auto& timer = self->stall_timer();
      timer.expires_after(*limit);
      asio::experimental::make_parallel_group(self->conn_.socket().async_wait(kind, asio::deferred),
                                              timer.async_wait(asio::deferred))
          .async_wait(asio::experimental::wait_for_one(), std::move(op));
    }

    // The end of a bounded wait for room: the socket, or the stall limit
    // (the timer cancelled means the whole write was). A socket that became
    // writable as the limit passed gets one more try.
    template <class Self>
    void operator()(Self& op, std::array<std::size_t, 2> order, error_code ec, error_code timer_ec) {
      if (order[0] == 0) return (*this)(op, ec);
      if (timer_ec) return op.complete(timer_ec, 0);
      const auto step = attempt();
      if (step.wait == connection::io_wait::none) return op.complete(step.ec, step.bytes);
      op.complete(make_error_code(errc::timed_out), 0);
    }

    connection::io_step attempt() {
      if (buffer.size() == 0) return {};
      if constexpr (Reading) {
        if (!self->leftover_.empty()) {
          const auto n = std::min(buffer.size(), self->leftover_.size() - self->leftover_at_);
          std::memcpy(buffer.data(), self->leftover_.data() + self->leftover_at_, n);
          self->leftover_at_ += n;
          if (self->leftover_at_ == self->leftover_.size()) {
            self->leftover_.clear();
            self->leftover_at_ = 0;
          }
          return {n, connection::io_wait::none, {}};
        }
        return self->conn_.try_read(buffer);
      } else {
        return self->conn_.try_write(buffer);
      }
    }
  };

  // Made on the first write that has to wait: idle connections carry none.
  asio::steady_timer& stall_timer() {
    if (!stall_timer_) stall_timer_ = std::make_unique<asio::steady_timer>(get_executor());
    return *stall_timer_;
  }

  // A pending op points at this object: its owner keeps it until the op
  // completes (Beast's stream is held by its session or bench worker).
  connection conn_;
  std::unique_ptr<asio::steady_timer> stall_timer_;  // after conn_: destroyed first
  std::string leftover_;
  std::size_t leftover_at_ = 0;
  std::string scratch_;
};

}  // namespace nettool::core
