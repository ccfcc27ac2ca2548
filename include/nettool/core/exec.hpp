// --exec on a byte stream: a child process whose stdin/stdout is the
// connection (SPEC §1 "--exec"), for tcp connect and tcp listen.
#pragma once

#include "nettool/core/process.hpp"
#include "nettool/core/stream.hpp"

namespace nettool::core {

// NETTOOL_REMOTE_ADDR / NETTOOL_REMOTE_PORT for `peer` ("1.2.3.4:80",
// "[::1]:80" or a Unix socket path).
environment remote_environment(const std::string& peer);

// Runs `command` connected to `conn`. A plain socket is handed to the child
// directly, as ncat -e does; TLS is relayed through a socketpair. Returns
// the child's exit status.
awaitable<int> exec_on_connection(connection& conn, const std::string& command, environment env);

// Copies both ways until each side has ended its stream, passing half-close on.
awaitable<void> relay(connection& a, connection& b);

}  // namespace nettool::core
