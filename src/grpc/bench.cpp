// grpc bench: unary calls, -c in flight over --connections channels, with
// the core's load plan, histogram and summary. The loop runs where grpc++
// completes the calls (its threads): each completion records its latency
// and starts the next call at once, with no hop through the io_context,
// which only waits for the end (core::foreign_call).
#include "json.hpp"
#include "schema.hpp"

#include "nettool/core/bench.hpp"
#include "nettool/core/foreign_thread.hpp"
#include "nettool/core/log.hpp"

#include <grpcpp/alarm.h>
#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>
#include <grpcpp/generic/generic_stub.h>
#include <boost/json.hpp>

#include <array>
#include <atomic>
#include <deque>
#include <mutex>

namespace nettool::grpc {
namespace {

using clock = core::load_plan::clock;
constexpr std::size_t status_count = 17;

// What every call shares: the plan (under its lock), the request, the end.
struct run_state {
  core::load_plan plan;
  std::mutex plan_mutex;
  std::string path;
  ::grpc::ByteBuffer request;
  std::atomic<bool> stopping = false;
  bool paced = false;                    // --rate
  std::atomic<std::size_t> running = 0;  // slots not yet finished
  core::foreign_done<bool> done;

  run_state(const core::bench_options& options, clock::time_point start) : plan(options, start) {}
  std::optional<clock::time_point> next() {
    std::lock_guard lock(plan_mutex);
    return plan.next();
  }
};

// One call in flight at a time, again and again, until the plan ends.
class slot {
 public:
  slot(run_state& run, ::grpc::GenericStub& stub) : run_(run), stub_(stub) {}

  void start() { next(); }

  // SIGINT, --timeout: no new calls; the one in flight is cancelled.
  void stop() {
    std::lock_guard lock(mu_);
    if (context_) context_->TryCancel();
    if (alarm_) alarm_->Cancel();
  }

  // The last slot to finish reports the end while it still holds its lock;
  // the coroutine may resume at once and destroy the slots. Taking each
  // lock once first waits for those last unlocks (nothing runs in a slot
  // after them: no call or alarm is outstanding once all have finished).
  void quiesce() { std::lock_guard lock(mu_); }

  core::histogram latency;
  std::uint64_t ok = 0;
  std::array<std::uint64_t, status_count> statuses{};

 private:
  void next() {
    const auto intended = run_.stopping ? std::nullopt : run_.next();
    if (!intended) return finish();
    const auto now = clock::now();
    // --rate: wait for the intended start (latency counts from it, so a
    // stalled server shows as latency, not as fewer requests).
    if (*intended > now + std::chrono::microseconds(50)) {
      std::lock_guard lock(mu_);
      if (run_.stopping) return finish_locked();
      alarm_ = std::make_unique<::grpc::Alarm>();
      alarm_->Set(std::chrono::system_clock::now() + (*intended - now), [this, t = *intended](bool fired) {
        if (!fired) return finish();
        issue(t);
      });
      return;
    }
    issue(*intended);
  }

  // Latency counts from the intended start under --rate, else from now
  // (without --rate the plan does not read the clock for every call).
  void issue(clock::time_point intended) {
    std::lock_guard lock(mu_);
    if (run_.stopping) return finish_locked();
    const bool measured = run_.plan.measuring(intended);
    const auto from = run_.paced ? intended : clock::now();
    context_ = std::make_unique<::grpc::ClientContext>();
    stub_.UnaryCall(context_.get(), run_.path, ::grpc::StubOptions(), &run_.request, &response_,
                    [this, from, measured](::grpc::Status status) { completed(status, from, measured); });
  }

  void completed(const ::grpc::Status& status, clock::time_point intended, bool measured) {
    if (measured) {
      const auto code = static_cast<std::size_t>(status.error_code());
      ++statuses[code < status_count ? code : static_cast<std::size_t>(::grpc::StatusCode::UNKNOWN)];
      if (status.ok()) {
        latency.record(clock::now() - intended);
        ++ok;
      }
    }
    // A call that fails at once may complete inline: go round through an
    // alarm then, so a dead channel cannot recurse without end.
    if (!status.ok()) {
      std::lock_guard lock(mu_);
      if (run_.stopping) return finish_locked();
      alarm_ = std::make_unique<::grpc::Alarm>();
      alarm_->Set(std::chrono::system_clock::now(), [this](bool) { next(); });
      return;
    }
    next();
  }

