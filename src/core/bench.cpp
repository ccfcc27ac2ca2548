#include "nettool/core/bench.hpp"
#include "nettool/core/output.hpp"

#include "nettool/core/log.hpp"
#include "nettool/core/options.hpp"
#include "nettool/core/stdio.hpp"

#include <CLI/CLI.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <thread>

namespace nettool::core {

void add_bench_options(CLI::App& app, bench_options& options) {
  app.add_option("-c,--concurrency", options.concurrency, "Connections (workers) in parallel")
      ->check(CLI::Range(1, 10000))
      ->default_str("1");
  app.add_option("-n,--requests", options.requests, "Stop after N measured requests")->check(CLI::PositiveNumber);
  add_duration_option(app, "-z,--duration", options.length, "Stop after DUR (default 10s without -n)");
  add_duration_option(app, "--warmup", options.warmup, "Run DUR first without measuring");
  app.add_option("--rate", options.rate, "Fixed arrival rate per second; latency counts from the intended start")
      ->check(CLI::PositiveNumber);
  app.add_option("--fail-if", options.fail_if, "Exit 10 when a clause holds, e.g. 'p99>50ms,errors>0.1%,rps<1000'")
      ->type_name("EXPR")
      ->check([](const std::string& text) {
        std::string problem;
        return parse_fail_if(text, &problem) ? std::string{} : problem;
      });
}

void add_bench_threads_option(CLI::App& app, bench_options& options) {
  app.add_option("--threads", options.threads, "Event loops (threads) sharing the connections; default one per core")
      ->check(CLI::Range(1, 256))
      ->type_name("N");
}

std::size_t bench_shards(const bench_options& options) {
  std::size_t n = options.threads ? options.threads : usable_cores();
  n = std::min(n, options.concurrency);
  if (options.requests) n = std::min<std::size_t>(n, *options.requests);
  return std::max<std::size_t>(n, 1);
}

bench_options shard_options(const bench_options& options, std::size_t shard, std::size_t shards) {
  // The first `total % shards` shards take one more, so the parts add up.
  const auto part = [&](std::uint64_t total) { return total / shards + (shard < total % shards ? 1 : 0); };
  bench_options mine = options;
  mine.concurrency = static_cast<std::size_t>(part(options.concurrency));
  if (options.requests) mine.requests = part(*options.requests);
  if (options.rate) mine.rate = *options.rate / static_cast<double>(shards);
  return mine;
}

// ---- histogram -------------------------------------------------------------

std::size_t histogram::index_of(std::uint64_t v) {
  if (v < 2 * sub_count) return static_cast<std::size_t>(v);  // exact
  const int top = 63 - std::countl_zero(v);                   // v in [2^top, 2^(top+1))
  const int shift = top - sub_bits;
  const auto sub = static_cast<std::size_t>((v >> shift) - sub_count);  // [0, sub_count)
  return static_cast<std::size_t>(shift + 1) * sub_count + sub;
}

std::uint64_t histogram::value_at(std::size_t index) {
  if (index < 2 * sub_count) return index;
  const auto block = index / sub_count;  // >= 2
  const int shift = static_cast<int>(block) - 1;
  const auto sub = index % sub_count;
  const std::uint64_t low = (sub_count + sub) << shift;
  const std::uint64_t width = 1ULL << shift;
  return low + width / 2;
}

void histogram::record(duration value) {
  const auto v = static_cast<std::uint64_t>(std::max<duration::rep>(value.count(), 0));
  const auto i = std::min(index_of(v), counts_.size() - 1);
  ++counts_[i];
  ++count_;
  min_ = std::min(min_, v);
  max_ = std::max(max_, v);
  sum_ += static_cast<long double>(v);
}

void histogram::merge(const histogram& other) {
  for (std::size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
  count_ += other.count_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
  sum_ += other.sum_;
}

duration histogram::mean() const noexcept {
  return count_ ? duration(static_cast<duration::rep>(sum_ / static_cast<long double>(count_))) : duration::zero();
}

duration histogram::percentile(double q) const {
  if (count_ == 0) return duration::zero();
  if (q >= 1) return max();
  const auto rank = static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(count_)));
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < counts_.size(); ++i) {
    seen += counts_[i];
    if (seen >= std::max<std::uint64_t>(rank, 1)) {
      // Never report outside what was seen.
      return duration(static_cast<duration::rep>(std::clamp(value_at(i), min_, max_)));
    }
  }
  return max();
}

// ---- results ---------------------------------------------------------------

std::uint64_t bench_result::error_count() const {
  std::uint64_t n = 0;
  for (const auto& [kind, n_kind] : errors) n += n_kind;
  return n;
}

void bench_result::merge(const bench_result& other) {
  count += other.count;
  bytes += other.bytes;
  for (const auto& [kind, n] : other.errors) errors[kind] += n;
  latency.merge(other.latency);
}

double bench_result::rate() const {
  const double s = to_seconds(elapsed);
  return s > 0 ? static_cast<double>(count) / s : 0;
}

