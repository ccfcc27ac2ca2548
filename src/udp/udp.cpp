// udp send and udp listen.
#include "udp.hpp"

#include "nettool/core/buffer.hpp"
#include "nettool/core/expect.hpp"
#include "nettool/core/framing.hpp"
#include "nettool/core/log.hpp"
#include "nettool/core/events.hpp"
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
    throw core::error(core::errc::failure, core::phase::write, where,
                      fmt::format("a message of {} bytes is over the UDP maximum of {}", data.size(), max_datagram));
  auto [ec, n] = co_await socket.async_send(asio::buffer(data), asio::as_tuple(asio::use_awaitable));
  if (ec) throw core::error(ec, core::phase::write, where);
}

// Replies on the connected socket, printed as they come; ICMP "port
// unreachable" surfaces as ECONNREFUSED and is only logged.
// Ends at a match of `expect`, or after `count` replies.
awaitable<void> receive_replies(core::run_context& ctx, asio_udp::socket& socket, const std::string& where, bool binary,
                                core::expectation* expect, std::optional<std::uint64_t> count, bool& matched) {
  core::io_buffer buffer(65536);
  for (std::uint64_t received = 0; !count || received < *count; ++received) {
    auto [ec, n] = co_await socket.async_receive(buffer.space(), asio::as_tuple(asio::use_awaitable));
    if (ec == asio::error::operation_aborted) co_await core::throw_if_cancelled();
    if (ec == asio::error::connection_refused) {
      core::log::info("{}: port unreachable", where);
      continue;
    }
    if (ec) throw core::error(ec, core::phase::read, where);
    print_datagram(ctx, std::string_view(buffer.data(), n), where, binary);
    ctx.out().flush();
    if (expect && expect->message(std::string_view(buffer.data(), n))) {
      matched = true;
      co_return;
    }
  }
}

awaitable<void> send_all(core::run_context& ctx, asio_udp::socket& socket, const send_args& args, const std::string& where) {
  std::size_t sent = 0;
  auto pace = [&]() -> awaitable<void> {
    if (sent++ > 0 && args.interval.count() > 0) co_await core::sleep_for(args.interval);
  };
  auto send_repeated = [&](std::string_view message) -> awaitable<void> {
    for (std::size_t i = 0; i < args.repeat; ++i) {
      co_await pace();
      co_await send_one(socket, message, where);
    }
  };
  core::message_source source(ctx.executor(), args.send, args.binary, max_datagram);
  for (;;) {
    const auto message = co_await source.next();
    if (!message) break;
    co_await send_repeated(*message);
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
    auto ev = core::data_event(data);  // the one data event, with the datagram's source and size
    ev["from"] = from;
    ev["size"] = data.size();
    ctx.out().buffer(core::to_json(ev));
    ctx.out().buffer("\n");
  } else if (binary) {
    ctx.out().buffer(data);
    return;
  } else {
    // `echo hi | nc -u` sends "hi\n": the line end is not part of the message.
    if (!data.empty() && data.back() == '\n') data.remove_suffix(1);
    if (!data.empty() && data.back() == '\r') data.remove_suffix(1);
    ctx.out().buffer(data);
    ctx.out().buffer("\n");
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
  if (ec == boost::system::errc::permission_denied && !args.broadcast)
    throw core::error(core::errc::usage, core::phase::connect, where, "a broadcast address needs --broadcast");
  if (ec) throw core::error(ec, core::phase::connect, where);
  if (!args.wait_reply) {
    co_await send_all(ctx, socket, args, where);
    co_return 0;
  }
  // Replies are printed while sending, and until --wait-reply after it.
  auto sending = [&]() -> awaitable<void> {
    co_await send_all(ctx, socket, args, where);
    co_await core::sleep_for(*args.wait_reply);
  };
  std::optional<core::expectation> expect;
  if (!args.expect.empty()) expect.emplace(args.expect);
  core::expectation* const wanted = expect ? &*expect : nullptr;
  bool matched = false;
  co_await core::first_of(sending(), receive_replies(ctx, socket, where, args.binary, wanted, args.count, matched));
  if (expect && !matched) expect->fail();
  co_return 0;
}

namespace {

// Default buffers (208 KiB) overflow under a burst of small datagrams;
// as root, SO_RCVBUFFORCE passes net.core.rmem_max.
void enlarge_receive_buffer(asio_udp::socket& socket) {
  // Default buffers (208 KiB) overflow under a burst of small datagrams;
  // as root, SO_RCVBUFFORCE passes net.core.rmem_max.
  const int want = 8 * 1024 * 1024;
  if (::setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVBUFFORCE, &want, sizeof want) != 0)
    ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVBUF, &want, sizeof want);
}

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
  if (ec) throw core::error(ec, core::phase::bind, endpoint_text(ep));
  enlarge_receive_buffer(socket);
  if (!args.multicast.empty()) {
    if (group.is_v4()) socket.set_option(asio::ip::multicast::join_group(group.to_v4(), interface.to_v4()), ec);
    else socket.set_option(asio::ip::multicast::join_group(group.to_v6()), ec);
    if (ec) throw core::error(ec, core::phase::bind, args.multicast, "cannot join the multicast group: " + ec.message());
    core::log::info("joined multicast group {} on {}", args.multicast, bind);
  }
  port = socket.local_endpoint().port();
  core::announce_listening(ctx.out(), ctx.json(), local.to_string(), port, args.listen.port_file);
  return socket;
}

