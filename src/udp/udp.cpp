// udp send and udp listen.
#include "udp.hpp"

#include "nettool/core/framing.hpp"
#include "nettool/core/log.hpp"
#include "nettool/core/output.hpp"

#include <boost/asio/ip/multicast.hpp>
#include <boost/asio/ip/unicast.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/json.hpp>

namespace nettool::udp {
namespace {

using asio_udp = boost::asio::ip::udp;
namespace asio = boost::asio;
constexpr std::size_t max_datagram = 65507;

std::string endpoint_text(const asio_udp::endpoint& ep) {
  const auto a = ep.address();
  return a.is_v6() ? fmt::format("[{}]:{}", a.to_string(), ep.port()) : fmt::format("{}:{}", a.to_string(), ep.port());
}

awaitable<void> send_one(asio_udp::socket& socket, std::string_view data, const std::string& where) {
  if (data.size() > max_datagram)
    throw core::error(core::errc::failure, "write", where,
                      fmt::format("a message of {} bytes is over the UDP maximum of {}", data.size(), max_datagram));
  auto [ec, n] = co_await socket.async_send(asio::buffer(data), asio::as_tuple(asio::use_awaitable));
  if (ec) throw core::error(ec, "write", where);
}

// Replies on the connected socket, printed as they come; ICMP "port
// unreachable" surfaces as ECONNREFUSED and is only logged.
awaitable<void> receive_replies(core::run_context& ctx, asio_udp::socket& socket, const std::string& where, bool binary) {
  std::string buffer(65536, '\0');
  for (;;) {
    auto [ec, n] = co_await socket.async_receive(asio::buffer(buffer), asio::as_tuple(asio::use_awaitable));
    if (ec == asio::error::operation_aborted) co_await core::throw_if_cancelled();
    if (ec == asio::error::connection_refused) {
      core::log::info("{}: port unreachable", where);
      continue;
    }
    if (ec) throw core::error(ec, "read", where);
    print_datagram(ctx, std::string_view(buffer.data(), n), where, binary);
  }
}

awaitable<void> send_all(core::run_context& ctx, asio_udp::socket& socket, const send_args& args, const std::string& where) {
  std::size_t sent = 0;
  auto pace = [&]() -> awaitable<void> {
    if (sent++ > 0 && args.interval.count() > 0) co_await core::sleep_for(args.interval);
  };
  if (args.message) {
    for (std::size_t i = 0; i < args.count; ++i) {
      co_await pace();
      co_await send_one(socket, *args.message, where);
    }
  } else if (args.binary) {
    core::stdin_reader in(ctx.executor());
    core::chunk_reader chunks(in, max_datagram);
    while (auto chunk = co_await chunks.next()) {
      co_await pace();
      co_await send_one(socket, *chunk, where);
    }
  } else {
    core::stdin_reader in(ctx.executor());
    core::line_reader lines(in, max_datagram);
    while (auto line = co_await lines.next()) {
      co_await pace();
      co_await send_one(socket, *line, where);
    }
  }
  core::log::info("sent {} datagram{} to {}", sent, sent == 1 ? "" : "s", where);
}

void set_ttl(asio_udp::socket& socket, int ttl) {
  boost::system::error_code ec;
  socket.set_option(asio::ip::unicast::hops(ttl), ec);
  socket.set_option(asio::ip::multicast::hops(ttl), ec);
}

}  // namespace

void print_datagram(core::run_context& ctx, std::string_view data, const std::string& from, bool binary) {
  if (ctx.json()) {
    boost::json::object ev{{"from", from}, {"size", data.size()}};
    core::add_payload(ev, data);
    ctx.out().line(boost::json::serialize(ev));
  } else if (binary) {
    ctx.out().write(data);
  } else {
    ctx.out().line(data);
  }
}

awaitable<int> run_send(core::run_context& ctx, const send_args& args) {
  const auto port = *core::parse_port(args.port);
  const auto endpoints = co_await core::resolve(args.host, port, args.connect);
  const asio_udp::endpoint to(endpoints.front().address(), port);
  const auto where = endpoint_text(to);
  asio_udp::socket socket(ctx.executor(), to.protocol());
  if (args.broadcast) socket.set_option(asio::socket_base::broadcast(true));
  if (args.ttl) set_ttl(socket, *args.ttl);
  boost::system::error_code ec;
  socket.connect(to, ec);
  if (ec) throw core::error(ec, "connect", where);
  if (!args.wait_reply) {
    co_await send_all(ctx, socket, args, where);
    co_return 0;
  }
  // Replies are printed while sending, and until --wait-reply after it.
  auto sending = [&]() -> awaitable<void> {
    co_await send_all(ctx, socket, args, where);
    co_await core::sleep_for(*args.wait_reply);
  };
  co_await core::first_of(sending(), receive_replies(ctx, socket, where, args.binary));
  co_return 0;
}

namespace {

asio_udp::socket open_listener(core::run_context& ctx, const listen_args& args, std::uint16_t& port) {
  auto bind = args.listen.bind;
  if (args.listen.family == AF_INET6 && bind == "127.0.0.1") bind = "::1";
  boost::system::error_code ec;
  const auto interface = asio::ip::make_address(bind, ec);
  if (ec) throw core::error(core::errc::usage, "option", "--bind", fmt::format("'{}' is not an IP address", bind));
  asio::ip::address local = interface;
  asio::ip::address group;
  if (!args.multicast.empty()) {
    group = asio::ip::make_address(args.multicast, ec);
    if (ec || !group.is_multicast())
      throw core::error(core::errc::usage, "option", "--multicast", fmt::format("'{}' is not a multicast group", args.multicast));
    local = group;  // Linux delivers group traffic to sockets bound to the group
  }
  asio_udp::socket socket(ctx.executor());
  const asio_udp::endpoint ep(local, args.listen.port);
  socket.open(ep.protocol(), ec);
  if (!ec && !args.multicast.empty()) socket.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) socket.bind(ep, ec);
  if (ec) throw core::error(ec, "bind", endpoint_text(ep));
  if (!args.multicast.empty()) {
    if (group.is_v4()) socket.set_option(asio::ip::multicast::join_group(group.to_v4(), interface.to_v4()), ec);
    else socket.set_option(asio::ip::multicast::join_group(group.to_v6()), ec);
    if (ec) throw core::error(ec, "bind", args.multicast, "cannot join the multicast group: " + ec.message());
    core::log::info("joined multicast group {} on {}", args.multicast, bind);
  }
  port = socket.local_endpoint().port();
  core::announce_listening(ctx.out(), ctx.json(), local.to_string(), port, args.listen.port_file);
  return socket;
}

awaitable<void> receive_loop(core::run_context& ctx, asio_udp::socket& socket, const listen_args& args, std::size_t& received) {
  std::string buffer(65536, '\0');
  asio_udp::endpoint from;
  while (!args.count || received < *args.count) {
    auto [ec, n] = co_await socket.async_receive_from(asio::buffer(buffer), from, asio::as_tuple(asio::use_awaitable));
    if (ec == asio::error::operation_aborted) co_await core::throw_if_cancelled();
    if (ec) {
      core::log::debug("receive: {}", ec.message());
      continue;
    }
    ++received;
    const std::string_view data(buffer.data(), n);
    print_datagram(ctx, data, endpoint_text(from), args.binary);
    if (args.echo) {
      auto [sec, sent] = co_await socket.async_send_to(asio::buffer(data), from, asio::as_tuple(asio::use_awaitable));
      if (sec) core::log::warn("echo to {}: {}", endpoint_text(from), sec.message());
    }
  }
}

}  // namespace

awaitable<int> run_listen(core::run_context& ctx, const listen_args& args) {
  std::uint16_t port = 0;
  auto socket = open_listener(ctx, args, port);
  std::size_t received = 0;
  if (!args.limit) {
    co_await receive_loop(ctx, socket, args, received);
    co_return 0;
  }
  try {
    co_await core::with_timeout(receive_loop(ctx, socket, args, received), *args.limit, "timeout");
  } catch (const core::error& e) {
    if (e.code() != core::errc::timed_out) throw;
    throw core::error(core::errc::nothing_available, "timeout", {},
                      fmt::format("{} of {} datagrams before --timeout {}", received, *args.count,
                                  core::format_duration(*args.limit)));
  }
  co_return 0;
}

}  // namespace nettool::udp
