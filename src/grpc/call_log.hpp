// grpc serve's log of calls: with --json one {"event":"call",…} line per
// finished call on stdout, at -v one line on stderr, as http serve's access
// log. A server interceptor sees every call (TestService, health and
// reflection alike) on grpc++'s threads; its lines are written on the
// io_context, as every other output.
#pragma once

#include "nettool/core/context.hpp"

#include <grpcpp/support/server_interceptor.h>

#include <exception>
#include <memory>

namespace nettool::grpc {

class call_log {
 public:
  explicit call_log(core::run_context& ctx);
  // For ServerBuilder::experimental().SetInterceptorCreators.
  std::unique_ptr<::grpc::experimental::ServerInterceptorFactoryInterface> factory();
  // Ends when writing a line failed (stdout closed): rethrows that, so the
  // server stops as every server does at EPIPE.
  core::awaitable<void> wait_failure();
  // After the server's Wait(): lets the lines of the last calls out.
  core::awaitable<void> drain();

  struct state;

 private:
  std::shared_ptr<state> state_;
};

}  // namespace nettool::grpc
