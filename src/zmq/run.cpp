// The socket verbs: lines (or --send texts) become messages, received
// messages become lines, over one libzmq socket.
#include "socket.hpp"
#include "zmq.hpp"

#include "nettool/core/error.hpp"
#include "nettool/core/framing.hpp"
#include "nettool/core/log.hpp"
#include "nettool/core/output.hpp"

#include <boost/json.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>

namespace nettool::zmq {
namespace {

using namespace std::chrono;

constexpr std::size_t max_chunk = 64 * 1024;  // --binary: one message per chunk of stdin

bool sends(kind k) { return k != kind::sub && k != kind::pull; }
bool receives(kind k) { return k != kind::pub && k != kind::push; }

::zmq::socket_type socket_type_of(const socket_args& args) {
  switch (args.type) {
    // PUB is XPUB underneath: subscriptions can be counted, and
    // ZMQ_XPUB_NODROP makes a full subscriber slow us down instead of
    // losing messages.
    case kind::pub: return ::zmq::socket_type::xpub;
    case kind::sub: return ::zmq::socket_type::sub;
    case kind::push: return ::zmq::socket_type::push;
    case kind::pull: return ::zmq::socket_type::pull;
    case kind::req: return ::zmq::socket_type::req;
    case kind::rep: return ::zmq::socket_type::rep;
    case kind::dealer: return ::zmq::socket_type::dealer;
    case kind::router: return ::zmq::socket_type::router;
    case kind::pair: return ::zmq::socket_type::pair;
  }
  return ::zmq::socket_type::pair;
}

int milliseconds_of(core::duration d) { return static_cast<int>(duration_cast<milliseconds>(d).count()); }

void configure(::zmq::socket_t& s, const socket_args& args) {
  s.set(::zmq::sockopt::linger, milliseconds_of(args.linger));
  s.set(::zmq::sockopt::connect_timeout, milliseconds_of(args.timeouts.connect_timeout));
  s.set(::zmq::sockopt::reconnect_ivl, milliseconds_of(args.timeouts.retry.first_delay));
  s.set(::zmq::sockopt::reconnect_ivl_max, milliseconds_of(args.timeouts.retry.max_delay));
  if (args.hwm) {
    s.set(::zmq::sockopt::sndhwm, *args.hwm);
    s.set(::zmq::sockopt::rcvhwm, *args.hwm);
  }
  if (args.identity) s.set(::zmq::sockopt::routing_id, *args.identity);
  // A line for a peer that is not connected is an error, not a silent drop.
  if (args.type == kind::router) s.set(::zmq::sockopt::router_mandatory, 1);
  if (args.type == kind::pub) {
    s.set(::zmq::sockopt::xpub_nodrop, !args.drop);
    // Every subscription is passed up, also a second one to the same topic,
    // so --wait-subscribers counts subscribers, not distinct topics.
    if (args.wait_subscribers) s.set(::zmq::sockopt::xpub_verbose, 1);
  }
  if (args.type == kind::sub) {
    if (args.subscribe.empty()) s.set(::zmq::sockopt::subscribe, "");
    for (const auto& topic : args.subscribe) s.set(::zmq::sockopt::subscribe, topic);
  }
}

void attach(::zmq::socket_t& s, const socket_args& args) {
  for (const auto& ep : args.bind) {
    try {
      s.bind(ep);
    } catch (const ::zmq::error_t& e) {
      throw core::error(core::error_code(e.num(), boost::system::system_category()), "bind", ep);
    }
    core::log::info("bound {}", s.get(::zmq::sockopt::last_endpoint));
  }
  for (const auto& ep : args.connect) {
    try {
      s.connect(ep);
    } catch (const ::zmq::error_t& e) {
      throw core::error(core::errc::usage, "connect", ep, e.what());
    }
    core::log::info("connecting to {}", ep);
  }
}

std::vector<std::string> split(std::string_view line, std::string_view sep) {
  std::vector<std::string> frames;
  for (;;) {
    const auto at = line.find(sep);
    if (at == std::string_view::npos) break;
    frames.emplace_back(line.substr(0, at));
    line.remove_prefix(at + sep.size());
  }
  frames.emplace_back(line);
  return frames;
}

// A line as a message: split on --frame-sep with --multipart; a ROUTER's
// line always starts with the identity it goes to.
message to_message(std::string_view line, const socket_args& args) {
  if (args.multipart) return split(line, args.frame_sep);
  if (args.type == kind::router) {
    const auto at = line.find(args.frame_sep);
    if (at == std::string_view::npos)
      throw core::error(core::errc::usage, "send", "router",
                        "a line for a ROUTER starts with the identity it goes to, then --frame-sep");
    return {std::string(line.substr(0, at)), std::string(line.substr(at + args.frame_sep.size()))};
  }
  return {std::string(line)};
}

void print(core::run_context& ctx, const message& msg, const socket_args& args) {
  auto& out = ctx.out();
  if (ctx.json()) {
    boost::json::array frames;
    for (const auto& f : msg) {
      if (core::is_valid_utf8(f)) frames.emplace_back(f);
      else frames.emplace_back(boost::json::object{{"data_base64", core::base64_encode(f)}});
    }
    out.buffer(boost::json::serialize(boost::json::object{{"frames", std::move(frames)}}));
  } else {
    for (std::size_t i = 0; i < msg.size(); ++i) {
      if (i) out.buffer(args.frame_sep);
      out.buffer(msg[i]);
    }
  }
  out.buffer("\n");
}

// Receiving stops after --count messages (when the verb only receives, or
// when --count is given); otherwise it runs until a signal or --timeout.
awaitable<void> receive_loop(core::run_context& ctx, async_socket& socket, const socket_args& args) {
  std::uint64_t received = 0;
  message msg;
  for (;;) {
    // Drain what is there, then flush once: one write for many messages.
    while (socket.try_receive(msg)) {
      print(ctx, msg, args);
      if (args.count && ++received >= *args.count) {
        ctx.out().flush();
        co_return;
      }
    }
    ctx.out().flush();
    msg = co_await socket.receive();
    print(ctx, msg, args);
    if (args.count && ++received >= *args.count) {
      ctx.out().flush();
      co_return;
    }
  }
}

// XPUB hands us subscriptions as messages: "\x01topic" subscribes.
awaitable<void> wait_for_subscribers(async_socket& socket, int wanted) {
  int seen = 0;
  core::log::info("waiting for {} subscriber{}", wanted, wanted == 1 ? "" : "s");
  while (seen < wanted) {
    const auto msg = co_await socket.receive();
    if (!msg.empty() && !msg.front().empty() && msg.front()[0] == 1) {
      ++seen;
      core::log::info("subscription {} of {}: '{}'", seen, wanted, msg.front().substr(1));
    }
  }
}

awaitable<void> send_loop(core::run_context& ctx, async_socket& socket, const socket_args& args) {
  std::uint64_t sent = 0;
  const bool limited = args.count && !receives(args.type);
  auto send_one = [&](std::string_view line) -> awaitable<bool> {
    co_await socket.send(to_message(line, args));
    if (args.type == kind::pub) {
      message ignored;  // later subscriptions: read so they do not pile up
      while (socket.try_receive(ignored)) {
      }
    }
    co_return !(limited && ++sent >= *args.count);
  };
  if (!args.send.empty()) {
    for (const auto& text : args.send)
      if (!co_await send_one(text)) break;
  } else if (args.binary) {
    core::stdin_reader in(ctx.executor());
    core::chunk_reader chunks(in, max_chunk);
    while (auto chunk = co_await chunks.next())
      if (!co_await send_one(*chunk)) break;
  } else {
    core::stdin_reader in(ctx.executor());
    core::line_reader lines(in);
    while (auto line = co_await lines.next())
      if (!co_await send_one(*line)) break;
  }
  core::log::info("end of input");
}

// Closing waits up to --linger for queued messages to leave, inside
// zmq_ctx_term, which blocks: that runs on a thread of its own, watched from
// here, so SIGINT still ends the program at once. The thread shares nothing
// with the io_context.
awaitable<void> close_lingering(std::unique_ptr<async_socket> socket, std::shared_ptr<::zmq::context_t> context) {
  auto done = std::make_shared<std::atomic<bool>>(false);
  ::zmq::socket_t raw = std::move(socket->raw());
  socket.reset();  // stops watching its ZMQ_FD, here on the io_context's thread
  std::thread([done, raw = std::move(raw), context = std::move(context)]() mutable {
    raw.close();
    context->close();
    *done = true;
  }).detach();
  while (!*done) co_await core::sleep_for(milliseconds(1));
}

}  // namespace

awaitable<int> run_socket(core::run_context& ctx, const socket_args& args) {
  auto context = std::make_shared<::zmq::context_t>(1);
  std::unique_ptr<async_socket> socket;
  try {
    socket = std::make_unique<async_socket>(*context, socket_type_of(args), ctx.executor());
    configure(socket->raw(), args);
    attach(socket->raw(), args);
  } catch (const ::zmq::error_t& e) {
    throw core::error(core::errc::usage, "socket", "zmq", e.what());
  }
  if (args.type == kind::pub && args.wait_subscribers) co_await wait_for_subscribers(*socket, *args.wait_subscribers);

  if (sends(args.type) && receives(args.type)) {
    // Both ways (pair, dealer, router): what arrives is printed while stdin
    // is sent; after the end of input, until --count or a signal.
    auto sending = [&]() -> awaitable<void> {
      co_await send_loop(ctx, *socket, args);
      core::event never(ctx.executor());
      co_await never.wait();  // keep receiving
    };
    co_await core::first_of(sending(), receive_loop(ctx, *socket, args));
  } else if (sends(args.type)) {
    co_await send_loop(ctx, *socket, args);
  } else {
    co_await receive_loop(ctx, *socket, args);
  }
  if (!sends(args.type)) socket->raw().set(::zmq::sockopt::linger, 0);  // nothing of ours is queued
  co_await close_lingering(std::move(socket), std::move(context));
  co_return 0;
}

}  // namespace nettool::zmq
