// What Beast's websocket::stream sits on: the core's connection as an
// AsyncStream (plain, Unix or TLS alike), plus a Close sent by the client
// itself so that replies still in flight are read, not dropped.
//
// Why the client does not use Beast's async_close at stdin EOF: once a
// close is pending, Beast's close operation takes the read side over and
// discards every data frame until the peer's Close arrives — the replies
// the peer sent before it saw our Close would be lost. RFC 6455 §5.5.1 lets
// an endpoint go on receiving after it sent Close, so the transport writes
// the Close frame itself and then swallows what Beast would write after it
// (its automatic Close reply): Beast's read goes on delivering messages
// until the peer's Close ends it with websocket::error::closed.
#pragma once

#include "nettool/core/async.hpp"
#include "nettool/core/connection_stream.hpp"

#include <boost/asio/append.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <boost/beast/websocket/stream.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace nettool::ws {

namespace beast = boost::beast;
namespace asio = boost::asio;
using core::awaitable;
using core::error_code;

class transport {
 public:
  using executor_type = asio::any_io_executor;

  explicit transport(core::connection conn, std::string leftover = {})
      : stream_(std::move(conn), std::move(leftover)), write_done_(stream_.get_executor()) {}

  executor_type get_executor() noexcept { return stream_.get_executor(); }
  core::connection& conn() noexcept { return stream_.conn(); }

  template <class MutableBufferSequence, class ReadToken>
  auto async_read_some(const MutableBufferSequence& buffers, ReadToken&& token) {
    return stream_.async_read_some(buffers, std::forward<ReadToken>(token));
  }

  template <class ConstBufferSequence, class WriteToken>
  auto async_write_some(const ConstBufferSequence& buffers, WriteToken&& token) {
    return asio::async_compose<WriteToken, void(error_code, std::size_t)>(
        write_op<ConstBufferSequence>{this, buffers}, token, stream_.conn().socket());
  }

  // Sends a Close frame as a client (masked) once no frame is being
  // written; from then on whatever Beast writes is dropped. False when a
  // frame write was cut off earlier (cancelled or failed: a Close after
  // half a frame would be garbage, so none is sent) or the write fails.
  awaitable<bool> send_close(std::uint16_t code, std::string_view reason);
  bool close_sent() const noexcept { return close_sent_; }

 private:
  template <class Buffers>
  struct write_op {
    transport* self;
    Buffers buffers;
    bool started = false;
    bool counted = false;

    template <class Self>
    void operator()(Self& op, error_code ec = {}, std::size_t n = 0) {
      if (!started) {
        started = true;
        if (self->close_sent_) {  // Beast's Close reply or a pong after ours
          n = asio::buffer_size(buffers);
          asio::post(asio::append(std::move(op), error_code{}, n));
          return;
        }
        counted = true;
        ++self->writing_;
        self->stream_.async_write_some(buffers, std::move(op));
        return;
      }
      if (counted) {
        if (--self->writing_ == 0) self->write_done_.cancel();
        if (ec) self->cut_off_ = true;
      }
      op.complete(ec, n);
    }
  };

  core::connection_stream stream_;
  int writing_ = 0;
  bool cut_off_ = false;
  bool close_sent_ = false;
  asio::steady_timer write_done_;  // cancelled when the last write in flight completes
};

using stream = beast::websocket::stream<transport>;

// Beast ends a connection through these (found by argument-dependent
// lookup on transport): the core's lingering close, so the peer gets our
// last frame before the socket goes; and a hard close on its timeouts.
void teardown(beast::role_type role, transport& t, error_code& ec);
void beast_close_socket(transport& t);

// Ends a connection with a reset: for a peer cut off while bytes are still
// queued for it (a client taking a message too slowly), which a plain
// close would leave in the kernel to drain at the client's pace.
void reset_connection(transport& t);

template <class TeardownHandler>
void async_teardown(beast::role_type, transport& t, TeardownHandler&& handler) {
  asio::co_spawn(t.get_executor(), core::linger_close(t.conn()),
                 [h = std::forward<TeardownHandler>(handler)](std::exception_ptr) mutable { std::move(h)(error_code{}); });
}

}  // namespace nettool::ws
