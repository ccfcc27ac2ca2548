#include "nettool/core/listen.hpp"
#include "nettool/core/output.hpp"

#include "nettool/core/log.hpp"
#include "nettool/core/stdio.hpp"

#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/json.hpp>

#include <algorithm>
#include <fstream>
#include <sys/stat.h>
#include <unistd.h>

namespace nettool::core {
namespace {

using tcp = asio::ip::tcp;
using generic = asio::generic::stream_protocol;

std::string peer_text(const generic::endpoint& ep) {
  if (ep.protocol().family() == AF_INET || ep.protocol().family() == AF_INET6) {
    tcp::endpoint t;
    std::memcpy(t.data(), ep.data(), ep.size());
    const auto a = t.address();
    return a.is_v6() ? fmt::format("[{}]:{}", a.to_string(), t.port()) : fmt::format("{}:{}", a.to_string(), t.port());
  }
  return "unix client";
}

// A stale socket file (its server is gone) is replaced; a live one is not.
void remove_stale_socket(const std::string& path) {
  struct stat st{};
  if (::stat(path.c_str(), &st) != 0 || !S_ISSOCK(st.st_mode)) return;
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  asio::local::stream_protocol::endpoint ep(path);
  const bool live = ::connect(fd, static_cast<const sockaddr*>(ep.data()), static_cast<socklen_t>(ep.size())) == 0;
  ::close(fd);
  if (!live) ::unlink(path.c_str());
}

void write_port_file(const std::string& path, std::uint16_t port) {
  // Write then rename, so a script polling the file never reads half of it.
  const auto tmp = path + ".tmp" + std::to_string(::getpid());
  {
    std::ofstream f(tmp);
    f << port << '\n';
    if (!f) throw error(error_code(errno, boost::system::system_category()), core::phase::file, path);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0)
    throw error(error_code(errno, boost::system::system_category()), core::phase::file, path);
}

}  // namespace

void announce_listening(output& out, bool json, const std::string& address, std::optional<std::uint16_t> port,
                        const std::string& port_file) {
  if (!port_file.empty()) write_port_file(port_file, port.value_or(0));
  if (json) {
    boost::json::object ev{{"event", "listening"}, {"address", address}};
    if (port) ev["port"] = *port;
    out.line(to_json(ev));
  }
  const auto shown = !port ? address : address.find(':') != std::string::npos ? fmt::format("[{}]:{}", address, *port)
                                                                              : fmt::format("{}:{}", address, *port);
  const bool loopback_only = port && (address.rfind("127.", 0) == 0 || address == "::1");
  log::notice("listening on {}{}", shown,
              loopback_only ? " (this machine only; --bind 0.0.0.0 exposes it to other hosts and containers)" : "");
}

listener::listener(const asio::any_io_executor& ex, const listen_options& options, output& out, bool json)
    : acceptor_(ex), unix_path_(options.unix_path) {
  boost::system::error_code ec;
  std::string shown;
  if (!unix_path_.empty()) {
    remove_stale_socket(unix_path_);
    const generic::endpoint ep(asio::local::stream_protocol::endpoint{unix_path_});
    acceptor_.open(ep.protocol(), ec);
    if (!ec) acceptor_.bind(ep, ec);
    if (ec) throw error(ec, core::phase::bind, unix_path_);
    shown = unix_path_;
  } else {
    auto address = asio::ip::make_address(options.bind, ec);
    if (ec) throw error(errc::usage, "option", "--bind", fmt::format("'{}' is not an IP address", options.bind));
    const tcp::endpoint tep(address, options.port);
    const generic::endpoint ep(tep);
    acceptor_.open(ep.protocol(), ec);
    if (ec) throw error(ec, core::phase::bind, fmt::format("{}:{}", options.bind, options.port));
    acceptor_.set_option(asio::socket_base::reuse_address(true));
    if (address.is_v6()) {
      const int on = 1;  // [::] means IPv6 here; 0.0.0.0 is the IPv4 choice
      ::setsockopt(acceptor_.native_handle(), IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on);
    }
    acceptor_.bind(ep, ec);
    if (ec) throw error(ec, core::phase::bind, address.is_v6() ? fmt::format("[{}]:{}", options.bind, options.port)
                                                  : fmt::format("{}:{}", options.bind, options.port));
    tcp::endpoint bound;
    std::memcpy(bound.data(), acceptor_.local_endpoint().data(), acceptor_.local_endpoint().size());
    port_ = bound.port();
    shown = address.is_v6() ? fmt::format("[{}]:{}", options.bind, port_) : fmt::format("{}:{}", options.bind, port_);
  }
  acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) throw error(ec, core::phase::listen, shown);
  announce_listening(out, json, unix_path_.empty() ? options.bind : unix_path_,
                     unix_path_.empty() ? std::optional<std::uint16_t>(port_) : std::nullopt, options.port_file);
}

