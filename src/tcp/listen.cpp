// tcp listen: stdio, echo, discard, exec, broker and chat servers.
#include "tcp.hpp"

#include "exec.hpp"

#include "nettool/core/buffer.hpp"
#include "nettool/core/events.hpp"
#include "nettool/core/hub.hpp"
#include "nettool/core/log.hpp"
#include "nettool/core/output.hpp"

#include <chrono>

namespace nettool::tcp {
namespace {

using core::connection;
using clock = std::chrono::steady_clock;

awaitable<void> maybe_idle(awaitable<void> work, const clock::time_point& touched, const listen_args& args) {
  if (args.timeouts.idle_timeout) co_await core::first_of(std::move(work), core::idle_watchdog(touched, *args.timeouts.idle_timeout));
  else co_await std::move(work);
}

awaitable<void> echo_loop(connection& conn, clock::time_point& touched) {
  core::io_buffer buffer(64 * 1024);
  for (;;) {
    const auto n = co_await conn.read_some(buffer.space());
    touched = clock::now();
    if (n == 0) break;
    co_await conn.write(buffer.first(n));
  }
  co_await conn.shutdown_send();
}

awaitable<void> discard_loop(connection& conn, clock::time_point& touched) {
  core::io_buffer buffer(256 * 1024);
  while (co_await conn.read_some(buffer.space()) > 0) touched = clock::now();
  co_await conn.shutdown_send();
}

awaitable<void> serve_echo(connection conn, const listen_args& args) {
  conn.set_write_stall_limit(args.send_timeout);
  auto touched = clock::now();
  co_await maybe_idle(echo_loop(conn, touched), touched, args);
}

awaitable<void> serve_discard(connection conn, const listen_args& args) {
  const auto start = clock::now();
  auto touched = start;
  co_await maybe_idle(discard_loop(conn, touched), touched, args);
  const double seconds = std::chrono::duration<double>(clock::now() - start).count();
  core::log::info("{}: discarded {} bytes in {:.3f}s ({}/s)", conn.peer(), conn.bytes_read(), seconds,
                  core::format_bytes(seconds > 0 ? static_cast<double>(conn.bytes_read()) / seconds : 0));
}

awaitable<void> serve_stdio(connection conn, core::run_context& ctx, const listen_args& args) {
  core::stdin_reader in(ctx.executor());
  co_await core::pump(conn, in, ctx.out(), args.pump);
}

awaitable<void> serve_exec(connection conn, const listen_args& args) {
  co_await exec_on_connection(conn, args.exec, args.pump);
}

// Lines for --chat: "<user3> text", as ncat --chat prints them.
class chat_lines {
 public:
  explicit chat_lines(std::uint64_t id) : prefix_(fmt::format("<user{}> ", id)) {}
  std::string feed(std::string_view data) {
    std::string out;
    for (char c : data) {
      partial_.push_back(c);
      if (c == '\n') {
        out += prefix_ + partial_;
        partial_.clear();
      }
    }
    if (partial_.size() > 64 * 1024) {  // bound a line that never ends
      out += prefix_ + partial_ + "\n";
      partial_.clear();
    }
    return out;
  }
  std::string flush() { return partial_.empty() ? std::string{} : prefix_ + std::exchange(partial_, {}) + "\n"; }

