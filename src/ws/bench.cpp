// ws bench: round trips against an echo server with the core's bench kit;
// each connection has one message in flight, latency counted from the
// intended send time under --rate.
#include "ws.hpp"

#include "nettool/core/bench.hpp"
#include "nettool/core/log.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>

namespace nettool::ws {
namespace {

using clock = std::chrono::steady_clock;
constexpr auto use = asio::as_tuple(asio::use_awaitable);

struct shard_run {
  core::bench_result result;
  std::uint64_t mismatched = 0;
};

core::duration reply_limit(const bench_args& args) {
  return args.client.timeouts.idle_timeout.value_or(std::chrono::seconds(10));
}

// A server that does not echo must not hold the run past its end. The
// watchdog looks at the round trip in flight every half --idle-timeout
// (no timer re-armed per message): one it has seen in flight at three
// looks in a row, a whole limit apart at least, is ended by closing the
// socket and counts as an error "reply". A write the server takes no
// bytes of fails at the same limit.
struct reply_watch {
  stream* ws = nullptr;    // the connection in use, if any
  std::uint64_t trip = 0;  // numbers each round trip of the worker
  bool in_flight = false;
  bool expired = false;
};

awaitable<void> watch_replies(reply_watch& w, core::duration limit) {
  std::uint64_t seen = 0;
  int looks = 0;
  for (;;) {
    auto pause = core::sleep_for(limit / 2);
    co_await std::move(pause);
    if (!w.in_flight || !w.ws) {
      looks = 0;
    } else if (w.trip != seen) {
      seen = w.trip;
      looks = 1;
    } else if (++looks >= 3) {
      w.expired = true;
      beast_close_socket(w.ws->next_layer());
      looks = 0;
    }
  }
}

// Clears what the watchdog may touch when the connection goes, however
// the worker leaves it.
struct watch_release {
  reply_watch& w;
  ~watch_release() {
    w.ws = nullptr;
    w.in_flight = false;
  }
};

void bound_writes(stream& ws, const bench_args& args) {
  beast::websocket::stream_base::timeout limits{};
  limits.handshake_timeout = args.client.timeouts.connect_timeout;  // also bounds our Close at the end
  limits.idle_timeout = beast::websocket::stream_base::none();
  limits.keep_alive_pings = false;
  ws.set_option(limits);
  ws.next_layer().conn().set_write_stall_limit(reply_limit(args));
}

core::error no_reply(const std::string& where) {
  return core::error(core::errc::timed_out, "reply", where, "no reply within --idle-timeout");
}

awaitable<void> round_trip(stream& ws, const std::string& payload, beast::flat_buffer& buffer, const std::string& where,
                           reply_watch& watch, std::size_t& got) {
  ++watch.trip;
  watch.expired = false;
  watch.in_flight = true;
  auto [wec, wn] = co_await ws.async_write(asio::buffer(payload), use);
  if (wec) {
    watch.in_flight = false;
    if (watch.expired) throw no_reply(where);
    throw failure(wec, core::phase::write, where);
  }
  auto [rec, rn] = co_await ws.async_read(buffer, use);
  watch.in_flight = false;
  if (rec && watch.expired) throw no_reply(where);
  if (rec) throw failure(rec, core::phase::read, where);
  got = rn;
}

// One connection's round trips, taking start times from the shared plan. A
// failed connection counts as an error of its phase and is opened again.
awaitable<void> round_trips(const bench_args& args, const boost::urls::url& url, core::load_plan& plan, shard_run& run,
                            reply_watch& watch) {
  http::client client(client_options_for(args.client));
  const std::string payload(static_cast<std::size_t>(args.size), 'x');
  beast::flat_buffer buffer;
  std::unique_ptr<stream> ws;
  const watch_release release{watch};  // declared after ws: runs before ws is destroyed
  auto ex = co_await asio::this_coro::executor;
  while (auto intended = plan.next()) {
    if (args.bench.rate) {
      asio::steady_timer wait(ex, *intended);
      co_await wait.async_wait(use);
    }
    const auto start = args.bench.rate ? *intended : clock::now();
    try {
      if (!ws) {
        ws = co_await open_stream(client, url, args.client);
        ws->binary(args.binary);
        bound_writes(*ws, args);
        watch.ws = ws.get();
      }
      std::size_t got = 0;
      auto trip = round_trip(*ws, payload, buffer, args.client.url, watch, got);
      co_await std::move(trip);
      if (plan.measuring(start)) {
        run.result.latency.record(clock::now() - start);
        ++run.result.count;
        run.result.bytes += got;
        if (got != payload.size()) ++run.mismatched;
      }
      buffer.consume(buffer.size());
    } catch (const core::error& e) {
      if (e.code() == core::errc::usage) throw;
      if (plan.measuring(start)) ++run.result.errors[e.phase()];
      core::log::info("bench: {}", e.describe());
      watch.ws = nullptr;
      watch.in_flight = false;
      ws.reset();
    }
  }
  if (ws) {
    auto [ec] = co_await ws->async_close(beast::websocket::close_code::normal, use);
    if (ec) core::log::debug("bench: close: {}", ec.message());
  }
}

awaitable<void> worker(const bench_args& args, const boost::urls::url& url, core::load_plan& plan, shard_run& run) {
  reply_watch watch;
  auto trips = round_trips(args, url, plan, run, watch);
  auto watching = watch_replies(watch, reply_limit(args));
  co_await core::first_of(std::move(trips), std::move(watching));
}

}  // namespace

awaitable<int> run_bench(core::run_context& ctx, const bench_args& args) {
  const auto url = http_url_for(args.client.url);
  const auto shards = core::bench_shards(args.bench);
  std::vector<shard_run> runs(shards);
  const auto start = clock::now();
  core::bench_worker each = [&](std::size_t shard, core::load_plan& plan) { return worker(args, url, plan, runs[shard]); };
  auto task = core::run_workers(args.bench, start, args.client.url, std::move(each));
  co_await std::move(task);

  shard_run total;
  for (const auto& run : runs) {
    total.result.merge(run.result);
    total.mismatched += run.mismatched;
  }
  total.result.elapsed = clock::now() - (start + args.bench.warmup);
  // An echo of another size is not an echo: counted, so --fail-if
  // 'errors>0' catches a server that is not an echo server.
  if (total.mismatched > 0) total.result.errors["not an echo"] = total.mismatched;
  co_return core::finish_bench(ctx.out(), ctx.json(), args.bench, total.result, "messages");
}

}  // namespace nettool::ws
