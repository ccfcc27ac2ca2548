#include "nettool/core/retry.hpp"

#include <algorithm>

namespace nettool::core {

duration backoff_ceiling(const retry_policy& policy, int attempt) {
  // Doubling stops at the cap; cap the exponent too so nothing overflows.
  const int doublings = std::clamp(attempt - 1, 0, 40);
  const double ceiling = static_cast<double>(policy.first_delay.count()) * static_cast<double>(1ULL << doublings);
  return ceiling >= static_cast<double>(policy.max_delay.count()) ? policy.max_delay
                                                                  : duration{static_cast<duration::rep>(ceiling)};
}

duration backoff_delay(const retry_policy& policy, int attempt, std::optional<duration> retry_after,
                       std::mt19937_64& rng) {
  if (retry_after) return std::min(*retry_after, policy.max_delay);
  const auto ceiling = backoff_ceiling(policy, attempt);
  std::uniform_int_distribution<duration::rep> pick(0, ceiling.count());
  return duration{pick(rng)};
}

}  // namespace nettool::core