listener::~listener() {
  close();
  if (!unix_path_.empty()) ::unlink(unix_path_.c_str());
}

void listener::close() noexcept {
  boost::system::error_code ignored;
  acceptor_.close(ignored);
}

awaitable<connection> listener::accept() { return accept(acceptor_.get_executor()); }

awaitable<connection> listener::accept(const asio::any_io_executor& on) {
  for (;;) {
    generic::endpoint peer;
    auto [ec, socket] = co_await acceptor_.async_accept(on, peer, asio::as_tuple(asio::use_awaitable));
    if (!ec) {
      auto who = unix_path_.empty() ? peer_text(peer) : unix_path_;
      log::info("connection from {}", who);
      co_return connection(std::move(socket), std::move(who));
    }
    // Out of descriptors or a client that gave up before accept: not fatal.
    if (ec == asio::error::connection_aborted || ec.value() == EMFILE || ec.value() == ENFILE) {
      log::warn("accept: {}", ec.message());
      if (ec.value() == EMFILE || ec.value() == ENFILE) co_await sleep_for(std::chrono::milliseconds(100));
      continue;
    }
    throw error(ec, "accept");
  }
}

namespace {

// The TLS handshake of a server with --tls, within its deadline. The
// handler is then awaited by the caller itself: one coroutine frame fewer
// held for each connection's whole life.
awaitable<void> accept_tls(connection& conn, const serve_options& options) {
  if (!options.tls) co_return;
  auto shaking = with_timeout(conn.tls_handshake_server(options.tls), options.handshake_timeout, core::phase::tls, conn.peer());
  co_await std::move(shaking);  // named: docs/architecture.md on g++ 12 and co_await temporaries
}

// Where a keep-open server's connections run and how many each loop has.
// Touched on the accepting loop only: a connection on another loop reports
// its end by posting there.
struct spread {
  spread(const asio::any_io_executor& ex, connection_tracker& all, std::size_t loops)
      : home(ex), slot_freed(ex, asio::steady_timer::time_point::max()), tracker(all), active(loops) {}

  // The loop with the fewest connections (0 is the accepting loop).
  std::size_t least_busy() const {
    return static_cast<std::size_t>(std::min_element(active.begin(), active.end()) - active.begin());
  }
  void started(std::size_t loop) {
    ++tracker.active;
    ++active[loop];
  }
  void ended(std::size_t loop) {
    --tracker.active;
    --active[loop];
    slot_freed.cancel();  // wakes an accept loop waiting for a free slot
  }

  asio::any_io_executor home;
  asio::steady_timer slot_freed;
  connection_tracker& tracker;
  std::vector<std::size_t> active;
};

// Owns everything by value: it outlives the accept loop during a stop.
awaitable<void> run_tracked(connection conn, serve_options options, connection_handler handler,
                            std::shared_ptr<spread> where, std::size_t loop) {
  const auto peer = conn.peer();
  try {
    co_await accept_tls(conn, options);
    auto handling = handler(std::move(conn));  // named: g++ 12 and co_await temporaries
    co_await std::move(handling);
    log::info("{} done", peer);
  } catch (const error& e) {
    if (e.code() == errc::stdout_closed) log::info("{}: stdout closed", peer);
    else log::warn("{}: {}", peer, e.describe());
  } catch (const std::exception& e) {
    log::warn("{}: {}", peer, e.what());
  }
  if (loop == 0) {
    where->ended(0);
    co_return;
  }
  // Moved into the hop, so the state (its timer) is released on its own loop.
  const auto home = where->home;
  asio::post(home, [where = std::move(where), loop] { where->ended(loop); });
}

}  // namespace

awaitable<void> serve(listener& l, const serve_options& options, connection_tracker& tracker,
                      connection_handler handler, std::vector<serving_loop> more_loops) {
  if (!options.keep_open) {
    auto conn = co_await l.accept();
    l.close();
    co_await accept_tls(conn, options);
    auto handling = handler(std::move(conn));
    co_await std::move(handling);
    co_return;
  }
  auto ex = co_await asio::this_coro::executor;
  more_loops.insert(more_loops.begin(), serving_loop{ex, std::move(handler)});
  auto where = std::make_shared<spread>(ex, tracker, more_loops.size());
  for (;;) {
    while (tracker.active >= options.max_conns) {
      // New clients wait in the kernel's backlog meanwhile.
      co_await where->slot_freed.async_wait(asio::as_tuple(asio::use_awaitable));
      co_await throw_if_cancelled();
    }
    const auto loop = where->least_busy();
    const auto& to = more_loops[loop];
    auto conn = co_await l.accept(to.executor);
    where->started(loop);
    asio::co_spawn(to.executor, run_tracked(std::move(conn), options, to.handler, where, loop), asio::detached);
  }
}

}  // namespace nettool::core
