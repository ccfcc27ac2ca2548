// Child processes for --exec: one contract for every protocol. CMD runs
// under /bin/sh -c (as ncat -c and websocketd), with NETTOOL_* variables
// added to our environment; its stderr is ours; exit 0 means success.
#pragma once

#include "nettool/core/async.hpp"

#include <string>
#include <utility>
#include <vector>

namespace nettool::core {

using environment = std::vector<std::pair<std::string, std::string>>;

struct process_spec {
  std::string command;
  environment env;
  int stdin_fd = -1;   // -1: /dev/null
  int stdout_fd = -1;  // -1: our stdout
  // Closed in this process once the child runs: a socket or pipe end only
  // the child should hold, so that its exit is seen as EOF.
  int close_after_spawn = -1;
  int stderr_fd = -1;  // -1: our stderr (last: callers initialise the fields above in order)
};

// Starts the child and waits for it without blocking the io_context.
// Returns its exit status, 128+N when killed by signal N. If the waiting
// coroutine is cancelled, the child gets SIGTERM.
awaitable<int> run_process(const process_spec& spec);

// A command as a filter, for a request/reply `--exec` (zmq rep, …): `input`
// on its stdin, its stdout collected (more than `max_output` bytes is an
// error, so a runaway command cannot exhaust memory), and its exit status.
struct filter_result {
  int status = 0;
  std::string output;
  std::string errors;  // its stderr, when captured
};
// `capture_errors`: the command's stderr is collected too (its first 64 KiB;
// the rest is read and dropped), for a protocol that reports it to the peer
// (an XML-RPC fault); otherwise it goes to ours.
awaitable<filter_result> run_filter(const std::string& command, const environment& env, std::string_view input,
                                    std::size_t max_output, bool capture_errors = false);

// `wait … -- CMD ARGS`: replaces nettool with CMD (found on PATH), with
// default signal handling and none of our descriptors past stderr. Returns
// only by throwing (CMD could not be executed).
[[noreturn]] void exec_replacing(const std::vector<std::string>& command);

}  // namespace nettool::core
