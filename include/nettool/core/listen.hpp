// Servers (SPEC §1 "Servers"): bind (default 127.0.0.1), port 0, Unix
// sockets, --port-file, the `listening` event, --max-conns, graceful stop.
#pragma once

#include "nettool/core/async.hpp"
#include "nettool/core/stream.hpp"

#include <boost/asio/basic_socket_acceptor.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace nettool::core {

class output;

struct listen_options {
  std::string bind = "127.0.0.1";
  std::uint16_t port = 0;
  std::string unix_path;
  std::string port_file;
  std::size_t max_conns = 1024;
  int family = 0;
};

// Counts a server's open connections so a stop can wait for them (≤ 2 s).
struct connection_tracker {
  std::size_t active = 0;
};

// Writes --port-file, emits the JSON `listening` event and logs
// "listening on …": what every server does once bound (TCP, Unix, UDP).
void announce_listening(output& out, bool json, const std::string& address, std::optional<std::uint16_t> port,
                        const std::string& port_file);

class listener {
 public:
  // Binds and listens, writes --port-file, logs "listening on …" and emits
  // the JSON `listening` event when `json` is set.
  listener(const asio::any_io_executor& ex, const listen_options& options, output& out, bool json);
  ~listener();
  listener(const listener&) = delete;
  listener& operator=(const listener&) = delete;

  awaitable<connection> accept();
  // The connection's socket belongs to the loop `on` runs (another thread's
  // event loop, for a server spread across cores).
  awaitable<connection> accept(const asio::any_io_executor& on);
  std::uint16_t port() const noexcept { return port_; }
  void close() noexcept;

 private:
  asio::basic_socket_acceptor<asio::generic::stream_protocol> acceptor_;
  std::uint16_t port_ = 0;
  std::string unix_path_;
};

using connection_handler = std::function<awaitable<void>(connection)>;

struct serve_options {
  bool keep_open = false;
  std::size_t max_conns = 1024;
  tls_context_ptr tls;                                   // TLS server context, or empty
  duration handshake_timeout = std::chrono::seconds(10);
};

// Another event loop a keep-open server hands connections to, with the
// handler of the server's copy that lives on that loop.
struct serving_loop {
  asio::any_io_executor executor;
  connection_handler handler;
};

// Without keep_open: accepts one connection, stops listening and runs the
// handler to the end (its errors propagate). With keep_open: accepts
// forever, each connection in its own coroutine, at most max_conns at once;
// a connection's failure is logged and does not stop the server. With
// `more_loops`, each connection runs on the loop (this one or one of them)
// that has the fewest; max_conns and `tracker` count them all, on this loop.
awaitable<void> serve(listener& l, const serve_options& options, connection_tracker& tracker,
                      connection_handler handler, std::vector<serving_loop> more_loops = {});

}  // namespace nettool::core
