// The socket verbs: lines (or --send texts) become messages, received
// messages become lines, over one libzmq socket.
#include "socket.hpp"
#include "zmq.hpp"

#include "nettool/core/error.hpp"
#include "nettool/core/expect.hpp"
#include "nettool/core/log.hpp"
#include "nettool/core/output.hpp"

#include <chrono>
#include <memory>

namespace nettool::zmq {
namespace {

using namespace std::chrono;

bool sends(kind k) { return k != kind::sub && k != kind::pull; }
bool receives(kind k) { return k != kind::pub && k != kind::push; }

// What the receive loop has seen: --count and --expect end it.
struct receive_state {
  explicit receive_state(const socket_args& args) {
    if (!args.expect.empty()) expect.emplace(args.expect);
  }
  std::uint64_t received = 0;
  std::optional<core::expectation> expect;
  bool matched = false;
};

// Prints one message; true once the loop is done (--count reached, or
// --expect matched the message, its frames joined by --frame-sep).
bool take(core::run_context& ctx, const message& msg, const socket_args& args, receive_state& state) {
  print_message(ctx, msg, args);
  if (state.expect && state.expect->message(joined(msg, args.frame_sep))) {
    state.matched = true;
    return true;
  }
  return args.count && ++state.received >= *args.count;
}

// Receiving stops after --count messages (when the verb only receives, or
// when --count is given) or at an --expect match; otherwise it runs until a
// signal or --timeout. --count reached without the match: exit 10.
awaitable<void> receive_loop(core::run_context& ctx, async_socket& socket, const socket_args& args) {
  receive_state state(args);
  message msg;
  bool done = false;
  while (!done) {
    // Drain what is there, then flush once: one write for many messages.
    while (!done && socket.try_receive(msg)) done = take(ctx, msg, args, state);
    ctx.out().flush();
    if (done) break;
    msg = co_await socket.receive();
    done = take(ctx, msg, args, state);
  }
  ctx.out().flush();
  if (state.expect && !state.matched) state.expect->fail();
}

// XPUB hands later subscriptions to us as messages: read them so they do
// not pile up.
void drop_subscriptions(async_socket& socket) {
  message ignored;
  while (socket.try_receive(ignored)) {
  }
}

// The hot path: lines already read are cut into frames and queued without
// suspending; only an empty input buffer or a full socket waits.
awaitable<void> send_loop(core::run_context& ctx, async_socket& socket, const socket_args& args, std::uint64_t& sent) {
  const bool limited = args.count && !receives(args.type);
  auto input = open_input(ctx, args);
  frame_views msg;
  for (;;) {
    while (const auto line = input.try_next()) {
      to_frames(*line, args, msg);
      if (!socket.try_send(msg)) co_await socket.send(msg);
      ++sent;
      if (limited && sent >= *args.count) co_return;
    }
    // Once per input batch, not per message: a receive that finds nothing
    // still costs libzmq a poll(2) of its mailbox.
    if (args.type == kind::pub) drop_subscriptions(socket);
    const bool more = co_await input.fill();
    if (!more) break;
  }
  core::log::info("end of input");
}

std::string endpoints_of(const socket_args& args) {
  std::string out;
  for (const auto* list : {&args.connect, &args.bind})
    for (const auto& ep : *list) out += (out.empty() ? "" : ",") + ep;
  return out;
}

}  // namespace

awaitable<int> run_socket(core::run_context& ctx, const socket_args& args) {
  auto context = std::make_shared<::zmq::context_t>(1);
  auto socket = open_socket(*context, args, ctx.executor());
  if (args.type == kind::pub && args.wait_subscribers) co_await wait_for_subscribers(*socket, *args.wait_subscribers);
  std::uint64_t sent = 0;

  if (sends(args.type) && receives(args.type)) {
    // Both ways (pair, dealer, router): what arrives is printed while stdin
    // is sent; after the end of input, until --count or a signal.
    auto sending = [&]() -> awaitable<void> {
      co_await send_loop(ctx, *socket, args, sent);
      core::event never(ctx.executor());
      co_await never.wait();  // keep receiving
    };
    co_await core::first_of(sending(), receive_loop(ctx, *socket, args));
  } else if (sends(args.type)) {
    co_await send_loop(ctx, *socket, args, sent);
  } else {
    co_await receive_loop(ctx, *socket, args);
  }
  if (!sends(args.type)) socket->raw().set(::zmq::sockopt::linger, 0);  // nothing of ours is queued
  const bool delivered = co_await close_lingering(std::move(socket), std::move(context));
  // SPEC §1 exit 9: a script must never believe a message left when it
  // did not (a push with no peer used to exit 0 after its linger).
  if (!delivered && sent > 0)
    throw core::error(core::errc::nothing_available, "send", endpoints_of(args),
                      fmt::format("undelivered: messages were still queued when --linger {} ran out and were dropped "
                                  "(no peer took them; {} sent in all)",
                                  core::format_duration(args.linger), sent));
  co_return 0;
}

}  // namespace nettool::zmq
