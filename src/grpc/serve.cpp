// grpc serve: grpc.testing.TestService with the interop semantics of grpc's
// interop-test-descriptions, grpc.health.v1.Health and server reflection.
// The handlers are grpc++ callback reactors on grpc++'s own threads: a call
// never touches the io_context, which only waits for the stop.
#include "call_log.hpp"
#include "grpc.hpp"

#include "nettool/core/listen.hpp"
#include "nettool/core/log.hpp"
#include "nettool/core/stdio.hpp"

#include <grpc/health/v1/health.grpc.pb.h>
#include <grpc/testing/test.grpc.pb.h>
#include <grpcpp/alarm.h>
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/resource_quota.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>

#include <atomic>
#include <deque>
#include <mutex>

namespace nettool::grpc {
namespace {

namespace gt = ::grpc::testing;
namespace health = ::grpc::health::v1;
using ::grpc::CallbackServerContext;
using ::grpc::Status;

constexpr const char* echo_initial = "x-grpc-test-echo-initial";
constexpr const char* echo_trailing = "x-grpc-test-echo-trailing-bin";

// The interop cases' metadata echo: the client's values come back as
// initial and trailing metadata.
void echo_metadata(CallbackServerContext& ctx) {
  const auto& md = ctx.client_metadata();
  if (auto it = md.find(echo_initial); it != md.end())
    ctx.AddInitialMetadata(echo_initial, std::string(it->second.data(), it->second.size()));
  if (auto it = md.find(echo_trailing); it != md.end())
    ctx.AddTrailingMetadata(echo_trailing, std::string(it->second.data(), it->second.size()));
}

Status requested_status(const gt::EchoStatus& s) {
  return Status(static_cast<::grpc::StatusCode>(s.code()), s.message());
}

void fill_payload(gt::Payload& payload, std::int32_t size) {
  payload.set_type(gt::COMPRESSABLE);
  payload.mutable_body()->assign(static_cast<std::size_t>(size > 0 ? size : 0), '\0');
}

// Sizes come from the client: a negative or huge one is its mistake.
bool size_ok(std::int32_t size, std::uint64_t max) { return size >= 0 && static_cast<std::uint64_t>(size) <= max; }

// The bytes of responses that exist at once (built and not yet handed to
// the transport), for all clients together: grpc++'s memory quota does not
// see the messages a service builds, so without this many concurrent calls
// asking for --max-msg-size responses would hold any amount of memory.
class response_budget {
 public:
  explicit response_budget(std::uint64_t limit) : limit_(limit) {}
  bool take(std::uint64_t n) {
    auto used = used_.load();
    do {
      if (n > limit_ - used) return false;
    } while (!used_.compare_exchange_weak(used, used + n));
    return true;
  }
  void give(std::uint64_t n) { used_ -= n; }
  std::uint64_t limit() const { return limit_; }

 private:
  const std::uint64_t limit_;
  std::atomic<std::uint64_t> used_ = 0;
};

// Unary responses below this size are not counted (see test_service::unary).
constexpr std::uint64_t unbudgeted_response = 64 * 1024;

Status over_budget(const response_budget& budget) {
  return Status(::grpc::StatusCode::RESOURCE_EXHAUSTED,
                fmt::format("responses in flight would pass the server's {} MiB; try again", budget.limit() >> 20));
}

// A unary call whose response holds budget: given back once grpc++ is done
// with the call (and so with the response).
class budgeted_reactor final : public ::grpc::ServerUnaryReactor {
 public:
  budgeted_reactor(response_budget& budget, std::uint64_t held) : budget_(budget), held_(held) {}
  void OnDone() override {
    budget_.give(held_);
    delete this;
  }

 private:
  response_budget& budget_;
  const std::uint64_t held_;
};

class test_service final : public gt::TestService::CallbackService {
 public:
  explicit test_service(std::uint64_t max) : max_(max), budget_(memory_quota(max)) {}

  ::grpc::ServerUnaryReactor* EmptyCall(CallbackServerContext* ctx, const gt::Empty*, gt::Empty*) override {
    echo_metadata(*ctx);
    auto* r = ctx->DefaultReactor();
    r->Finish(Status::OK);
    return r;
  }

