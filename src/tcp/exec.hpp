#pragma once

#include "nettool/core/exec.hpp"
#include "nettool/core/log.hpp"
#include "nettool/core/pump.hpp"

namespace nettool::tcp {

// --exec for tcp connect and each tcp listen connection; a child that fails
// is reported and ends with exit 1.
inline core::awaitable<int> exec_on_connection(core::connection& conn, const std::string& command,
                                               const core::pump_options&) {
  const auto peer = conn.peer();
  const int status = co_await core::exec_on_connection(conn, command, core::remote_environment(peer));
  if (status != 0) throw core::error(core::errc::failure, "exec", {}, fmt::format("'{}' exited with {}", command, status));
  co_return 0;
}

}  // namespace nettool::tcp
