// The run context: the executor, the parsed common options and the output
// every verb writes to. Cancellation by SIGINT/SIGTERM/--timeout is done by
// the runner (src/cli/run.cpp) around the verb.
#pragma once

#include "nettool/core/async.hpp"
#include "nettool/core/listen.hpp"
#include "nettool/core/options.hpp"
#include "nettool/core/stdio.hpp"

#include <boost/asio/io_context.hpp>

#include <string>

namespace nettool::core {

class run_context {
 public:
  run_context(std::string verb, const common_options& common) : verb_(std::move(verb)), common_(common) {}

  asio::io_context& io() noexcept { return io_; }
  asio::any_io_executor executor() { return io_.get_executor(); }
  const std::string& verb() const noexcept { return verb_; }
  const common_options& common() const noexcept { return common_; }
  bool json() const noexcept { return common_.json; }
  output& out() noexcept { return out_; }
  // Servers register their connections here so a stop can let them finish.
  connection_tracker& connections() noexcept { return connections_; }
  // More event loops, for a server that spreads its connections across
  // cores. The runner stops and joins them once the stop's grace period
  // is over (their connections count in connections()).
  loop_threads& workers() noexcept { return workers_; }

 private:
  std::string verb_;
  const common_options& common_;
  output out_;
  connection_tracker connections_;
  // After the members above, so destroyed before them: coroutine frames it
  // still holds may refer to them.
  asio::io_context io_{1};
  // After io_, so destroyed before it: the workers' connections post their
  // ends to io_.
  loop_threads workers_;
};

}  // namespace nettool::core
