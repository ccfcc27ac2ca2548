// --exec on a byte stream: a child process whose stdin/stdout is the
// connection (SPEC §1 "--exec"), for tcp connect and tcp listen.
#pragma once

#include "nettool/core/listen.hpp"
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

// For a library that reads and writes a plain socket itself (rabbitmq-c
// under amqps://): returns one end of a socketpair, whose other end is
// relayed to `conn` (TLS made by the core, with every --cacert/--cert/
// --servername option) on `ex`. The relay ends when either side has ended;
// the caller owns the returned descriptor, and closing it ends the relay.
// While it runs it counts in `tracker`, so the runner lets it finish (what
// the library wrote last, its acks, still reaches the peer) after the verb.
int plain_socket_for(const asio::any_io_executor& ex, connection conn, connection_tracker& tracker);

}  // namespace nettool::core
