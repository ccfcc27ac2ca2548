// http bench: keep-alive load with the core's bench kit (wrk's job), with
// latency measured from each request's intended start under --rate.
#include "http.hpp"

#include "nettool/core/bench.hpp"
#include "nettool/core/buffer.hpp"
#include "nettool/core/log.hpp"

#include <boost/asio/steady_timer.hpp>

#include <map>

namespace nettool::http {
namespace {

using clock = std::chrono::steady_clock;

// What one event loop's connections measured.
struct shared_run {
  core::bench_result result;
  std::map<unsigned, std::uint64_t> statuses;
};

client_options options_for(const bench_args& args) {
  client_options o;
  o.connect = args.connect;
  o.connect.connect_timeout = args.timeouts.connect_timeout;
  o.connect.servername = args.tls.servername;
  o.connect.nodelay = true;  // small requests must not wait for Nagle
  o.tls = args.tls;
  o.unix_socket = args.unix_socket;
  o.idle_timeout = args.timeouts.idle_timeout;
  return o;
}

// One keep-alive connection's worth of requests, taking start times from
// the shared plan; a failed request counts as an error of its phase and the
// worker goes on (the client reconnects).
awaitable<void> worker(const bench_args& args, const request& req, core::load_plan& plan, shared_run& run) {
  client c(options_for(args));
  core::io_buffer buffer(64 * 1024);
  auto ex = co_await boost::asio::this_coro::executor;
  while (auto intended = plan.next()) {
    if (args.bench.rate) {
      boost::asio::steady_timer wait(ex, *intended);
      co_await wait.async_wait(boost::asio::use_awaitable);
    }
    const auto start = args.bench.rate ? *intended : clock::now();
    try {
      const auto head = co_await c.start(req);
      std::uint64_t bytes = 0;
      while (const auto n = co_await c.read_body(buffer.space())) bytes += n;
      if (plan.measuring(start)) {
        run.result.latency.record(clock::now() - start);
        ++run.result.count;
        run.result.bytes += bytes;
        ++run.statuses[head.status];
      }
    } catch (const core::error& e) {
      if (e.code() == core::errc::usage) throw;
      if (plan.measuring(start)) ++run.result.errors[e.phase()];
      core::log::info("bench: {}", e.describe());
    }
  }
}

}  // namespace

awaitable<int> run_bench(core::run_context& ctx, const bench_args& args) {
  request req;
  req.method = beast::http::string_to_verb(args.method);
  req.url = parse_url(args.url);
  if (args.data) req.body.add_bytes(*args.data);
  add_headers(req.headers, args.headers);

  const auto shards = core::bench_shards(args.bench);
  std::vector<shared_run> runs(shards);
  const auto start = clock::now();
  core::bench_worker each = [&](std::size_t shard, core::load_plan& plan) { return worker(args, req, plan, runs[shard]); };
  auto task = core::run_workers(args.bench, start, origin_of(req.url), std::move(each));
  co_await std::move(task);

  shared_run total;
  for (const auto& run : runs) {
    total.result.merge(run.result);
    for (const auto& [status, n] : run.statuses) total.statuses[status] += n;
  }
  total.result.elapsed = clock::now() - (start + args.bench.warmup);
  boost::json::object statuses;
  for (const auto& [status, n] : total.statuses) statuses[std::to_string(status)] = n;
  total.result.extra["status"] = std::move(statuses);
  co_return core::finish_bench(ctx.out(), ctx.json(), args.bench, total.result, "requests");
}

}  // namespace nettool::http
