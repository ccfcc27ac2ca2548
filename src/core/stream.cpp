#include "nettool/core/stream.hpp"

#include "nettool/core/log.hpp"

#include <boost/asio/write.hpp>
#include <boost/asio/ip/address.hpp>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <cerrno>

namespace nettool::core {

connection::connection(socket_type socket, std::string peer) : socket_(std::move(socket)), peer_(std::move(peer)) {}

connection::connection(connection&& other) noexcept
    : socket_(std::move(other.socket_)),
      peer_(std::move(other.peer_)),
      ssl_(std::exchange(other.ssl_, nullptr)),
      bytes_read_(other.bytes_read_),
      bytes_written_(other.bytes_written_) {}

connection& connection::operator=(connection&& other) noexcept {
  if (this != &other) {
    if (ssl_) SSL_free(ssl_);
    socket_ = std::move(other.socket_);
    peer_ = std::move(other.peer_);
    ssl_ = std::exchange(other.ssl_, nullptr);
    bytes_read_ = other.bytes_read_;
    bytes_written_ = other.bytes_written_;
  }
  return *this;
}

connection::~connection() {
  if (ssl_) SSL_free(ssl_);
}

void connection::close() noexcept {
  boost::system::error_code ignored;
  socket_.close(ignored);
}

std::string connection::tls_summary() const {
  if (!ssl_) return "plain";
  return fmt::format("{} {}", SSL_get_version(ssl_), SSL_get_cipher_name(ssl_));
}

awaitable<void> connection::wait_for(int ssl_error, const char* phase) {
  if (ssl_error == SSL_ERROR_WANT_READ) {
    co_await socket_.async_wait(socket_type::wait_read, asio::use_awaitable);
  } else if (ssl_error == SSL_ERROR_WANT_WRITE) {
    co_await socket_.async_wait(socket_type::wait_write, asio::use_awaitable);
  } else {
    throw_tls(ssl_error, phase);
  }
}

void connection::throw_tls(int ssl_error, const char* phase) {
  if (ssl_error == SSL_ERROR_SYSCALL && errno != 0) {
    const int e = errno;
    ERR_clear_error();
    throw error(error_code(e, boost::system::system_category()), phase, peer_);
  }
  const long verify = SSL_get_verify_result(ssl_);
  if (verify != X509_V_OK) {
    ERR_clear_error();
    throw error(errc::tls_failed, "tls", peer_,
                fmt::format("certificate verify failed: {}", X509_verify_cert_error_string(verify)));
  }
  if (ssl_error == SSL_ERROR_SYSCALL || ssl_error == SSL_ERROR_ZERO_RETURN)
    throw error(errc::tls_failed, "tls", peer_, "the peer closed the connection during the TLS handshake");
  throw error(errc::tls_failed, "tls", peer_, openssl_error_string());
}

awaitable<void> connection::tls_handshake(const char* phase) {
  for (;;) {
    ERR_clear_error();
    errno = 0;
    const int rc = SSL_do_handshake(ssl_);
    if (rc == 1) break;
    co_await wait_for(SSL_get_error(ssl_, rc), phase);
  }
  log::info("TLS with {}: {}", peer_, tls_summary());
}

awaitable<void> connection::tls_handshake_client(const ssl_context& ctx, const std::string& host) {
  ssl_ = SSL_new(ctx.get());
  if (!ssl_) throw error(errc::tls_failed, "tls", peer_, openssl_error_string());
  socket_.non_blocking(true);
  SSL_set_fd(ssl_, socket_.native_handle());
  boost::system::error_code not_ip;
  boost::asio::ip::make_address(host, not_ip);
  if (not_ip) {
    SSL_set_tlsext_host_name(ssl_, host.c_str());
    SSL_set1_host(ssl_, host.c_str());
  } else {
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_), host.c_str());
  }
  SSL_set_connect_state(ssl_);
  co_await tls_handshake("tls");
}

