#include "nettool/core/retry.hpp"

#include <catch2/catch.hpp>

using namespace nettool::core;
using namespace std::chrono_literals;

TEST_CASE("backoff ceilings double from the first delay up to the cap", "[unit][retry]") {
  retry_policy p{5, 250ms, 10s};
  CHECK(backoff_ceiling(p, 1) == duration(250ms));
  CHECK(backoff_ceiling(p, 2) == duration(500ms));
  CHECK(backoff_ceiling(p, 3) == duration(1s));
  CHECK(backoff_ceiling(p, 6) == duration(8s));
  CHECK(backoff_ceiling(p, 7) == duration(10s));
  CHECK(backoff_ceiling(p, 1000) == duration(10s));
}

TEST_CASE("full jitter stays within [0, ceiling] and uses the whole range", "[unit][retry]") {
  retry_policy p{5, 100ms, 1s};
  std::mt19937_64 rng(42);
  for (int attempt = 1; attempt <= 8; ++attempt) {
    duration lowest = duration::max(), highest = duration::zero();
    for (int i = 0; i < 2000; ++i) {
      const auto d = backoff_delay(p, attempt, std::nullopt, rng);
      lowest = std::min(lowest, d);
      highest = std::max(highest, d);
    }
    const auto ceiling = backoff_ceiling(p, attempt);
    CHECK(lowest >= duration::zero());
    CHECK(highest <= ceiling);
    // Full jitter: draws reach both ends of the range.
    CHECK(lowest < ceiling / 10);
    CHECK(highest > ceiling * 9 / 10);
  }
}

TEST_CASE("Retry-After replaces the backoff, capped at the maximum", "[unit][retry]") {
  retry_policy p{5, 100ms, 2s};
  std::mt19937_64 rng(1);
  CHECK(backoff_delay(p, 1, duration(1500ms), rng) == duration(1500ms));
  CHECK(backoff_delay(p, 1, duration(30s), rng) == duration(2s));
}