  ::grpc::ServerUnaryReactor* UnaryCall(CallbackServerContext* ctx, const gt::SimpleRequest* req,
                                        gt::SimpleResponse* resp) override {
    echo_metadata(*ctx);
    return unary(*ctx, *req, *resp);
  }

  ::grpc::ServerUnaryReactor* CacheableUnaryCall(CallbackServerContext* ctx, const gt::SimpleRequest* req,
                                                 gt::SimpleResponse* resp) override {
    echo_metadata(*ctx);
    ctx->AddInitialMetadata("cache-control", "max-age=60, public");
    return unary(*ctx, *req, *resp);
  }

  ::grpc::ServerWriteReactor<gt::StreamingOutputCallResponse>* StreamingOutputCall(
      CallbackServerContext* ctx, const gt::StreamingOutputCallRequest* req) override;
  ::grpc::ServerReadReactor<gt::StreamingInputCallRequest>* StreamingInputCall(
      CallbackServerContext* ctx, gt::StreamingInputCallResponse* resp) override;
  ::grpc::ServerBidiReactor<gt::StreamingOutputCallRequest, gt::StreamingOutputCallResponse>* FullDuplexCall(
      CallbackServerContext* ctx) override;
  ::grpc::ServerBidiReactor<gt::StreamingOutputCallRequest, gt::StreamingOutputCallResponse>* HalfDuplexCall(
      CallbackServerContext* ctx) override;

  std::uint64_t max() const { return max_; }

 private:
  // The default reactor (no budget to give back) unless the response has a body.
  ::grpc::ServerUnaryReactor* unary(CallbackServerContext& ctx, const gt::SimpleRequest& req,
                                    gt::SimpleResponse& resp) {
    auto finish = [&](const Status& status, ::grpc::ServerUnaryReactor* r = nullptr) {
      if (!r) r = ctx.DefaultReactor();
      r->Finish(status);
      return r;
    };
    if (req.has_response_status() && req.response_status().code() != 0)
      return finish(requested_status(req.response_status()));
    if (!size_ok(req.response_size(), max_))
      return finish(
          Status(::grpc::StatusCode::INVALID_ARGUMENT, "response_size is negative or larger than --max-msg-size"));
    const auto size = static_cast<std::uint64_t>(req.response_size());
    // Small responses stay off the budget: a reactor of our own (to give the
    // budget back in OnDone) costs grpc++'s inline fast path for the default
    // one, measured at a third more server CPU per call.
    const bool budgeted = size >= unbudgeted_response;
    if (budgeted && !budget_.take(size)) return finish(over_budget(budget_));
    if (req.response_compressed().value()) ctx.set_compression_algorithm(GRPC_COMPRESS_GZIP);
    fill_payload(*resp.mutable_payload(), req.response_size());
    if (req.fill_server_id()) resp.set_server_id("nettool");
    return finish(Status::OK, budgeted ? new budgeted_reactor(budget_, size) : nullptr);
  }

  std::uint64_t max_;
  response_budget budget_;
};

// Writes queued responses, each after its interval (interval_us), one at a
// time as grpc++ requires. Used by the streaming methods' reactors, whose
// callbacks may run on several of grpc++'s threads at once: hence the lock.
template <class Base>
class paced_writer : public Base {
 public:
  paced_writer(CallbackServerContext& ctx, response_budget& budget) : ctx_(ctx), budget_(budget) {}

 protected:
  struct pending {
    std::int32_t size;
    std::int32_t interval_us;
    bool compressed;
  };

  // Queues the responses one request asks for. Caller holds mu_.
  // A request asks for at most this many responses: each costs the server
  // memory until it is written, whatever its size.
  static constexpr int max_responses_per_request = 1024;

