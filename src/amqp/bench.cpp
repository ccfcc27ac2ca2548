// amqp bench: --producers connections publishing (confirms on) to one
// queue that --consumers connections consume, in one process; each message
// carries its intended send time, so publish-to-consume latency comes out
// of the core's histogram (coordinated omission stays visible under --rate).
#include "publisher.hpp"

#include "nettool/core/bench.hpp"
#include "nettool/core/error.hpp"
#include "nettool/core/log.hpp"

#include <fmt/format.h>
#include <boost/json.hpp>

#include <unistd.h>

#include <cstring>

namespace nettool::amqp {
namespace {

using clock = std::chrono::steady_clock;

// After the producers are done, how long consumers wait for what is missing.
constexpr auto drain_limit = std::chrono::seconds(2);

// The first 8 bytes of a body: the intended send time (steady clock, ns).
constexpr std::size_t stamp_size = sizeof(std::int64_t);

void stamp(std::string& body, clock::time_point t) {
  const std::int64_t ns = t.time_since_epoch().count();
  std::memcpy(body.data(), &ns, stamp_size);
}

std::optional<clock::time_point> stamp_of(const std::string& body) {
  if (body.size() < stamp_size) return std::nullopt;
  std::int64_t ns = 0;
  std::memcpy(&ns, body.data(), stamp_size);
  return clock::time_point(clock::duration(ns));
}

struct run_state {
  std::uint64_t published = 0;
  std::uint64_t confirmed = 0;
  std::uint64_t consumed = 0;
  std::uint64_t foreign = 0;  // bodies without our stamp (someone else's messages)
  bool producing = true;
  core::bench_result result;
};

awaitable<void> produce(core::run_context& ctx, const bench_args& args, const std::string& queue, core::load_plan& plan,
                        run_state& state) {
  session s(ctx, args.client);
  co_await s.open();
  const auto props = make_properties({}, false, {}, {});
  const destination to{"", queue, props.get(), false, true, args.window};
  publisher out(s, to);
  co_await out.start();
  std::string body(std::max<std::size_t>(args.size, stamp_size), 'x');
  batch pending;
  auto flush = [&]() -> awaitable<void> {
    if (pending.empty()) co_return;
    state.published += pending.ends.size();
    auto send = out.send(pending);
    co_await std::move(send);
    pending.clear();
  };
  for (;;) {
    const auto next = plan.next();
    if (!next) break;
    auto t = *next;
    if (args.bench.rate) {
      if (t > clock::now()) {
        co_await flush();  // what is due goes now; then wait for the next one's time
        co_await core::sleep_for(t - clock::now());
      }
    } else {
      t = clock::now();
    }
    stamp(body, t);
    pending.add(body);
    if (pending.full()) co_await flush();
  }
  co_await flush();
  auto finish = out.finish();
  const auto counts = co_await std::move(finish);
  state.confirmed += counts.acked;
  co_await s.close();
}

awaitable<void> consume(core::run_context& ctx, const bench_args& args, const std::string& queue,
                        const core::load_plan& plan, run_state& state) {
  session s(ctx, args.client);
  co_await s.open();
  auto subscribe = s.call([&queue](amqp_connection_state_t conn) {
    amqp_basic_qos(conn, 1, 0, 1000, 0);
    check_reply(amqp_get_rpc_reply(conn), "qos");
    amqp_basic_consume(conn, 1, bytes(queue), amqp_empty_bytes, 0, 0, 0, amqp_empty_table);
    check_reply(amqp_get_rpc_reply(conn), "consume " + queue);
  });
  co_await std::move(subscribe);
  s.start_deliveries(1000);
  // Until the producers are done and everything they published arrived,
  // or nothing more came for --drain-timeout (2 s) after they were done.
  auto last_progress = clock::now();
  while (state.producing || state.consumed < state.published) {
    // Bounded, so that a consumer that gets nothing more sees the end.
    auto next = s.next_deliveries_within(std::chrono::milliseconds(100));
    auto got = co_await std::move(next);
    if (!got) {
      if (!state.producing && clock::now() - last_progress > drain_limit) break;
      continue;
    }
    auto item = std::move(*got);
    last_progress = clock::now();
    const auto now = clock::now();
    std::uint64_t last = 0;
    for (const auto& m : item.messages) {
      last = m.delivery_tag;
      const auto sent = stamp_of(m.body);
      if (!sent) {
        ++state.foreign;
        continue;
      }
      ++state.consumed;
      if (plan.measuring(*sent)) {
        state.result.latency.record(now - *sent);
        ++state.result.count;
        state.result.bytes += m.body.size();
      }
    }
    s.consumed(item.messages);
    if (last) s.post([last](amqp_connection_state_t conn) { check_status(amqp_basic_ack(conn, 1, last, 1), "ack"); });
    if (item.failure) std::rethrow_exception(item.failure);
  }
  co_await s.close();
}

}  // namespace

awaitable<int> run_bench(core::run_context& ctx, const bench_args& args) {
  // A queue of the run's own unless --queue names one.
  const std::string queue = args.queue.empty() ? fmt::format("nettool-bench-{}", ::getpid()) : args.queue;
  {
    session admin(ctx, args.client);
    co_await admin.open();
    auto declare = admin.call([&queue, own = args.queue.empty()](amqp_connection_state_t conn) {
      amqp_queue_declare(conn, 1, bytes(queue), 0, 0, 0, own ? 1 : 0, amqp_empty_table);
      check_reply(amqp_get_rpc_reply(conn), "declare-queue " + queue);
    });
    co_await std::move(declare);
    co_await admin.close();
  }
  core::log::info("bench: {} producers, {} consumers, {}-byte messages, queue '{}'", args.producers, args.consumers,
                  args.size, queue);
  run_state state;
  const auto start = clock::now();
  core::load_plan plan(args.bench, start);
  std::vector<core::awaitable<void>> consumers;
  for (unsigned i = 0; i < args.consumers; ++i) consumers.push_back(consume(ctx, args, queue, plan, state));
  auto producers = [&]() -> awaitable<void> {
    std::vector<core::awaitable<void>> all;
    for (unsigned i = 0; i < args.producers; ++i) all.push_back(produce(ctx, args, queue, plan, state));
    auto together = core::all_of(std::move(all));
    co_await std::move(together);
    state.producing = false;
    core::log::info("bench: {} published, {} confirmed; draining", state.published, state.confirmed);
  };
  consumers.push_back(producers());
  // What was published must arrive within --drain-timeout after the last publish.
  auto everything = core::all_of(std::move(consumers));
  co_await std::move(everything);
  state.result.elapsed = clock::now() - std::max(start + args.bench.warmup, plan.measure_from());
  auto& extra = state.result.extra;
  extra["published"] = state.published;
  extra["confirmed"] = state.confirmed;
  extra["consumed"] = state.consumed;
  extra["producers"] = args.producers;
  extra["consumers"] = args.consumers;
  extra["size"] = std::max<std::size_t>(args.size, stamp_size);  // what was sent
  if (state.foreign) extra["foreign"] = state.foreign;
  if (state.confirmed < state.published) state.result.errors["unconfirmed"] = state.published - state.confirmed;
  if (state.consumed < state.published) state.result.errors["not consumed"] = state.published - state.consumed;
  co_return core::finish_bench(ctx.out(), ctx.json(), args.bench, state.result, "messages");
}

}  // namespace nettool::amqp
