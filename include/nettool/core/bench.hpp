// The benchmark kit every `bench` verb shares (SPEC §1 "Assertions and
// benchmarks"): options, a load plan with a fixed arrival rate, a
// bounded-memory latency histogram, --fail-if clauses and the summary.
#pragma once

#include "nettool/core/async.hpp"

#include "nettool/core/parse.hpp"

#include <boost/json/object.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace nettool::core {

class output;

struct bench_options {
  std::size_t concurrency = 1;
  std::optional<std::uint64_t> requests;  // -n
  std::optional<duration> length;         // --duration / -z
  duration warmup{};
  std::optional<double> rate;             // requests per second, all workers together
  std::string fail_if;
  std::size_t threads = 0;  // --threads: event loops, 0 = one per core
};

// -c, -n, --duration/-z, --warmup, --rate, --fail-if.
void add_bench_options(CLI::App& app, bench_options& options);

// --threads, for bench verbs whose connections can run on several event
// loops (one thread and io_context each, as wrk's -t).
void add_bench_threads_option(CLI::App& app, bench_options& options);

// How many event loops a run uses: --threads, or one per core, never more
// than there are connections or -n requests.
std::size_t bench_shards(const bench_options& options);
// Shard `shard`'s part of the run: its connections and its share of -n and
// of --rate, so that the shards together do what the options ask.
bench_options shard_options(const bench_options& options, std::size_t shard, std::size_t shards);

// HdrHistogram-style: exact below 256 ns, then 128 linear sub-buckets per
// power of two (under 0.8 % error), fixed 64 KiB whatever the count.
class histogram {
 public:
  void record(duration value);
  void merge(const histogram& other);
  std::uint64_t count() const noexcept { return count_; }
  duration min() const noexcept { return count_ ? duration(min_) : duration::zero(); }
  duration max() const noexcept { return duration(max_); }
  duration mean() const noexcept;
  // q in [0, 1]; the value below which a fraction q of the samples fall.
  duration percentile(double q) const;

 private:
  static constexpr int sub_bits = 7;
  static constexpr std::size_t sub_count = 1u << sub_bits;
  static std::size_t index_of(std::uint64_t v);
  static std::uint64_t value_at(std::size_t index);  // the bucket's midpoint

  std::array<std::uint64_t, 64 * sub_count> counts_{};
  std::uint64_t count_ = 0;
  std::uint64_t min_ = UINT64_MAX;
  std::uint64_t max_ = 0;
  long double sum_ = 0;
};

// What a bench run measured.
struct bench_result {
  std::uint64_t count = 0;                      // completed requests (or transfers)
  std::map<std::string, std::uint64_t> errors;  // by kind
  duration elapsed{};                           // measured time, warmup excluded
  histogram latency;
  std::uint64_t bytes = 0;
  boost::json::object extra;  // the protocol's own counters

  std::uint64_t error_count() const;
  double rate() const;  // completed per second
  // Adds another shard's counts, errors and latencies (not elapsed or extra).
  void merge(const bench_result& other);
};

// `p99>50ms,errors>0.1%,rps<1000`: exit 10 when any clause holds.
struct fail_clause {
  std::string metric;  // p50 p90 p99 p99.9 max min mean errors rps rate count throughput
  char op;             // '<' or '>'
  double value;        // seconds for latencies, a fraction for errors%, bytes/s for throughput
  bool percent = false;
  std::string text;
};
std::optional<std::vector<fail_clause>> parse_fail_if(std::string_view text, std::string* problem = nullptr);
// The clauses that hold for `result`.
std::vector<std::string> failed_clauses(const std::vector<fail_clause>& clauses, const bench_result& result);

boost::json::object summary_json(const bench_result& result);
std::string summary_text(const bench_result& result, std::string_view unit = "requests");

// Prints the summary (text or one JSON object) and returns 0, or 10 with
// the failing clauses on stderr when --fail-if holds.
int finish_bench(output& out, bool json, const bench_options& options, const bench_result& result,
                 std::string_view unit = "requests");

// Hands out request start times: as fast as workers go, or on a fixed
// schedule with --rate so latency counts from the intended start
// (coordinated omission stays visible). Ends after -n measured requests or
// at --duration (default 10 s when neither is given).
class load_plan {
 public:
  using clock = std::chrono::steady_clock;
  explicit load_plan(const bench_options& options, clock::time_point start = clock::now());
  // The next request's intended start under --rate (else only good for
  // measuring(): callers time requests themselves), or nullopt when the
  // run is over.
  std::optional<clock::time_point> next();
  bool measuring(clock::time_point t) const { return t >= measure_from_; }
  clock::time_point measure_from() const { return measure_from_; }

 private:
  const bench_options& options_;
  clock::time_point measure_from_;
  std::optional<clock::time_point> end_;
  std::uint64_t issued_ = 0;  // after warmup
  std::uint64_t scheduled_ = 0;
  clock::time_point start_;
};

// One connection's requests: drawn from its event loop's plan until it
// ends. `shard` names the loop, for per-loop counters.
using bench_worker = std::function<awaitable<void>(std::size_t shard, load_plan& plan)>;

// A whole bench run: bench_shards() event loops, each with its share of the
// connections, -n and --rate (shifted so that the loops' schedules
// interleave), every connection a `worker` on its loop's plan. Returns when
// all are done; the first exception (a usage error) is rethrown.
// `target` names what is loaded, for the -v line (a copy: the coroutine
// runs after the caller's temporaries are gone).
awaitable<void> run_workers(const bench_options& options, load_plan::clock::time_point start, std::string target,
                            bench_worker worker);

}  // namespace nettool::core
