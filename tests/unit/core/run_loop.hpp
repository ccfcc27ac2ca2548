// For unit tests of the core's coroutines: one event loop, run to the end.
#pragma once

#include "nettool/core/async.hpp"

#include <boost/asio/io_context.hpp>

#include <exception>

namespace nettool::test {

// Runs `body` (a callable returning an awaitable) on a fresh io_context
// until nothing is left to do; its exception is rethrown here.
template <class F>
void run_loop(F body) {
  core::asio::io_context io(1);
  std::exception_ptr failure;
  core::asio::co_spawn(io, body(), [&](std::exception_ptr e) { failure = e; });
  io.run();
  if (failure) std::rethrow_exception(failure);
}

}  // namespace nettool::test
