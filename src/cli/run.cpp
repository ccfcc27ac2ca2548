#include "nettool/cli/run.hpp"

#include "nettool/core/context.hpp"
#include "nettool/core/output.hpp"
#include "nettool/core/log.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json.hpp>
#include <boost/system/system_error.hpp>

#include <csignal>

namespace nettool::cli {
namespace {

using namespace nettool::core;

awaitable<void> run_verb(run_context& ctx, const verb_runner& runner, int& code) { code = co_await runner(ctx); }

// Both waits end quietly when cancelled (the verb ended first): an
// exception there cost every run the unwinder and its page faults. Any
// other failure still throws: ending quietly would make it the winner of
// supervise()'s race, and the verb would be cut short with exit 0.
awaitable<void> wait_for_signal() {
  asio::signal_set signals(co_await asio::this_coro::executor, SIGINT, SIGTERM);
  const auto [ec, signal] = co_await signals.async_wait(asio::as_tuple(asio::use_awaitable));
  if (ec == asio::error::operation_aborted) co_return;
  if (ec) throw boost::system::system_error(ec, "waiting for signals");
  log::info("{}: stopping", signal == SIGINT ? "SIGINT" : "SIGTERM");
  throw error(signal == SIGINT ? errc::interrupted : errc::terminated, core::phase::signal);
}

awaitable<void> wait_for_deadline(duration limit) {
  asio::steady_timer timer(co_await asio::this_coro::executor, limit);
  const auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  if (ec == asio::error::operation_aborted) co_return;
  if (ec) throw boost::system::system_error(ec, "waiting for --timeout");
  throw error(errc::timed_out, core::phase::timeout, {}, fmt::format("--timeout {} reached", format_duration(limit)));
}

awaitable<void> stop_conditions(const common_options& common) {
  if (common.timeout) co_await first_of(wait_for_signal(), wait_for_deadline(*common.timeout));
  else co_await wait_for_signal();
}

awaitable<int> supervise(run_context& ctx, const verb_runner& runner) {
  int code = 0;
  co_await first_of(run_verb(ctx, runner, code), stop_conditions(ctx.common()));
  co_return code;
}

// SPEC §1: a stopped server finishes or closes open connections within 2 s.
// A second SIGINT/SIGTERM meanwhile ends the wait at once — and is handled,
// not fatal, so what the connections started (--exec children) is still
// ended when their frames go.
void let_connections_finish(run_context& ctx) {
  if (ctx.connections().active == 0) return;
  auto& io = ctx.io();
  io.restart();
  bool again = false;
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&again](const boost::system::error_code& ec, int) {
    if (!ec) again = true;
  });
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (!again && ctx.connections().active > 0 && std::chrono::steady_clock::now() < deadline)
    if (io.run_one_until(deadline) == 0) break;
}

int report(run_context& ctx, std::exception_ptr failure) {
  try {
    std::rethrow_exception(failure);
  } catch (const error& e) {
    const int code = exit_code_for(e);
    if (e.code() == errc::stdout_closed || e.code() == errc::interrupted || e.code() == errc::terminated) return code;
    log::error("{}: {}", ctx.verb(), e.describe());
    if (ctx.json()) {
      try {
        ctx.out().line(core::to_json(boost::json::object{
            {"event", "error"}, {"phase", e.phase()}, {"message", e.describe()}, {"exit", code}}));
      } catch (const error&) {
      }
    }
    return code;
  } catch (const boost::system::system_error& e) {
    log::error("{}: {}", ctx.verb(), e.code().message());
  } catch (const std::exception& e) {
    log::error("{}: {}", ctx.verb(), e.what());
  }
  return to_int(exit_code::failure);
}

}  // namespace

int run(const verb_binding& verb, const std::string& name) {
  const auto& common = *verb.common;
  log::init(common.level());
  run_context ctx(name, common);
  int code = 0;
  std::exception_ptr failure;
  asio::co_spawn(ctx.io(), supervise(ctx, verb.run), [&](std::exception_ptr e, int rc) {
    failure = e;
    code = rc;
    ctx.io().stop();
  });
  ctx.io().run();
  let_connections_finish(ctx);
  ctx.workers().stop();  // what is still open on them closes now
  // Exiting now: a late signal must not cut short the cleanup that ends
  // the connections' children (their frames go with the run context).
  std::signal(SIGINT, SIG_IGN);
  std::signal(SIGTERM, SIG_IGN);
  try {
    ctx.out().flush();
  } catch (const error&) {
    // stdout closed: nothing more to say there
  }
  if (failure) code = report(ctx, failure);
  return code;
}

}  // namespace nettool::cli