awaitable<void> connection::tls_handshake_server(const ssl_context& ctx) {
  ssl_ = SSL_new(ctx.get());
  if (!ssl_) throw error(errc::tls_failed, "tls", peer_, openssl_error_string());
  socket_.non_blocking(true);
  SSL_set_fd(ssl_, socket_.native_handle());
  SSL_set_accept_state(ssl_);
  co_await tls_handshake("tls");
}

awaitable<std::size_t> connection::read_some(asio::mutable_buffer buffer) {
  if (!ssl_) {
    auto [ec, n] = co_await socket_.async_read_some(buffer, asio::as_tuple(asio::use_awaitable));
    if (ec == asio::error::eof) co_return 0;
    if (ec) throw error(ec, "read", peer_);
    bytes_read_ += n;
    log::hexdump('<', peer_, buffer.data(), n);
    co_return n;
  }
  for (;;) {
    ERR_clear_error();
    errno = 0;
    std::size_t n = 0;
    const int rc = SSL_read_ex(ssl_, buffer.data(), buffer.size(), &n);
    if (rc == 1) {
      bytes_read_ += n;
      log::hexdump('<', peer_, buffer.data(), n);
      co_return n;
    }
    const int err = SSL_get_error(ssl_, rc);
    if (err == SSL_ERROR_ZERO_RETURN) co_return 0;
    if ((err == SSL_ERROR_SYSCALL && errno == 0) ||
        (err == SSL_ERROR_SSL && ERR_GET_REASON(ERR_peek_error()) == SSL_R_UNEXPECTED_EOF_WHILE_READING)) {
      // Many peers close without close_notify; as Beast's stream_truncated,
      // this is the end of the stream, not a failure.
      ERR_clear_error();
      log::debug("{} closed without TLS close_notify", peer_);
      co_return 0;
    }
    if (err == SSL_ERROR_SSL) throw error(errc::tls_failed, "tls", peer_, openssl_error_string());
    co_await wait_for(err, "read");
  }
}

awaitable<void> connection::write(asio::const_buffer buffer) {
  if (!ssl_) {
    auto [ec, n] = co_await asio::async_write(socket_, buffer, asio::as_tuple(asio::use_awaitable));
    if (ec) throw error(ec, "write", peer_);
    bytes_written_ += n;
    log::hexdump('>', peer_, buffer.data(), n);
    co_return;
  }
  const auto* data = static_cast<const unsigned char*>(buffer.data());
  std::size_t left = buffer.size();
  while (left > 0) {
    ERR_clear_error();
    errno = 0;
    std::size_t n = 0;
    const int rc = SSL_write_ex(ssl_, data, left, &n);
    if (rc == 1) {
      log::hexdump('>', peer_, data, n);
      data += n;
      left -= n;
      bytes_written_ += n;
      continue;
    }
    const int err = SSL_get_error(ssl_, rc);
    if (err == SSL_ERROR_SSL) throw error(errc::tls_failed, "tls", peer_, openssl_error_string());
    co_await wait_for(err, "write");
  }
}

awaitable<void> connection::shutdown_send() {
  if (ssl_) {
    // One SSL_shutdown sends close_notify; we do not wait for the peer's,
    // reading goes on until it arrives.
    for (;;) {
      ERR_clear_error();
      errno = 0;
      const int rc = SSL_shutdown(ssl_);
      if (rc >= 0) break;
      const int err = SSL_get_error(ssl_, rc);
      if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) {
        ERR_clear_error();
        break;  // the peer is gone already; nothing left to tell it
      }
      if (err == SSL_ERROR_WANT_READ) break;
      co_await wait_for(err, "write");
    }
  }
  boost::system::error_code ec;
  socket_.shutdown(socket_type::shutdown_send, ec);
  if (ec && ec != asio::error::not_connected) throw error(ec, "write", peer_);
}

}  // namespace nettool::core
