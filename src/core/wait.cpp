#include "nettool/core/wait.hpp"

#include "nettool/core/error.hpp"
#include "nettool/core/events.hpp"
#include "nettool/core/log.hpp"
#include "nettool/core/process.hpp"

#include <fmt/format.h>

namespace nettool::core {
namespace {

using clock = std::chrono::steady_clock;

awaitable<void> probe_until_ready(run_context& ctx, const std::string& target,
                                  const std::function<awaitable<bool>()>& probe, const wait_options& options) {
  const auto start = clock::now();
  for (int attempt = 1;; ++attempt) {
    bool ready = false;
    try {
      auto op = with_timeout(probe(), std::min(options.attempt_limit, options.limit), phase::connect, target);
      ready = co_await std::move(op);
    } catch (const error& e) {
      log::debug("{} not ready: {}", target, e.describe());
    }
    if (ready) {
      report_ready(ctx, target, clock::now() - start, attempt);
      co_return;
    }
    co_await sleep_for(options.interval);
  }
}

}  // namespace

awaitable<void> wait_until_ready(run_context& ctx, const std::string& target, std::function<awaitable<bool>()> probe,
                                 const wait_options& options) {
  try {
    auto bounded = with_timeout(probe_until_ready(ctx, target, probe, options), options.limit, phase::wait);
    co_await std::move(bounded);
  } catch (const error& e) {
    if (e.code() != errc::timed_out) throw;
    throw error(errc::timed_out, phase::wait, {},
                fmt::format("not ready after {}: {}", format_duration(options.limit), target));
  }
  if (!options.command.empty()) exec_replacing(options.command);
}

}  // namespace nettool::core