namespace {

double seconds(duration d) { return to_seconds(d); }

std::optional<double> metric_value(const std::string& metric, const bench_result& r, bool percent) {
  if (metric == "p50") return seconds(r.latency.percentile(0.50));
  if (metric == "p90") return seconds(r.latency.percentile(0.90));
  if (metric == "p99") return seconds(r.latency.percentile(0.99));
  if (metric == "p99.9") return seconds(r.latency.percentile(0.999));
  if (metric == "max") return seconds(r.latency.max());
  if (metric == "min") return seconds(r.latency.min());
  if (metric == "mean") return seconds(r.latency.mean());
  if (metric == "rps" || metric == "rate") return r.rate();
  if (metric == "count") return static_cast<double>(r.count);
  if (metric == "throughput") return seconds(r.elapsed) > 0 ? static_cast<double>(r.bytes) / seconds(r.elapsed) : 0;
  if (metric == "errors") {
    const auto errors = static_cast<double>(r.error_count());
    if (!percent) return errors;
    const double total = errors + static_cast<double>(r.count);
    return total > 0 ? errors / total : 0;
  }
  return std::nullopt;
}

bool is_latency(const std::string& m) {
  return m == "p50" || m == "p90" || m == "p99" || m == "p99.9" || m == "max" || m == "min" || m == "mean";
}

}  // namespace

std::optional<std::vector<fail_clause>> parse_fail_if(std::string_view text, std::string* problem) {
  std::vector<fail_clause> out;
  auto fail = [&](std::string why) -> std::optional<std::vector<fail_clause>> {
    if (problem) *problem = std::move(why);
    return std::nullopt;
  };
  while (!text.empty()) {
    const auto comma = text.find(',');
    const auto item = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
    const auto op_at = item.find_first_of("<>");
    if (op_at == std::string_view::npos || op_at == 0)
      return fail(fmt::format("'{}' is not METRIC<VALUE or METRIC>VALUE", item));
    fail_clause c;
    c.text = std::string(item);
    c.metric = std::string(item.substr(0, op_at));
    c.op = item[op_at];
    auto value = item.substr(op_at + 1);
    if (is_latency(c.metric)) {
      auto d = parse_duration(value);
      if (!d) return fail(fmt::format("'{}': '{}' is not a duration", item, value));
      c.value = to_seconds(*d);
    } else if (c.metric == "errors") {
      if (!value.empty() && value.back() == '%') {
        c.percent = true;
        value.remove_suffix(1);
      }
      double v = 0;
      auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
      if (ec != std::errc{} || p != value.data() + value.size() || v < 0)
        return fail(fmt::format("'{}': '{}' is not a number", item, value));
      c.value = c.percent ? v / 100 : v;
    } else if (c.metric == "rps" || c.metric == "rate" || c.metric == "count") {
      double v = 0;
      auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
      if (ec != std::errc{} || p != value.data() + value.size() || v < 0)
        return fail(fmt::format("'{}': '{}' is not a number", item, value));
      c.value = v;
    } else if (c.metric == "throughput") {
      auto s = parse_size(value);
      if (!s) return fail(fmt::format("'{}': '{}' is not a size per second like 1GB", item, value));
      c.value = static_cast<double>(*s);
    } else {
      return fail(fmt::format("unknown metric '{}' (p50 p90 p99 p99.9 max min mean errors rps count throughput)", c.metric));
    }
    out.push_back(std::move(c));
  }
  if (out.empty()) return fail("empty --fail-if");
  return out;
}

// A clause's measured value in the clause's own unit, for the failure line.
std::string measured_text(const fail_clause& c, double v) {
  if (is_latency(c.metric)) return format_duration(std::chrono::duration_cast<duration>(std::chrono::duration<double>(v)));
  if (c.metric == "errors" && c.percent) return fmt::format("{:.3f}%", v * 100);
  if (c.metric == "throughput") return format_bytes(v) + "/s";
  if (c.metric == "rps" || c.metric == "rate") return fmt::format("{:.1f}/s", v);
  return fmt::format("{:.0f}", v);
}

std::vector<std::string> failed_clauses(const std::vector<fail_clause>& clauses, const bench_result& result) {
  std::vector<std::string> held;
  for (const auto& c : clauses) {
    const auto v = metric_value(c.metric, result, c.percent);
    if (!v) continue;
    if ((c.op == '>' && *v > c.value) || (c.op == '<' && *v < c.value))
      held.push_back(fmt::format("{} (measured {})", c.text, measured_text(c, *v)));
  }
  return held;
}