// Bursts are drained without waiting and printed with one write, so a fast
// sender is not outrun by a syscall per datagram. A burst is cut after
// `burst_limit` datagrams: a flood that never pauses must neither grow the
// output buffer without bound nor keep the event loop (signals, --timeout)
// from running.
constexpr std::size_t burst_limit = 256;
awaitable<void> receive_loop(core::run_context& ctx, asio_udp::socket& socket, const listen_args& args, std::size_t& received,
                             core::expectation* expect, bool& matched) {
  core::io_buffer buffer(65536);
  asio_udp::endpoint from;
  socket.non_blocking(true);
  while (!args.count || received < *args.count) {
    auto [ec, n] = co_await socket.async_receive_from(buffer.space(), from, asio::as_tuple(asio::use_awaitable));
    for (std::size_t burst = 1;; ++burst) {
      if (ec == asio::error::operation_aborted) co_await core::throw_if_cancelled();
      if (ec == asio::error::would_block) break;
      if (!ec) {
        ++received;
        const std::string_view data(buffer.data(), n);
        print_datagram(ctx, data, endpoint_text(from), args.binary);
        if (expect && expect->message(data)) {
          matched = true;
          ctx.out().flush();
          co_return;
        }
        if (args.echo) {
          boost::system::error_code sec;
          socket.send_to(asio::buffer(data), from, 0, sec);
          if (sec == asio::error::would_block) {
            std::tie(sec, std::ignore) =
                co_await socket.async_send_to(asio::buffer(data), from, asio::as_tuple(asio::use_awaitable));
          }
          if (sec) core::log::warn("echo to {}: {}", endpoint_text(from), sec.message());
        }
      } else {
        core::log::debug("receive: {}", ec.message());
      }
      if (args.count && received >= *args.count) break;
      if (burst == burst_limit) break;  // before taking another: the next wait picks it up
      n = socket.receive_from(buffer.space(), from, 0, ec);
    }
    ctx.out().flush();
  }
}


}  // namespace

awaitable<int> run_listen(core::run_context& ctx, const listen_args& args) {
  std::uint16_t port = 0;
  auto socket = open_listener(ctx, args, port);
  std::size_t received = 0;
  std::optional<core::expectation> expect;
  if (!args.expect.empty()) expect.emplace(args.expect);
  core::expectation* const wanted = expect ? &*expect : nullptr;
  bool matched = false;
  if (!args.limit) {
    co_await receive_loop(ctx, socket, args, received, wanted, matched);
    if (expect && !matched) expect->fail();
    co_return 0;
  }
  try {
    co_await core::with_timeout(receive_loop(ctx, socket, args, received, wanted, matched), *args.limit, core::phase::timeout);
    if (expect && !matched) expect->fail();
  } catch (const core::error& e) {
    if (e.code() != core::errc::timed_out) throw;
    throw core::error(core::errc::nothing_available, core::phase::timeout, {},
                      fmt::format("{} of {} datagrams before --timeout {}", received, *args.count,
                                  core::format_duration(*args.limit)));
  }
  co_return 0;
}

}  // namespace nettool::udp
