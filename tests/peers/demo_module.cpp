// A protocol module for the registry's dlopen path: one verb, `demo hello`.
#include "nettool/core/protocol.hpp"

#include <CLI/CLI.hpp>

namespace {

nettool::core::common_options common;

void configure(CLI::App& app, nettool::core::verb_table& verbs, std::string_view) {
  auto* cmd = app.add_subcommand("hello", "Say hello from a module");
  verbs.add(cmd, common, [](nettool::core::run_context&) -> nettool::core::awaitable<int> { co_return 42; });
}

constexpr nettool::core::protocol_descriptor descriptor{"demo", "a test module", &configure};

}  // namespace

extern "C" const nettool::core::protocol_descriptor* nettool_protocol_v1() { return &descriptor; }
