// tcp wait: poll until every HOST:PORT accepts a connection, then exec the
// command given after `--`.
#include "tcp.hpp"

#include "nettool/core/events.hpp"
#include "nettool/core/log.hpp"
#include "nettool/core/process.hpp"

namespace nettool::tcp {
namespace {

using clock = std::chrono::steady_clock;

awaitable<void> wait_ready(core::run_context& ctx, const std::string& text, const wait_args& args,
                           const core::connect_options& options, std::vector<std::string>& pending) {
  const auto hp = *core::parse_host_port(text);
  const core::target to{hp.host, hp.port, {}};
  const auto start = clock::now();
  for (int attempt = 1;; ++attempt) {
    try {
      auto conn = co_await core::connect(to, options, {});
      core::report_ready(ctx, text, clock::now() - start, attempt);
      std::erase(pending, text);
      co_return;
    } catch (const core::error& e) {
      core::log::debug("{} not ready: {}", text, e.describe());
    }
    co_await core::sleep_for(args.interval);
  }
}

awaitable<void> wait_all(core::run_context& ctx, const wait_args& args, const core::connect_options& options,
                         std::vector<std::string>& pending) {
  std::vector<awaitable<void>> waits;
  for (const auto& t : args.targets) waits.push_back(wait_ready(ctx, t, args, options, pending));
  co_await core::all_of(std::move(waits));
}

}  // namespace

awaitable<int> run_wait(core::run_context& ctx, const wait_args& args) {
  auto options = args.connect;
  options.connect_timeout = std::min(args.timeouts.connect_timeout, args.limit);
  std::vector<std::string> pending = args.targets;
  try {
    co_await core::with_timeout(wait_all(ctx, args, options, pending), args.limit, core::phase::wait);
  } catch (const core::error& e) {
    if (e.code() != core::errc::timed_out) throw;
    std::string names;
    for (const auto& p : pending) names += (names.empty() ? "" : ", ") + p;
    throw core::error(core::errc::timed_out, core::phase::wait, {}, fmt::format("not ready after {}: {}", core::format_duration(args.limit), names));
  }
  if (!args.command.empty()) core::exec_replacing(args.command);
  co_return 0;
}

}  // namespace nettool::tcp
