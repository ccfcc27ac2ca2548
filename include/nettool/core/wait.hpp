// The readiness wait every `<protocol> wait` verb is (SPEC §3: "each
// adapter's wait verb is this probe"): probe one target until it is ready,
// with a pause between attempts, each attempt and the whole wait bounded,
// the ready event reported, then `-- CMD` run.
#pragma once

#include "nettool/core/async.hpp"
#include "nettool/core/parse.hpp"

#include <functional>
#include <string>
#include <vector>

namespace nettool::core {

class run_context;

struct wait_options {
  duration interval = std::chrono::milliseconds(250);  // --interval: the pause after a failed attempt
  duration attempt_limit = std::chrono::seconds(10);   // one attempt (--connect-timeout)
  duration limit = std::chrono::seconds(30);           // the whole wait (--timeout)
  std::vector<std::string> command;                    // -- CMD, run in our place once ready
};

// A probe returns true when `target` is ready; false or a core::error (the
// reason, logged at -vv) means not yet. Returns once ready (the ready event
// printed), then replaces the process with `command` when there is one;
// throws errc::timed_out (exit 124) "not ready after LIMIT: TARGET".
awaitable<void> wait_until_ready(run_context& ctx, const std::string& target, std::function<awaitable<bool>()> probe,
                                 const wait_options& options);

}  // namespace nettool::core