  // Queues the responses one request asks for, or says why it cannot.
  // Caller holds mu_.
  Status queue(const google::protobuf::RepeatedPtrField<gt::ResponseParameters>& params, std::uint64_t max) {
    if (params.size() > max_responses_per_request)
      return Status(::grpc::StatusCode::INVALID_ARGUMENT,
                    fmt::format("at most {} response_parameters per request", max_responses_per_request));
    for (const auto& p : params)
      if (!size_ok(p.size(), max))
        return Status(::grpc::StatusCode::INVALID_ARGUMENT,
                      "a response size is negative or larger than --max-msg-size");
    for (const auto& p : params) {
      if (p.compressed().value()) ctx_.set_compression_algorithm(GRPC_COMPRESS_GZIP);
      queue_.push_back({p.size(), p.interval_us(), p.compressed().value()});
    }
    return Status::OK;
  }

  // Starts the next write if none is in flight. Caller holds mu_.
  void pump() {
    if (writing_ || finished_ || queue_.empty()) {
      if (!writing_ && queue_.empty()) drained();
      return;
    }
    writing_ = true;
    const auto next = queue_.front();
    queue_.pop_front();
    if (next.interval_us > 0) {
      // A cancelled call arms no more alarms: OnCancel has already looked.
      if (cancelled_) {
        writing_ = false;
        finish_locked(Status::CANCELLED);
        return;
      }
      alarm_ = std::make_unique<::grpc::Alarm>();
      alarm_->Set(std::chrono::system_clock::now() + std::chrono::microseconds(next.interval_us),
                  [this, next](bool fired) { on_alarm(fired, next); });
      return;
    }
    if (!write_locked(next)) {
      writing_ = false;
      finish_locked(over_budget(budget_));
    }
  }

  // Builds the response and starts its write. The budget is taken only
  // now, not while a paced response waits for its interval. false: the
  // budget is used up (the caller ends the call). Caller holds mu_.
  bool write_locked(const pending& next) {
    if (!budget_.take(static_cast<std::uint64_t>(next.size))) {
      queue_.clear();
      return false;
    }
    budget_held_ = static_cast<std::uint64_t>(next.size);
    fill_payload(*out_.mutable_payload(), next.size);
    start_write(next.compressed);
    return true;
  }

  // Not a grpc++ reaction: OnDone may run (and delete this) as soon as
  // Finish is called, so Finish comes after the lock is released.
  void on_alarm(bool fired, const pending& next) {
    std::optional<Status> end;
    {
      std::lock_guard lock(mu_);
      const bool go = fired && !finished_ && !cancelled_;
      if (go && write_locked(next)) return;
      writing_ = false;
      if (!finished_) end = go ? over_budget(budget_) : Status::CANCELLED;
      finished_ = true;
    }
    if (end) this->Finish(*end);
  }

  void start_write(bool compressed) {
    ::grpc::WriteOptions options;
    if (!compressed) options.set_no_compression();
    this->StartWrite(&out_, options);
  }

  void OnWriteDone(bool ok) override {
    std::lock_guard lock(mu_);
    writing_ = false;
    release();
    if (!ok) {
      finish_locked(Status::CANCELLED);
      return;
    }
    pump();
    room();
  }

  // The written message's budget, and its memory (clear() would keep it).
  void release() {
    budget_.give(budget_held_);
    budget_held_ = 0;
    std::string().swap(*out_.mutable_payload()->mutable_body());
  }

  // After a write, with mu_ held: the queue may have room again.
  virtual void room() {}

  // The alarm's callback takes mu_: cancel it unlocked. No later pump()
  // replaces alarm_ once cancelled_ is set, so the pointer stays valid.
  void OnCancel() override {
    ::grpc::Alarm* alarm = nullptr;
    {
      std::lock_guard lock(mu_);
      cancelled_ = true;
      alarm = alarm_.get();
    }
    if (alarm) alarm->Cancel();
  }

  void OnDone() override { delete this; }

  // Called with mu_ held when nothing is queued or being written.
  virtual void drained() = 0;

  void finish_locked(const Status& status) {
    if (finished_ || writing_) return;
    finished_ = true;
    this->Finish(status);
  }

