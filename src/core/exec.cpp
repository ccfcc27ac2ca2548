#include "nettool/core/exec.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include "nettool/core/buffer.hpp"
#include "nettool/core/log.hpp"
#include "nettool/core/parse.hpp"
#include "nettool/core/stream.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

namespace nettool::core {
namespace {

awaitable<void> copy(connection& from, connection& to) {
  io_buffer buffer(64 * 1024);
  for (;;) {
    const auto n = co_await from.read_some(buffer.space());
    if (n == 0) break;
    co_await to.write(buffer.first(n));
  }
  co_await to.shutdown_send();
}

// Runs the child, then closes our copy of its socket end so its output ends.
awaitable<void> run_child(process_spec spec, int child_end, int& status) {
  struct closer {
    int fd;
    ~closer() { ::close(fd); }
  } guard{child_end};
  status = co_await run_process(spec);
}

// Peer → child. Never completes by itself: the child's exit ends the relay.
awaitable<void> copy_to_child(connection& from, connection& to) {
  try {
    co_await copy(from, to);
  } catch (const error& e) {
    log::debug("exec: {}", e.describe());  // the child stopped reading
  }
  asio::steady_timer forever(co_await asio::this_coro::executor, asio::steady_timer::time_point::max());
  co_await forever.async_wait(asio::use_awaitable);
}

void make_blocking(int fd) {
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags >= 0) ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
}

}  // namespace

environment remote_environment(const std::string& peer) {
  if (auto hp = parse_host_port(peer))
    return {{"NETTOOL_REMOTE_ADDR", hp->host}, {"NETTOOL_REMOTE_PORT", std::to_string(hp->port)}};
  return {{"NETTOOL_REMOTE_ADDR", peer}, {"NETTOOL_REMOTE_PORT", ""}};
}

awaitable<void> relay(connection& a, connection& b) { co_await both(copy(a, b), copy(b, a)); }

awaitable<int> exec_on_connection(connection& conn, const std::string& command, environment env) {
  if (!conn.is_tls()) {
    // The child shares the socket; it expects blocking I/O, as any program
    // on its stdin/stdout would.
    make_blocking(conn.native_handle());
    // Named, not a braced temporary: g++ 12 destroys aggregate temporaries
    // inside a co_await expression twice (GCC PR 100611).
    const process_spec spec{command, std::move(env), conn.native_handle(), conn.native_handle(), -1};
    const int status = co_await run_process(spec);
    // The child may have left the peer's input unread (a reply printed
    // without reading the request): closing then would reset the
    // connection, and the reset can destroy the reply in flight. Only then
    // linger; a peer that sent nothing more is not kept waiting.
    boost::system::error_code ec;
    if (conn.socket().available(ec) > 0 && !ec) {
      conn.socket().native_non_blocking(true);
      co_await linger_close(conn);
    } else {
      conn.close();
    }
    co_return status;
  }
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0)
    throw error(error_code(errno, boost::system::system_category()), "exec", command);
  auto ex = co_await asio::this_coro::executor;
  connection local(connection::socket_type(ex, asio::generic::stream_protocol(AF_UNIX, 0), pair[0]), "exec");
  int status = 0;
  // The child's lifetime decides: its output goes to the peer until it
  // exits; what the peer sends meanwhile goes to its stdin.
  process_spec spec{command, std::move(env), pair[1], pair[1], -1};
  auto child_side = both(run_child(std::move(spec), pair[1], status), copy(local, conn));
  co_await first_of(std::move(child_side), copy_to_child(conn, local));
  co_return status;
}

int plain_socket_for(const asio::any_io_executor& ex, connection conn, connection_tracker& tracker) {
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0)
    throw error(error_code(errno, boost::system::system_category()), "socketpair");
  connection local(connection::socket_type(ex, asio::generic::stream_protocol(AF_UNIX, 0), pair[0]), conn.peer());
  // The frame owns both connections; a reset on either side only ends it.
  ++tracker.active;
  auto run = [remote = std::move(conn), local = std::move(local), &tracker]() mutable -> awaitable<void> {
    try {
      co_await relay(remote, local);
    } catch (const std::exception&) {
    }
    --tracker.active;
  };
  asio::co_spawn(ex, std::move(run), asio::detached);
  return pair[1];
}

}  // namespace nettool::core
