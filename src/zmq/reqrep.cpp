// req and rep: one request, one reply, in lockstep. A REQ socket whose reply
// never comes is stuck (it refuses to send again), so a request that times
// out is retried on a new socket: the lazy pirate of the ZeroMQ guide.
#include "socket.hpp"

#include "nettool/core/error.hpp"
#include "nettool/core/expect.hpp"
#include "nettool/core/framing.hpp"
#include "nettool/core/log.hpp"
#include "nettool/core/output.hpp"
#include "nettool/core/process.hpp"

namespace nettool::zmq {
namespace {

constexpr std::size_t max_exec_output = 64 * 1024 * 1024;

// One request until its reply, with --timeout per attempt and --retries
// new sockets. Returns the reply.
awaitable<message> ask(core::run_context& ctx, ::zmq::context_t& context, std::unique_ptr<async_socket>& socket,
                       const frame_views& request, const socket_args& args) {
  const int attempts = 1 + args.timeouts.retry.retries;
  for (int attempt = 1;; ++attempt) {
    co_await socket->send(request);
    if (!args.reply_timeout) co_return co_await socket->receive();
    bool timed_out = false;
    std::optional<message> reply;
    try {
      reply = co_await core::with_timeout(socket->receive(), *args.reply_timeout, "reply",
                                          args.connect.empty() ? args.bind.front() : args.connect.front());
    } catch (const core::error& e) {
      if (e.code() != core::errc::timed_out || attempt == attempts) throw;
      timed_out = true;
    }
    if (!timed_out) co_return std::move(*reply);
    core::log::info("no reply within {}: a new socket, and the request again ({} of {})",
                    core::format_duration(*args.reply_timeout), attempt + 1, attempts);
    // The stuck socket goes at once: its request is not sent twice.
    socket->raw().set(::zmq::sockopt::linger, 0);
    socket.reset();
    socket = open_socket(context, args, ctx.executor());
  }
}

// The reply to one request: the output of --exec, or the next stdin line
// (nullopt at the end of stdin).
awaitable<std::optional<std::string>> answer(const message& request, const socket_args& args,
                                             core::line_reader* replies) {
  if (!args.exec.empty()) {
    auto result = co_await core::run_filter(args.exec, {}, joined(request, args.frame_sep) + "\n", max_exec_output);
    if (result.status != 0) core::log::warn("--exec: '{}' exited with {}", args.exec, result.status);
    // One line in, one line out: the line end is not part of the reply.
    if (!result.output.empty() && result.output.back() == '\n') result.output.pop_back();
    co_return std::move(result.output);
  }
  co_return co_await replies->next();
}

// The next request, or nullopt once stdin (the answers) ended with no line
// left: rep answering from stdin exits at its end, not at the next request.
awaitable<std::optional<message>> request_or_end_of_input(async_socket& socket, core::line_reader& replies) {
  std::optional<message> request;
  auto receive = [&]() -> awaitable<void> { request = co_await socket.receive(); };
  auto input_ended = [&]() -> awaitable<void> {
    const bool more = co_await replies.ready();
    if (more) {
      core::event never(co_await core::asio::this_coro::executor);
      co_await never.wait();  // an answer is there: wait for the request
    }
  };
  co_await core::first_of(receive(), input_ended());
  co_return request;
}

}  // namespace

awaitable<int> run_req(core::run_context& ctx, const socket_args& args) {
  auto context = std::make_shared<::zmq::context_t>(1);
  auto socket = open_socket(*context, args, ctx.executor());
  std::uint64_t answered = 0;
  auto input = open_input(ctx, args);
  frame_views request;
  std::optional<core::expectation> expect;
  if (!args.expect.empty()) expect.emplace(args.expect);
  bool matched = false;
  while (const auto line = co_await input.next()) {
    to_frames(*line, args, request);
    const auto reply = co_await ask(ctx, *context, socket, request, args);
    print_message(ctx, reply, args);
    ctx.out().flush();
    if (expect && expect->message(joined(reply, args.frame_sep))) {
      matched = true;
      break;
    }
    if (args.count && ++answered >= *args.count) break;
  }
  socket->raw().set(::zmq::sockopt::linger, 0);  // every request has its reply
  if (expect && !matched) expect->fail();
  co_return 0;
}

awaitable<int> run_rep(core::run_context& ctx, const socket_args& args) {
  auto context = std::make_shared<::zmq::context_t>(1);
  auto socket = open_socket(*context, args, ctx.executor());
  // Interactive: each request is printed and the next stdin line answers it.
  std::optional<core::stdin_reader> in;
  std::optional<core::line_reader> replies;
  if (!args.echo && args.exec.empty()) {
    in.emplace(ctx.executor());
    replies.emplace(*in);
  }
  for (std::uint64_t answered = 0; !args.count || answered < *args.count; ++answered) {
    std::optional<message> next;
    if (replies) {
      next = co_await request_or_end_of_input(*socket, *replies);
      if (!next) break;  // stdin ended: no more answers
    } else {
      next = co_await socket->receive();
    }
    const auto& request = *next;
    if (replies) {
      print_message(ctx, request, args);
      ctx.out().flush();
    }
    if (args.echo) {
      co_await socket->send(request);  // every frame as it came
      continue;
    }
    auto reply = co_await answer(request, args, replies ? &*replies : nullptr);
    if (!reply) break;  // stdin ended: no more answers
    frame_views reply_frames;
    to_frames(*reply, args, reply_frames);
    co_await socket->send(reply_frames);
  }
  co_await close_lingering(std::move(socket), std::move(context));  // the last reply leaves
  co_return 0;
}

}  // namespace nettool::zmq
