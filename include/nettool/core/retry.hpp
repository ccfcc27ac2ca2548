// SPEC §1's one retry policy: exponential backoff with full jitter, a cap,
// and a Retry-After override. The core logs every attempt at -v; adapters
// only answer "is this outcome transient?".
#pragma once

#include "nettool/core/async.hpp"
#include "nettool/core/log.hpp"

#include <functional>
#include <optional>
#include <random>

namespace nettool::core {

struct retry_policy {
  int retries = 0;
  duration first_delay = std::chrono::milliseconds(250);
  duration max_delay = std::chrono::seconds(10);
};

// Upper bound of the backoff before `attempt` (1 = first retry):
// min(max_delay, first_delay * 2^(attempt-1)).
duration backoff_ceiling(const retry_policy& policy, int attempt);
// Full jitter: uniform in [0, ceiling]. A Retry-After hint replaces it,
// capped at max_delay.
duration backoff_delay(const retry_policy& policy, int attempt, std::optional<duration> retry_after,
                       std::mt19937_64& rng);

using transient_predicate = std::function<bool(const error&)>;

// Runs `attempt()` until it succeeds, fails for good, or retries run out.
template <class T, class Attempt>
awaitable<T> with_retries(const retry_policy& policy, Attempt attempt,
                          transient_predicate transient = [](const error& e) { return is_transient(e); }) {
  // Seeded on the first failure only: std::random_device opens a device,
  // which a run that succeeds at once should not pay for.
  std::optional<std::mt19937_64> rng;
  for (int n = 0;; ++n) {
    std::optional<error> failed;
    try {
      co_return co_await attempt();
    } catch (const error& e) {
      if (n >= policy.retries || !transient(e)) throw;
      failed = e;
    }
    if (!rng) rng.emplace(std::random_device{}());
    const auto delay = backoff_delay(policy, n + 1, failed->retry_after(), *rng);
    log::info("attempt {}/{} failed: {}; retrying in {} (backoff up to {})", n + 1, policy.retries + 1,
              failed->describe(), format_duration(delay), format_duration(backoff_ceiling(policy, n + 1)));
    co_await sleep_for(delay);
  }
}

}  // namespace nettool::core
