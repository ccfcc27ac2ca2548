#include "nettool/core/bench.hpp"

#include <catch2/catch.hpp>

#include <thread>

using namespace nettool::core;
using namespace std::chrono_literals;

namespace {
double ms(duration d) { return std::chrono::duration<double, std::milli>(d).count(); }
}  // namespace

TEST_CASE("histogram percentiles of 1..1000 ms are within 1 %", "[unit][bench]") {
  histogram h;
  for (int i = 1; i <= 1000; ++i) h.record(std::chrono::milliseconds(i));
  CHECK(h.count() == 1000);
  CHECK(ms(h.percentile(0.50)) == Approx(500).epsilon(0.01));
  CHECK(ms(h.percentile(0.90)) == Approx(900).epsilon(0.01));
  CHECK(ms(h.percentile(0.99)) == Approx(990).epsilon(0.01));
  CHECK(ms(h.percentile(0.999)) == Approx(999).epsilon(0.01));
  CHECK(h.max() == duration(1000ms));
  CHECK(h.min() == duration(1ms));
  CHECK(ms(h.mean()) == Approx(500.5).epsilon(0.0001));
}

TEST_CASE("histogram: small values are exact, outliers show in the tail only", "[unit][bench]") {
  histogram h;
  for (int i = 0; i < 990; ++i) h.record(duration(100));
  for (int i = 0; i < 10; ++i) h.record(5s);
  CHECK(h.percentile(0.5) == duration(100));
  CHECK(h.percentile(0.99) == duration(100));
  CHECK(to_seconds(h.percentile(0.995)) == Approx(5).epsilon(0.01));
  CHECK(h.max() == duration(5s));
}

TEST_CASE("histogram merge adds counts", "[unit][bench]") {
  histogram a, b;
  for (int i = 0; i < 100; ++i) a.record(1ms);
  for (int i = 0; i < 100; ++i) b.record(3ms);
  a.merge(b);
  CHECK(a.count() == 200);
  CHECK(ms(a.percentile(0.25)) == Approx(1).epsilon(0.01));
  CHECK(ms(a.percentile(0.75)) == Approx(3).epsilon(0.01));
  CHECK(a.max() == duration(3ms));
}

TEST_CASE("fail-if clauses parse and hold as documented", "[unit][bench]") {
  auto clauses = parse_fail_if("p99>50ms,errors>0.1%,rps<1000");
  REQUIRE(clauses);
  REQUIRE(clauses->size() == 3);
  bench_result r;
  r.elapsed = 1s;
  r.count = 2000;
  for (int i = 0; i < 2000; ++i) r.latency.record(10ms);
  CHECK(failed_clauses(*clauses, r).empty());
  r.errors["read"] = 3;  // 3 / 2003 > 0.1 %
  CHECK(failed_clauses(*clauses, r) == std::vector<std::string>{"errors>0.1% (measured 0.150%)"});
  r.latency.record(2s);
  for (int i = 0; i < 30; ++i) r.latency.record(2s);
  r.count = 500;
  CHECK(failed_clauses(*clauses, r) == std::vector<std::string>{"p99>50ms (measured 2.00s)", "errors>0.1% (measured 0.596%)",
                                                               "rps<1000 (measured 500.0/s)"});
  for (const char* bad : {"", "p99", "p99>", "p99>fast", "nope>1", "errors>x%", "rps<-1", ">5"}) {
    INFO(bad);
    CHECK_FALSE(parse_fail_if(bad));
  }
}

TEST_CASE("load plan: -n counts measured requests, --rate spaces intended starts", "[unit][bench]") {
  bench_options o;
  o.requests = 5;
  load_plan plan(o);
  int n = 0;
  while (plan.next()) ++n;
  CHECK(n == 5);
  bench_options r;
  r.rate = 100;
  r.length = 1s;
  const auto start = std::chrono::steady_clock::now();
  load_plan paced(r, start);
  std::vector<std::chrono::steady_clock::time_point> times;
  while (auto t = paced.next()) times.push_back(*t);
  CHECK(times.size() == 100);
  CHECK(times[1] - times[0] == std::chrono::milliseconds(10));
  CHECK(times.back() - start == std::chrono::milliseconds(990));
}

TEST_CASE("bench shards: parts of -c, -n and --rate add up to the whole", "[unit][bench]") {
  bench_options o;
  o.concurrency = 5;
  o.requests = 1001;
  o.rate = 300.0;
  o.threads = 3;
  REQUIRE(bench_shards(o) == 3);
  std::size_t conns = 0;
  std::uint64_t requests = 0;
  double rate = 0;
  for (std::size_t i = 0; i < 3; ++i) {
    const auto part = shard_options(o, i, 3);
    CHECK(part.concurrency >= 1);
    conns += part.concurrency;
    requests += *part.requests;
    rate += *part.rate;
  }
  CHECK(conns == 5);
  CHECK(requests == 1001);
  CHECK(rate == Approx(300.0));

  // Never more loops than connections or requests.
  o.threads = 8;
  CHECK(bench_shards(o) == 5);
  o.requests = 2;
  CHECK(bench_shards(o) == 2);
  o.threads = 0;  // one per core
  o.requests.reset();
  o.concurrency = 1000;
  CHECK(bench_shards(o) == std::max(1u, std::thread::hardware_concurrency()));
}

TEST_CASE("bench results merge counts, bytes, errors and latencies", "[unit][bench]") {
  bench_result a, b;
  a.count = 3;
  a.bytes = 30;
  a.errors["connect"] = 1;
  a.latency.record(1ms);
  b.count = 4;
  b.bytes = 40;
  b.errors["connect"] = 2;
  b.errors["read"] = 1;
  b.latency.record(3ms);
  a.merge(b);
  CHECK(a.count == 7);
  CHECK(a.bytes == 70);
  CHECK(a.errors["connect"] == 3);
  CHECK(a.errors["read"] == 1);
  CHECK(a.latency.count() == 2);
  CHECK(a.latency.max() >= 2900us);
}