  std::mutex mu_;
  CallbackServerContext& ctx_;
  response_budget& budget_;
  std::uint64_t budget_held_ = 0;  // held by out_
  gt::StreamingOutputCallResponse out_;
  std::deque<pending> queue_;
  std::unique_ptr<::grpc::Alarm> alarm_;  // a new one per interval
  bool writing_ = false;
  bool finished_ = false;
  bool cancelled_ = false;
};

class output_stream final : public paced_writer<::grpc::ServerWriteReactor<gt::StreamingOutputCallResponse>> {
 public:
  output_stream(CallbackServerContext& ctx, const gt::StreamingOutputCallRequest& req, std::uint64_t max,
                response_budget& budget)
      : paced_writer(ctx, budget) {
    echo_metadata(ctx);
    std::lock_guard lock(mu_);
    if (req.has_response_status() && req.response_status().code() != 0) end_ = requested_status(req.response_status());
    if (end_.ok()) end_ = queue(req.response_parameters(), max);
    if (!end_.ok()) queue_.clear();
    pump();
  }

 private:
  void drained() override { finish_locked(end_); }
  Status end_ = Status::OK;
};

class input_stream final : public ::grpc::ServerReadReactor<gt::StreamingInputCallRequest> {
 public:
  input_stream(CallbackServerContext& ctx, gt::StreamingInputCallResponse& resp) : resp_(resp) {
    echo_metadata(ctx);
    StartRead(&in_);
  }

 private:
  void OnReadDone(bool ok) override {
    if (ok) {
      total_ += static_cast<std::int64_t>(in_.payload().body().size());
      StartRead(&in_);
      return;
    }
    resp_.set_aggregated_payload_size(static_cast<std::int32_t>(std::min<std::int64_t>(total_, INT32_MAX)));
    Finish(Status::OK);
  }
  void OnDone() override { delete this; }

  gt::StreamingInputCallResponse& resp_;
  gt::StreamingInputCallRequest in_;
  std::int64_t total_ = 0;
};

// FullDuplexCall answers each request as it is read; HalfDuplexCall keeps
// them until the client half-closes.
class duplex final
    : public paced_writer<::grpc::ServerBidiReactor<gt::StreamingOutputCallRequest, gt::StreamingOutputCallResponse>> {
 public:
  duplex(CallbackServerContext& ctx, bool half, std::uint64_t max, response_budget& budget)
      : paced_writer(ctx, budget), half_(half), max_(max) {
    echo_metadata(ctx);
    StartRead(&in_);
  }

 private:
  void OnReadDone(bool ok) override {
    std::lock_guard lock(mu_);
    if (finished_) return;
    if (!ok) {
      reading_ = false;
      for (const auto& req : held_)
        if (auto refused = queue(req.response_parameters(), max_); !refused.ok()) return fail(refused);
      held_.clear();
      pump();
      return;
    }
    if (in_.has_response_status() && in_.response_status().code() != 0) {
      reading_ = false;
      queue_.clear();
      end_ = requested_status(in_.response_status());
      pump();
      return;
    }
    if (half_) {
      // What a HalfDuplexCall holds until the client half-closes is bounded.
      held_bytes_ += in_.ByteSizeLong();
      if (held_bytes_ > max_)
        return fail(Status(::grpc::StatusCode::RESOURCE_EXHAUSTED,
                           "the requests held until the half-close are larger than --max-msg-size"));
      held_.push_back(in_);
    } else if (auto refused = queue(in_.response_parameters(), max_); !refused.ok()) {
      return fail(refused);
    }
    // The next read reuses in_: give back what this request's repeated
    // fields hold (Clear() would keep them).
    gt::StreamingOutputCallRequest().Swap(&in_);
    // Backpressure: a client that asks for responses faster than it reads
    // them is not read from until the queue has drained to half.
    if (queue_.size() < max_queued)
      StartRead(&in_);
    else
      pause();
    pump();
  }

  void pause() {
    paused_ = true;
    core::log::debug("FullDuplexCall from {}: {} responses wait to be written; not reading until half are", ctx_.peer(),
                     queue_.size());
  }

  void room() override {
    if (!paused_ || finished_ || queue_.size() > max_queued / 2) return;
    paused_ = false;
    core::log::debug("FullDuplexCall from {}: reading again", ctx_.peer());
    StartRead(&in_);
  }

  void fail(const Status& why) {
    queue_.clear();
    end_ = why;
    reading_ = false;
    pump();
  }

  void drained() override {
    if (!reading_ || !end_.ok()) finish_locked(end_);
  }

  static constexpr std::size_t max_queued = 1024;  // responses asked for and not yet written
  const bool half_;
  const std::uint64_t max_;
  bool paused_ = false;
  gt::StreamingOutputCallRequest in_;
  std::vector<gt::StreamingOutputCallRequest> held_;
  std::uint64_t held_bytes_ = 0;
  bool reading_ = true;
  Status end_ = Status::OK;
};

::grpc::ServerWriteReactor<gt::StreamingOutputCallResponse>* test_service::StreamingOutputCall(
    CallbackServerContext* ctx, const gt::StreamingOutputCallRequest* req) {
  return new output_stream(*ctx, *req, max_, budget_);
}

::grpc::ServerReadReactor<gt::StreamingInputCallRequest>* test_service::StreamingInputCall(
    CallbackServerContext* ctx, gt::StreamingInputCallResponse* resp) {
  return new input_stream(*ctx, *resp);
}

::grpc::ServerBidiReactor<gt::StreamingOutputCallRequest, gt::StreamingOutputCallResponse>*
test_service::FullDuplexCall(CallbackServerContext* ctx) {
  return new duplex(*ctx, false, max_, budget_);
}

::grpc::ServerBidiReactor<gt::StreamingOutputCallRequest, gt::StreamingOutputCallResponse>*
test_service::HalfDuplexCall(CallbackServerContext* ctx) {
  return new duplex(*ctx, true, max_, budget_);
}

// grpc.health.v1.Health: statuses fixed at start (--health), so Watch sends
// the current one and then holds the stream until the client leaves.
class health_service final : public health::Health::CallbackService {
 public:
  explicit health_service(std::map<std::string, int> statuses) : statuses_(std::move(statuses)) {}

