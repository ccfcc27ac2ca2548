// One stream type for plain TCP, Unix sockets and TLS over either.
#pragma once

#include "nettool/core/async.hpp"
#include "nettool/core/tls.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/asio/generic/stream_protocol.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace nettool::core {

class connection {
 public:
  using socket_type = asio::generic::stream_protocol::socket;

  connection(socket_type socket, std::string peer);
  connection(connection&&) noexcept = default;
  connection& operator=(connection&&) noexcept = default;
  ~connection();

  // TLS on top of the connected socket. The client verifies `host` unless
  // the context was made insecure; SNI is sent for names, not addresses.
  awaitable<void> tls_handshake_client(const tls_context_ptr& ctx, const std::string& host);
  awaitable<void> tls_handshake_server(const tls_context_ptr& ctx);

  // Returns 0 at the end of the peer's stream (FIN or TLS close_notify).
  awaitable<std::size_t> read_some(asio::mutable_buffer buffer);
  // The same, but a plain socket's read that the caller cancelled returns
  // nullopt instead of throwing: a pump ends its other direction this way
  // on every connection, and a throw costs as much as a short connection's
  // whole exchange. Under TLS a cancelled read still throws.
  awaitable<std::optional<std::size_t>> read_some_or_cancelled(asio::mutable_buffer buffer);
  awaitable<void> write(asio::const_buffer buffer);
  // `head`, then `count` bytes of the open file `fd` from `offset`:
  // sendfile(2) on a plain socket (no copy through user space), with the
  // head corked onto the file's first segment (nginx's tcp_nopush); read
  // and write under TLS or at -vvv (the hexdump needs the bytes).
  awaitable<void> write_file(int fd, std::uint64_t offset, std::uint64_t count, const std::string& name,
                             asio::const_buffer head = {});
  // Bounds how long a write may wait for the peer to take more bytes (a
  // client that never reads): past `limit` without progress the write
  // throws errc::timed_out ("no progress …"). Unset: writes wait as long as
  // the peer does. Servers set it (SPEC §1: a deadline for each write).
  void set_write_stall_limit(std::optional<duration> limit);
  std::optional<duration> write_stall_limit() const noexcept { return write_stall_limit_; }
  // One non-blocking step, for layers driven by completion handlers
  // (connection_stream): the bytes moved, or what the socket must become
  // ready for before the step is repeated, or an error (asio::error::eof at
  // the end of the peer's stream). Hexdump and byte counts as above.
  enum class io_wait { none, read, write };
  struct io_step {
    std::size_t bytes = 0;
    io_wait wait = io_wait::none;
    error_code ec;
  };
  io_step try_read(asio::mutable_buffer buffer);
  io_step try_write(asio::const_buffer buffer);
  // Half-close: no more data from us; reading goes on.
  awaitable<void> shutdown_send();
  void close() noexcept;

  socket_type& socket() noexcept { return socket_; }
  int native_handle() { return socket_.native_handle(); }
  const std::string& peer() const noexcept { return peer_; }
  bool is_tls() const noexcept { return tls_ != nullptr; }
  // "TLSv1.3 TLS_AES_256_GCM_SHA384" for -v.
  std::string tls_summary() const;
  std::uint64_t bytes_read() const noexcept { return bytes_read_; }
  std::uint64_t bytes_written() const noexcept { return bytes_written_; }

 private:
  // Waits as a TLS step asks (want_read/want_write); throws its failure.
  awaitable<void> wait_for(tls_status status);
  awaitable<void> tls_handshake();
  // Until the socket takes more bytes, within the write stall limit.
  awaitable<void> wait_writable();
  awaitable<void> await_write_ready();
  awaitable<void> write_plain_bounded(asio::const_buffer buffer);
  io_step tls_step(tls_status status, std::size_t n);
  awaitable<std::optional<std::size_t>> read_plain_now(asio::mutable_buffer buffer);

  socket_type socket_;
  std::string peer_;
  std::unique_ptr<tls_session> tls_;
  std::uint64_t bytes_read_ = 0;
  std::uint64_t bytes_written_ = 0;
  std::optional<duration> write_stall_limit_;
  unsigned reads_in_a_row_ = 0;  // without waiting: see read_plain_now
};

// Ends a connection so that the peer gets everything we sent: shuts our
// side down, reads and drops what the peer still sends until it closes,
// for at most `limit` and `max_bytes`, then closes. Closing a socket with
// unread input resets the connection, and the reset can destroy our last
// bytes before the peer read them (nginx's lingering close, ncat's exec).
awaitable<void> linger_close(connection& conn, duration limit = std::chrono::seconds(2),
                             std::uint64_t max_bytes = 1024 * 1024);

}  // namespace nettool::core
