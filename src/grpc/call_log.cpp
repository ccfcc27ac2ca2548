#include "call_log.hpp"

#include "grpc.hpp"

#include "nettool/core/async.hpp"
#include "nettool/core/events.hpp"
#include "nettool/core/log.hpp"
#include "nettool/core/output.hpp"

#include <grpcpp/server_context.h>
#include <boost/asio/post.hpp>
#include <boost/json.hpp>

#include <atomic>
#include <mutex>

namespace nettool::grpc {

namespace ex = ::grpc::experimental;
using clock = std::chrono::steady_clock;

struct call_log::state : std::enable_shared_from_this<call_log::state> {
  // Lines waiting for the io_context at most: a stdout slower than the
  // calls must not grow the server's memory; what is dropped is counted.
  static constexpr std::uint64_t max_pending = 10'000;

  core::run_context& ctx;
  const bool json;
  core::asio::any_io_executor executor;
  core::event failed;
  std::exception_ptr failure;
  std::atomic<std::uint64_t> live = 0;  // interceptors that have not logged yet
  std::mutex mu;                        // guards posting against drain() closing
  bool closed = false;
  std::uint64_t pending = 0, dropped = 0;

  explicit state(core::run_context& c) : ctx(c), json(c.json()), executor(c.executor()), failed(c.executor()) {}

  // On grpc++'s threads.
  void post(std::string line) {
    std::lock_guard lock(mu);
    if (closed || pending >= max_pending) {
      ++dropped;
      return;
    }
    ++pending;
    core::asio::post(executor, [self = shared_from_this(), line = std::move(line)] { self->write(line); });
  }

  // On the io_context.
  void write(const std::string& line) {
    {
      std::lock_guard lock(mu);
      --pending;
    }
    if (failure) return;
    try {
      ctx.out().line(line);
    } catch (...) {
      failure = std::current_exception();
      failed.set();
    }
  }
};

namespace {

// grpc++'s peer names are URIs: "ipv4:127.0.0.1:5000", "ipv6:%5B::1%5D:5000".
std::string peer_address(std::string_view peer) {
  for (const std::string_view scheme : {"ipv4:", "ipv6:"})
    if (peer.starts_with(scheme)) peer.remove_prefix(scheme.size());
  std::string out;
  while (!peer.empty()) {
    if (peer.starts_with("%5B") || peer.starts_with("%5D")) {
      out += peer[2] == 'B' ? '[' : ']';
      peer.remove_prefix(3);
    } else {
      out += peer.front();
      peer.remove_prefix(1);
    }
  }
  return out;
}

class call_interceptor final : public ex::Interceptor {
 public:
  call_interceptor(std::shared_ptr<call_log::state> log, ex::ServerRpcInfo* info)
      : log_(std::move(log)), info_(info), method_(info->method()) {
    ++log_->live;
  }

  void Intercept(ex::InterceptorBatchMethods* batch) override {
    using hook = ex::InterceptionHookPoints;
    // Not at creation: a synchronous service's (reflection's) context has
    // no peer until the call runs.
    if (peer_.empty()) peer_ = peer_address(info_->server_context()->peer());
    if (batch->QueryInterceptionHookPoint(hook::POST_RECV_MESSAGE) && batch->GetRecvMessage()) ++requests_;
    if (batch->QueryInterceptionHookPoint(hook::PRE_SEND_MESSAGE)) ++responses_;
    if (batch->QueryInterceptionHookPoint(hook::PRE_SEND_STATUS)) status_ = batch->GetSendStatus();
    batch->Proceed();
  }

  // grpc++ destroys the interceptors when the call is over: the one moment
  // that also covers a call the client cancelled (no status was sent).
  ~call_interceptor() override {
    const auto code =
        status_ ? static_cast<int>(status_->error_code()) : static_cast<int>(::grpc::StatusCode::CANCELLED);
    const auto elapsed = clock::now() - began_;
    if (core::log::enabled(core::log::level::info))
      core::log::info("{} {} {} in {} ({} in, {} out)", peer_, method_, status_name(code),
                      core::format_duration(elapsed), requests_, responses_);
    if (log_->json) {
      auto event = core::peer_event("call", peer_);
      event["method"] = method_;
      event["code"] = code;
      event["status"] = status_name(code);
      if (status_ && !status_->error_message().empty()) event["message"] = status_->error_message();
      event["requests"] = requests_;
      event["responses"] = responses_;
      event["elapsed"] = core::to_seconds(elapsed);
      log_->post(core::to_json(event));
    }
    --log_->live;
  }

 private:
  std::shared_ptr<call_log::state> log_;
  ex::ServerRpcInfo* info_;  // valid while the call runs, not in the destructor
  std::string method_, peer_;
  clock::time_point began_ = clock::now();
  std::uint64_t requests_ = 0, responses_ = 0;
  std::optional<::grpc::Status> status_;
};

class factory_type final : public ex::ServerInterceptorFactoryInterface {
 public:
  explicit factory_type(std::shared_ptr<call_log::state> log) : log_(std::move(log)) {}
  ex::Interceptor* CreateServerInterceptor(ex::ServerRpcInfo* info) override {
    return new call_interceptor(log_, info);
  }

 private:
  std::shared_ptr<call_log::state> log_;
};

}  // namespace

call_log::call_log(core::run_context& ctx) : state_(std::make_shared<state>(ctx)) {}

std::unique_ptr<ex::ServerInterceptorFactoryInterface> call_log::factory() {
  return std::make_unique<factory_type>(state_);
}

core::awaitable<void> call_log::wait_failure() {
  co_await state_->failed.wait();
  std::rethrow_exception(state_->failure);
}

core::awaitable<void> call_log::drain() {
  // grpc++ destroys a call's interceptors a little after Wait() returns:
  // wait for them (bounded), let their lines out, then post no more.
  for (int i = 0; i < 200 && state_->live.load() > 0; ++i) co_await core::sleep_for(std::chrono::milliseconds(10));
  co_await core::asio::post(state_->executor, core::asio::use_awaitable);
  std::uint64_t dropped = 0;
  {
    std::lock_guard lock(state_->mu);
    state_->closed = true;
    dropped = state_->dropped;
  }
  if (dropped > 0) core::log::warn("{} call log lines were dropped: stdout did not keep up", dropped);
}

}  // namespace nettool::grpc