  ::grpc::ServerUnaryReactor* Check(CallbackServerContext* ctx, const health::HealthCheckRequest* req,
                                    health::HealthCheckResponse* resp) override {
    auto* r = ctx->DefaultReactor();
    const auto it = statuses_.find(req->service());
    if (it == statuses_.end()) {
      r->Finish(Status(::grpc::StatusCode::NOT_FOUND, "unknown service"));
      return r;
    }
    resp->set_status(static_cast<health::HealthCheckResponse::ServingStatus>(it->second));
    r->Finish(Status::OK);
    return r;
  }

  ::grpc::ServerWriteReactor<health::HealthCheckResponse>* Watch(CallbackServerContext*,
                                                                 const health::HealthCheckRequest* req) override {
    class watcher final : public ::grpc::ServerWriteReactor<health::HealthCheckResponse> {
     public:
      explicit watcher(int status) {
        out_.set_status(static_cast<health::HealthCheckResponse::ServingStatus>(status));
        StartWrite(&out_);
      }
      void OnWriteDone(bool ok) override {
        if (!ok) finish(Status::CANCELLED);
      }
      void OnCancel() override { finish(Status::CANCELLED); }
      void OnDone() override { delete this; }

     private:
      void finish(const Status& s) {
        std::lock_guard lock(mu_);
        if (finished_) return;
        finished_ = true;
        Finish(s);
      }
      std::mutex mu_;
      bool finished_ = false;
      health::HealthCheckResponse out_;
    };
    const auto it = statuses_.find(req->service());
    return new watcher(it == statuses_.end() ? health::HealthCheckResponse::SERVICE_UNKNOWN : it->second);
  }