 private:
  std::string prefix_;
  std::string partial_;
};

awaitable<void> hub_reader(connection& conn, core::hub& hub, core::hub::member_ptr me, bool chat) {
  core::io_buffer buffer(64 * 1024);
  chat_lines lines(me->id);
  for (;;) {
    const auto n = co_await conn.read_some(buffer.space());
    if (n == 0) break;
    std::string data(buffer.data(), n);
    if (chat) data = lines.feed(data);
    if (!data.empty()) co_await hub.publish(me.get(), std::move(data));
  }
  if (chat) {
    auto rest = lines.flush();
    if (!rest.empty()) co_await hub.publish(me.get(), std::move(rest));
  }
  hub.leave(me);
}

awaitable<void> hub_writer(connection& conn, core::hub& hub, core::hub::member_ptr me) {
  while (auto chunk = co_await hub.next(me)) co_await conn.write(asio::buffer(*chunk));
  co_await conn.shutdown_send();
}

// Handlers own the hub too: during a graceful stop they outlive run_listen.
// A client that stops reading for --send-timeout fails its write and
// leaves; --chat tells the others either way.
awaitable<void> serve_broker(connection conn, std::shared_ptr<core::hub> shared, const listen_args& args) {
  auto& hub = *shared;
  auto me = hub.join();
  conn.set_write_stall_limit(args.send_timeout);
  if (args.chat) {
    co_await conn.write(asio::buffer(fmt::format("<announce> you are user{}; {} other{} here\n", me->id,
                                                 hub.size() - 1, hub.size() == 2 ? " is" : "s are")));
    co_await hub.publish(me.get(), fmt::format("<announce> {} is connected as user{}\n", conn.peer(), me->id));
  }
  std::exception_ptr failure;
  try {
    co_await core::both(hub_reader(conn, hub, me, args.chat), hub_writer(conn, hub, me));
  } catch (...) {
    failure = std::current_exception();
  }
  hub.leave(me);
  if (args.chat) co_await hub.publish(nullptr, fmt::format("<announce> user{} has left\n", me->id));
  if (failure) std::rethrow_exception(failure);
}

// listen -k without a mode: every client's data to stdout, stdin to every
// client (as ncat -k does). Once stdin has ended nothing more goes out, so
// a client that comes later is only read: no hub membership, no writer.
struct console {
  explicit console(const asio::any_io_executor& ex) : hub(ex) {}
  core::hub hub;
  bool stdin_ended = false;
};

awaitable<void> client_to_stdout(connection& conn, core::output& out, bool json) {
  core::io_buffer buffer(64 * 1024);
  for (;;) {
    const auto n = co_await conn.read_some(buffer.space());
    if (n == 0) break;
    if (json) out.line(core::to_json(core::data_event(std::string_view(buffer.data(), n))));
    else out.write(buffer.data(), n);
  }
}

awaitable<void> serve_console_client(connection conn, core::run_context& ctx, std::shared_ptr<console> shared,
                                     core::duration send_timeout) {
  if (shared->stdin_ended) {
    core::log::debug("{}: only read (stdin has ended)", conn.peer());
    co_await client_to_stdout(conn, ctx.out(), ctx.json());
    co_await conn.shutdown_send();
    co_return;
  }
  auto& hub = shared->hub;
  auto me = hub.join();
  conn.set_write_stall_limit(send_timeout);
  auto reader = [](connection& c, core::output& out, bool json, core::hub& h, core::hub::member_ptr m) -> awaitable<void> {
    co_await client_to_stdout(c, out, json);
    h.leave(m);
  };
  try {
    co_await core::both(reader(conn, ctx.out(), ctx.json(), hub, me), hub_writer(conn, hub, me));
  } catch (...) {
    hub.leave(me);
    throw;
  }
}

awaitable<void> stdin_to_clients(core::run_context& ctx, std::shared_ptr<console> shared) {
  core::stdin_reader in(ctx.executor());
  core::io_buffer buffer(64 * 1024);
  for (;;) {
    const auto n = co_await in.read_some(buffer.space());
    if (n == 0) break;
    co_await shared->hub.publish(nullptr, std::string(buffer.data(), n));
  }
  // stdin ended: the server goes on serving clients; nothing more to send.
  shared->stdin_ended = true;
  core::log::info("stdin ended: clients are only read from now on");
  asio::steady_timer forever(ctx.executor(), asio::steady_timer::time_point::max());
  co_await forever.async_wait(asio::use_awaitable);
}

}  // namespace

listen_mode listen_args::mode() const {
  if (echo) return listen_mode::echo;
  if (discard) return listen_mode::discard;
  if (!exec.empty()) return listen_mode::exec;
  if (broker) return listen_mode::broker;
  return listen_mode::stdio;
}

namespace {

// A plain function, not a coroutine: g++ 12 destroys locals declared in a
// switch inside a coroutine twice.
core::connection_handler handler_for(core::run_context& ctx, const listen_args& args) {
  switch (args.mode()) {
    case listen_mode::echo:
      return [&args](connection c) { return serve_echo(std::move(c), args); };
    case listen_mode::discard:
      return [&args](connection c) { return serve_discard(std::move(c), args); };
    case listen_mode::exec:
      return [&args](connection c) { return serve_exec(std::move(c), args); };
    case listen_mode::broker: {
      auto hub = std::make_shared<core::hub>(ctx.executor());
      return [&args, hub](connection c) { return serve_broker(std::move(c), hub, args); };
    }
    case listen_mode::stdio:
      break;
  }
  return [&ctx, &args](connection c) { return serve_stdio(std::move(c), ctx, args); };
}

// listen -k without a mode: clients to stdout, stdin to every client.
awaitable<void> serve_console(core::run_context& ctx, core::listener& listener, const core::serve_options& serving,
                              core::duration send_timeout) {
  auto shared = std::make_shared<console>(ctx.executor());
  core::connection_handler handler = [&ctx, shared, send_timeout](connection c) {
    return serve_console_client(std::move(c), ctx, shared, send_timeout);
  };
  // Named, not temporaries of the co_await expression (g++ 12, see
  // run_listen): the handler's shared state would be released twice.
  auto serving_clients = core::serve(listener, serving, ctx.connections(), std::move(handler));
  auto reading_stdin = stdin_to_clients(ctx, shared);
  auto both_ends = core::both(std::move(serving_clients), std::move(reading_stdin));
  co_await std::move(both_ends);
}

}  // namespace

awaitable<int> run_listen(core::run_context& ctx, const listen_args& args) {
  auto options = args.listen;
  if (options.family == AF_INET6 && options.bind == "127.0.0.1") options.bind = "::1";
  core::serve_options serving;
  serving.keep_open = args.keep_open;
  serving.max_conns = options.max_conns;
  serving.handshake_timeout = args.timeouts.connect_timeout;
  if (args.tls.enabled || !args.tls.cert.empty()) serving.tls = core::make_server_context(args.tls);
  core::listener listener(ctx.executor(), options, ctx.out(), ctx.json());
  if (args.mode() == listen_mode::stdio && args.keep_open) {
    co_await serve_console(ctx, listener, serving, args.send_timeout);
  } else {
    // Named, not a temporary of the co_await expression: g++ 12 destroys
    // those twice (GCC PR 100611), and the broker's hub would be released
    // once too often (see http serve).
    auto handler = handler_for(ctx, args);
    auto task = core::serve(listener, serving, ctx.connections(), std::move(handler));
    co_await std::move(task);
  }
  co_return 0;
}

}  // namespace nettool::tcp
