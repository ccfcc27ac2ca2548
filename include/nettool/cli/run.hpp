#pragma once

#include "nettool/core/protocol.hpp"

#include <string>

namespace nettool::cli {
// Runs a parsed verb on its own io_context, cancelled by SIGINT/SIGTERM and
// --timeout; reports a failure as one line (and a JSON event with --json).
int run(const core::verb_binding& verb, const std::string& name);
}  // namespace nettool::cli
