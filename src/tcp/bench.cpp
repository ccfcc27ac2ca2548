// tcp bench: bulk throughput against `listen --discard` (or --echo), and
// request/response latency (--rr) against `listen --echo`.
#include "tcp.hpp"

#include "connect.hpp"

#include "nettool/core/buffer.hpp"
#include "nettool/core/log.hpp"

#include <vector>

namespace nettool::tcp {
namespace {

using clock = std::chrono::steady_clock;
using core::connection;

struct shared_run {
  core::bench_result result;
  std::uint64_t received = 0;
};

void count_error(shared_run& run, const core::error& e) {
  ++run.result.errors[e.phase()];
  core::log::info("bench: {}", e.describe());
}

awaitable<void> drain(connection& conn, std::uint64_t& received) {
  core::io_buffer buffer(256 * 1024);
  while (const auto n = co_await conn.read_some(buffer.space())) received += n;
}

awaitable<void> send_bulk(connection& conn, std::uint64_t bytes, std::optional<clock::time_point> until,
                          std::uint64_t& sent) {
  std::vector<char> block(256 * 1024);
  for (std::size_t i = 0; i < block.size(); ++i) block[i] = static_cast<char>(i * 131 + 7);
  while (sent < bytes && (!until || clock::now() < *until)) {
    const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(block.size(), bytes - sent));
    co_await conn.write(asio::buffer(block.data(), n));
    sent += n;
  }
  co_await conn.shutdown_send();
}

awaitable<void> bulk_worker(connection conn, const bench_args& args, std::optional<clock::time_point> until,
                            shared_run& run) {
  std::uint64_t sent = 0, received = 0;
  try {
    co_await core::both(send_bulk(conn, args.bytes, until, sent), drain(conn, received));
    ++run.result.count;
  } catch (const core::error& e) {
    count_error(run, e);
  }
  run.result.bytes += sent;
  run.received += received;
}

awaitable<void> rr_worker(connection conn, const bench_args& args, core::load_plan& plan, shared_run& run) {
  const auto size = static_cast<std::size_t>(args.size);
  std::vector<char> request(size, 'x'), reply(size);
  try {
    while (auto intended = plan.next()) {
      if (args.bench.rate) {
        asio::steady_timer wait(co_await asio::this_coro::executor, *intended);
        co_await wait.async_wait(asio::use_awaitable);
      }
      const auto start = args.bench.rate ? *intended : clock::now();
      co_await conn.write(asio::buffer(request));
      for (std::size_t got = 0; got < size;) {
        const auto n = co_await conn.read_some(asio::buffer(reply.data() + got, size - got));
        if (n == 0) throw core::error(core::errc::protocol, core::phase::read, conn.peer(), "the server closed the connection (is it --echo?)");
        got += n;
      }
      if (plan.measuring(start)) {
        run.result.latency.record(clock::now() - start);
        ++run.result.count;
        run.result.bytes += 2 * size;
      }
    }
  } catch (const core::error& e) {
    count_error(run, e);
  }
}

}  // namespace

awaitable<int> run_bench(core::run_context& ctx, const bench_args& args) {
  auto options = args.connect;
  options.connect_timeout = args.timeouts.connect_timeout;
  options.servername = args.tls.servername;
  options.nodelay = options.nodelay || args.rr;  // small round trips must not wait for Nagle
  const core::target to{args.host, *core::parse_port(args.port), {}};
  const auto tls = client_tls(args.tls);

  std::vector<connection> conns;
  for (std::size_t i = 0; i < args.bench.concurrency; ++i)
    conns.push_back(co_await core::with_retries<connection>(args.timeouts.retry,
                                                            [&] { return core::connect(to, options, tls); }));
  core::log::info("bench: {} connection{} to {}", conns.size(), conns.size() == 1 ? "" : "s", to.describe());

  shared_run run;
  std::vector<awaitable<void>> workers;
  const auto start = clock::now();
  core::load_plan plan(args.bench, start);
  if (args.rr) {
    for (auto& c : conns) workers.push_back(rr_worker(std::move(c), args, plan, run));
    co_await core::all_of(std::move(workers));
    run.result.elapsed = clock::now() - plan.measure_from();
  } else {
    std::optional<clock::time_point> until;
    if (args.bench.length) until = start + *args.bench.length;
    for (auto& c : conns) workers.push_back(bulk_worker(std::move(c), args, until, run));
    co_await core::all_of(std::move(workers));
    run.result.elapsed = clock::now() - start;
    run.result.extra["received"] = run.received;
  }
  co_return core::finish_bench(ctx.out(), ctx.json(), args.bench, run.result, args.rr ? "round trips" : "connections");
}

}  // namespace nettool::tcp
