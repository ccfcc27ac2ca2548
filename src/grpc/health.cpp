// grpc health (grpc.health.v1 Check and Watch) and grpc wait (health, else
// a connection that grpc++ accepts).
#include "grpc.hpp"
#include "stream.hpp"

#include "nettool/core/events.hpp"
#include "nettool/core/log.hpp"
#include "nettool/core/output.hpp"
#include "nettool/core/process.hpp"
#include "nettool/core/wait.hpp"

#include <grpc/health/v1/health.pb.h>
#include <grpcpp/channel.h>
#include <grpcpp/impl/codegen/proto_utils.h>
#include <grpcpp/support/proto_buffer_reader.h>
#include <boost/json.hpp>

namespace nettool::grpc {
namespace {

namespace hv1 = ::grpc::health::v1;
using core::errc;
using clock = std::chrono::steady_clock;

constexpr int serving = hv1::HealthCheckResponse::SERVING;
constexpr int unimplemented = static_cast<int>(::grpc::StatusCode::UNIMPLEMENTED);

std::string serving_name(int status) {
  return hv1::HealthCheckResponse::ServingStatus_Name(static_cast<hv1::HealthCheckResponse::ServingStatus>(status));
}

::grpc::ByteBuffer request_for(const std::string& service) {
  hv1::HealthCheckRequest request;
  request.set_service(service);
  ::grpc::ByteBuffer out;
  bool own = false;
  (void)::grpc::SerializationTraits<hv1::HealthCheckRequest>::Serialize(request, &out, &own);
  return out;
}

int status_of(::grpc::ByteBuffer& bytes) {
  hv1::HealthCheckResponse response;
  ::grpc::ProtoBufferReader reader(&bytes);
  if (!response.ParseFromZeroCopyStream(&reader))
    throw core::error(errc::protocol, "health", {}, "malformed HealthCheckResponse");
  return response.status();
}

// Runs Check or Watch; `each` sees every status the server sends.
awaitable<void> ask_health(std::shared_ptr<::grpc::Channel> channel, const client_args& args,
                           const std::string& service, bool watch, std::function<void(int)> each) {
  ::grpc::GenericStub stub(channel);
  ::grpc::ClientContext context;
  for (const auto& [key, value] : parse_metadata(args.headers)) context.AddMetadata(key, value);
  stream s(stub, watch ? "/grpc.health.v1.Health/Watch" : "/grpc.health.v1.Health/Check", context);
  std::function<awaitable<void>(stream&)> body = [&](stream& st) -> awaitable<void> {
    const auto request = request_for(service);
    const bool sent = co_await st.write(request);
    if (!sent) co_return;
    (void)co_await st.writes_done();
    int answers = 0;
    while (true) {
      auto message = co_await st.read();
      if (!message) co_return;
      if (!watch && ++answers > 1) throw core::error(errc::protocol, "health", {}, "Check answered more than once");
      each(status_of(*message));
    }
  };
  auto run = s.run(std::move(body));
  const auto status = co_await std::move(run);
  if (!status.ok()) throw status_error(status, "health", service.empty() ? "the server" : "'" + service + "'");
}

void print_status(core::run_context& ctx, const std::string& service, int status) {
  if (ctx.json())
    ctx.out().line(core::to_json(
        boost::json::object{{"event", "health"}, {"service", service}, {"status", serving_name(status)}}));
  else
    ctx.out().line(serving_name(status));
}

}  // namespace

awaitable<int> run_health(core::run_context& ctx, const health_args& args) {
  auto channel = co_await open_channel(args);
  int last = -1;
  auto op = ask_health(channel, args, args.service, args.watch, [&](int status) {
    last = status;
    print_status(ctx, args.service, status);
  });
  co_await std::move(op);
  if (last == serving) co_return 0;
  if (last < 0) throw core::error(errc::protocol, "health", {}, "the server answered with no status");
  throw core::error(errc::peer_error, "health", args.service.empty() ? "the server" : "'" + args.service + "'",
                    "is " + serving_name(last));
}

namespace {

// One probe: true once SERVING (or reachable, for a server without the
// health service).
awaitable<bool> probe(const health_args& args) {
  auto channel = co_await open_channel(args);
  int last = -1;
  try {
    auto op = ask_health(channel, args, args.service, false, [&](int status) { last = status; });
    co_await std::move(op);
  } catch (const core::error& e) {
    if (e.code() != core::error_code(unimplemented, status_category())) throw;
    core::log::debug("{}: no health service; the connection is the readiness", args.target);
    co_return true;
  }
  core::log::debug("{}: {}", args.target, serving_name(last));
  co_return last == serving;
}

}  // namespace

awaitable<int> run_wait(core::run_context& ctx, const health_args& args) {
  core::wait_options options;
  options.interval = args.interval;
  options.attempt_limit = args.timeouts.connect_timeout;
  options.limit = args.limit;
  options.command = args.command;
  auto wait = core::wait_until_ready(
      ctx, args.target, [&args] { return probe(args); }, options);
  co_await std::move(wait);
  co_return 0;
}

}  // namespace nettool::grpc
