// The run context: the executor, the parsed common options and the output
// every verb writes to. Cancellation by SIGINT/SIGTERM/--timeout is done by
// the runner (src/cli/run.cpp) around the verb.
#pragma once

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

 private:
  std::string verb_;
  const common_options& common_;
  output out_;
  connection_tracker connections_;
  // Last, so it is destroyed first: coroutine frames it still holds may
  // refer to the members above.
  asio::io_context io_{1};
};

}  // namespace nettool::core