  void finish() {
    std::lock_guard lock(mu_);
    finish_locked();
  }
  void finish_locked() {
    if (finished_) return;
    finished_ = true;
    if (--run_.running == 0) run_.done(true);
  }

  run_state& run_;
  ::grpc::GenericStub& stub_;
  std::recursive_mutex mu_;  // TryCancel may complete the call inline
  std::unique_ptr<::grpc::ClientContext> context_;
  std::unique_ptr<::grpc::Alarm> alarm_;
  ::grpc::ByteBuffer response_;
  bool finished_ = false;
};

}  // namespace

awaitable<int> run_bench(core::run_context& ctx, const bench_args& args) {
  std::unique_ptr<schema> files;
  if (!args.schema.reflection()) files = load_files(args.schema);
  std::vector<std::shared_ptr<::grpc::Channel>> channels;
  for (std::size_t i = 0; i < args.connections; ++i) {
    auto channel = co_await open_channel(args);
    channels.push_back(std::move(channel));
  }
  std::unique_ptr<schema> fetched;
  if (!files) {
    auto op = load_reflection(channels.front(), parse_metadata(args.headers), service_of(args.method));
    fetched = co_await std::move(op);
  }
  auto& types = files ? *files : *fetched;
  const auto& method = types.method(args.method);
  if (method.client_streaming() || method.server_streaming())
    throw core::error(core::errc::usage, "method", args.method, "grpc bench runs unary methods");

  std::vector<::grpc::GenericStub> stubs;
  stubs.reserve(channels.size());
  for (auto& c : channels) stubs.emplace_back(c);
  const auto start = clock::now();
  run_state run(args.bench, start);
  run.paced = args.bench.rate.has_value();
  run.path = "/" + method.service()->full_name() + "/" + method.name();
  run.request = request_from_json(types, *method.input_type(), args.data.empty() ? "{}" : args.data);
  std::deque<slot> slots;
  for (std::size_t i = 0; i < args.bench.concurrency; ++i) slots.emplace_back(run, stubs[i % stubs.size()]);
  run.running = slots.size();
  core::log::info("bench: {} call{} in flight over {} connection{} to {}", slots.size(), slots.size() == 1 ? "" : "s",
                  channels.size(), channels.size() == 1 ? "" : "s", args.target);

  std::function<void(core::foreign_done<bool>)> begin = [&](core::foreign_done<bool> done) {
    run.done = std::move(done);
    for (auto& s : slots) s.start();
  };
  std::function<void()> cancel = [&] {
    run.stopping = true;
    for (auto& s : slots) s.stop();
  };
  auto all = core::foreign_call<bool>(std::move(begin), std::move(cancel));
  co_await std::move(all);
  const auto end = clock::now();
  for (auto& s : slots) s.quiesce();

  core::bench_result result;
  result.elapsed = end - run.plan.measure_from();
  std::array<std::uint64_t, status_count> statuses{};
  for (auto& s : slots) {
    result.latency.merge(s.latency);
    result.count += s.ok;
    for (std::size_t i = 0; i < status_count; ++i) statuses[i] += s.statuses[i];
  }
  boost::json::object by_status;
  for (std::size_t i = 0; i < status_count; ++i) {
    if (!statuses[i]) continue;
    by_status[status_name(static_cast<int>(i))] = statuses[i];
    if (i != 0) result.errors[status_name(static_cast<int>(i))] = statuses[i];
  }
  result.extra["status"] = std::move(by_status);
  result.extra["connections"] = channels.size();
  co_return core::finish_bench(ctx.out(), ctx.json(), args.bench, result, "calls");
}

}  // namespace nettool::grpc