 private:
  const std::map<std::string, int> statuses_;
};

std::shared_ptr<::grpc::ServerCredentials> server_credentials(const core::tls_server_options& tls) {
  if (!tls.enabled) return ::grpc::InsecureServerCredentials();
  ::grpc::SslServerCredentialsOptions options(tls.client_ca.empty()
                                                  ? GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE
                                                  : GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  if (tls.cert.empty()) {
    // --tls alone: the core's ephemeral certificate, as for every server.
    auto pem = core::make_ephemeral_pem();
    options.pem_key_cert_pairs.push_back({std::move(pem.key), std::move(pem.cert)});
  } else {
    options.pem_key_cert_pairs.push_back(
        {read_pem(tls.key, "--key", pem::key), read_pem(tls.cert, "--cert", pem::certificate)});
  }
  if (!tls.client_ca.empty()) options.pem_root_certs = read_pem(tls.client_ca, "--client-ca", pem::certificate);
  return ::grpc::SslServerCredentials(options);
}

std::string listen_address(const core::listen_options& l) {
  if (!l.unix_path.empty()) return "unix:" + l.unix_path;
  const bool v6 = l.bind.find(':') != std::string::npos;
  return (v6 ? "[" + l.bind + "]" : l.bind) + ":" + std::to_string(l.port);
}

}  // namespace

awaitable<int> run_serve(core::run_context& ctx, const serve_args& args) {
  test_service tests(args.max_message);
  std::map<std::string, int> statuses{{"", health::HealthCheckResponse::SERVING},
                                      {"grpc.testing.TestService", health::HealthCheckResponse::SERVING},
                                      {"grpc.health.v1.Health", health::HealthCheckResponse::SERVING}};
  for (const auto& [name, status] : args.health) statuses[name] = status;
  health_service health_checks(std::move(statuses));

  ::grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  ::grpc::ServerBuilder builder;
  int port = 0;
  const auto address = listen_address(args.listen);
  builder.AddListeningPort(address, server_credentials(args.tls), &port);
  const int max =
      args.max_message > static_cast<std::uint64_t>(INT32_MAX) ? INT32_MAX : static_cast<int>(args.max_message);
  builder.SetMaxReceiveMessageSize(max);
  ::grpc::ResourceQuota quota("nettool-grpc-serve");
  quota.Resize(memory_quota(args.max_message));
  builder.SetResourceQuota(quota);
  // Time and streams per client (docs/security.md): a client must finish
  // its handshake (HTTP/2 preface, TLS) within 10 s, may keep 100 calls
  // open on one connection, and a connection with none is closed after 5
  // minutes.
  builder.AddChannelArgument(GRPC_ARG_SERVER_HANDSHAKE_TIMEOUT_MS, 10'000);
  // grpc++ sets SO_REUSEPORT by default: a busy port would be shared with
  // its other listener, not refused (exit 8).
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, 100);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_IDLE_MS, 5 * 60'000);
  builder.SetMaxSendMessageSize(max);
  builder.RegisterService(&tests);
  builder.RegisterService(&health_checks);
  // Only when asked for: an interceptor costs every call some time.
  call_log calls(ctx);
  if (ctx.json() || core::log::enabled(core::log::level::info)) {
    std::vector<std::unique_ptr<::grpc::experimental::ServerInterceptorFactoryInterface>> creators;
    creators.push_back(calls.factory());
    builder.experimental().SetInterceptorCreators(std::move(creators));
  }
  auto server = builder.BuildAndStart();
  if (!server || (args.listen.unix_path.empty() && port == 0))
    throw core::error(core::errc::local_failure, core::phase::bind, address,
                      args.tls.enabled ? "cannot listen there (in use, not an address of this host, or --cert and "
                                         "--key that grpc++ cannot use: not a pair, or an encrypted key)"
                                       : "cannot listen there (in use, or not an address of this host)");
  if (args.listen.unix_path.empty())
    core::announce_listening(ctx.out(), ctx.json(), args.listen.bind, static_cast<std::uint16_t>(port),
                             args.listen.port_file);
  else
    core::announce_listening(ctx.out(), ctx.json(), args.listen.unix_path, std::nullopt, args.listen.port_file);

  std::exception_ptr stop;
  try {
    auto forever = core::sleep_for(std::chrono::hours(24 * 365 * 100));
    auto until = core::first_of(std::move(forever), calls.wait_failure());
    co_await std::move(until);
  } catch (...) {
    stop = std::current_exception();
  }
  // SPEC §1: a stopped server finishes or closes open calls within 2 s.
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  server->Wait();
  co_await calls.drain();
  if (stop) std::rethrow_exception(stop);
  co_return 0;
}

}  // namespace nettool::grpc