boost::json::object summary_json(const bench_result& r) {
  boost::json::object errors;
  for (const auto& [kind, n] : r.errors) errors[kind] = n;
  boost::json::object out{
      {"count", r.count},
      {"errors", std::move(errors)},
      {"duration", seconds(r.elapsed)},
      {"rate", r.rate()},
      {"latency",
       {{"p50", seconds(r.latency.percentile(0.5))},
        {"p90", seconds(r.latency.percentile(0.9))},
        {"p99", seconds(r.latency.percentile(0.99))},
        {"p99.9", seconds(r.latency.percentile(0.999))},
        {"max", seconds(r.latency.max())},
        {"min", seconds(r.latency.min())},
        {"mean", seconds(r.latency.mean())}}},
      {"bytes", r.bytes},
      {"throughput", seconds(r.elapsed) > 0 ? static_cast<double>(r.bytes) / seconds(r.elapsed) : 0.0},
  };
  for (const auto& [k, v] : r.extra) out[k] = v;
  return out;
}

std::string summary_text(const bench_result& r, std::string_view unit) {
  std::string out = fmt::format("{} {} in {:.2f}s: {:.1f}/s", r.count, unit, seconds(r.elapsed), r.rate());
  if (r.bytes > 0)
    out += fmt::format(", {} ({}/s, {:.2f} Gbit/s)", format_bytes(static_cast<double>(r.bytes)),
                       format_bytes(static_cast<double>(r.bytes) / std::max(seconds(r.elapsed), 1e-9)),
                       static_cast<double>(r.bytes) * 8 / std::max(seconds(r.elapsed), 1e-9) / 1e9);
  out += "\n";
  if (r.latency.count() > 0)
    out += fmt::format("latency p50 {}  p90 {}  p99 {}  p99.9 {}  max {}\n", format_duration(r.latency.percentile(0.5)),
                       format_duration(r.latency.percentile(0.9)), format_duration(r.latency.percentile(0.99)),
                       format_duration(r.latency.percentile(0.999)), format_duration(r.latency.max()));
  if (r.error_count() > 0) {
    out += "errors:";
    for (const auto& [kind, n] : r.errors) out += fmt::format(" {} {}", kind, n);
    out += "\n";
  }
  for (const auto& [k, v] : r.extra) out += fmt::format("{}: {}\n", std::string_view(k), to_json(v));
  return out;
}

int finish_bench(output& out, bool json, const bench_options& options, const bench_result& result, std::string_view unit) {
  if (json) out.line(to_json(summary_json(result)));
  else out.write(summary_text(result, unit));
  if (options.fail_if.empty()) return 0;
  const auto held = failed_clauses(*parse_fail_if(options.fail_if), result);
  if (held.empty()) return 0;
  std::string list;
  for (const auto& h : held) list += (list.empty() ? "" : ", ") + h;
  // Thrown, so the line names the verb ("nettool: http bench: fail-if: …")
  // and --json prints the error event, as for every other failure.
  throw error(errc::assertion_failed, "fail-if", {}, list);
}

// ---- load plan -------------------------------------------------------------

load_plan::load_plan(const bench_options& options, clock::time_point start)
    : options_(options), measure_from_(start + options.warmup), start_(start) {
  if (options.length) end_ = measure_from_ + *options.length;
  else if (!options.requests) end_ = measure_from_ + std::chrono::seconds(10);
}

std::optional<load_plan::clock::time_point> load_plan::next() {
  // Reading the clock costs as much as a whole message at millions per
  // second: without --rate it is read only while a time limit or the
  // warmup needs it, and then only measuring() may look at `t`.
  clock::time_point t = measure_from_;
  if (end_ || issued_ == 0) t = clock::now();
  if (options_.rate) {
    const auto offset = std::chrono::duration<double>(static_cast<double>(scheduled_) / *options_.rate);
    t = start_ + std::chrono::duration_cast<clock::duration>(offset);
  }
  if (end_ && t >= *end_) return std::nullopt;
  if (options_.requests && t >= measure_from_ && issued_ >= *options_.requests) return std::nullopt;
  ++scheduled_;
  if (t >= measure_from_) ++issued_;
  return t;
}

awaitable<void> run_workers(const bench_options& options, load_plan::clock::time_point start, std::string target,
                            bench_worker worker) {
  const auto shards = bench_shards(options);
  log::info("bench: {} connection{} to {} on {} thread{}", options.concurrency, options.concurrency == 1 ? "" : "s",
            target, shards, shards == 1 ? "" : "s");
  auto body = [&](std::size_t shard) -> awaitable<void> {
    const auto mine = shard_options(options, shard, shards);
    auto phase = load_plan::clock::duration::zero();
    if (options.rate)
      phase = std::chrono::duration_cast<load_plan::clock::duration>(
          std::chrono::duration<double>(static_cast<double>(shard) / *options.rate));
    load_plan plan(mine, start + phase);
    std::vector<awaitable<void>> workers;
    for (std::size_t i = 0; i < mine.concurrency; ++i) workers.push_back(worker(shard, plan));
    auto all = all_of(std::move(workers));  // named tasks: g++ 12 and co_await temporaries
    co_await std::move(all);
  };
  std::function<awaitable<void>(std::size_t)> per_loop = body;
  auto running = on_threads(shards, std::move(per_loop));
  co_await std::move(running);
}

}  // namespace nettool::core
