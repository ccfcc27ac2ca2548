// What a protocol adapter hands the CLI: its verbs, each an options struct
// bound to a CLI11 subcommand plus a coroutine that runs it.
#pragma once

#include "nettool/core/async.hpp"
#include "nettool/core/options.hpp"

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace nettool::core {

class run_context;

// A verb returns its exit code, or throws core::error.
using verb_runner = std::function<awaitable<int>(run_context&)>;

struct verb_binding {
  CLI::App* command = nullptr;
  const common_options* common = nullptr;
  verb_runner run;
  // Where a verb that takes `-- CMD...` wants it; null: it takes none.
  std::vector<std::string>* trailing = nullptr;
};

class verb_table {
 public:
  void add(CLI::App* command, const common_options& common, verb_runner run,
           std::vector<std::string>* trailing = nullptr) {
    verbs_.push_back({command, &common, std::move(run), trailing});
  }
  const std::vector<verb_binding>& verbs() const noexcept { return verbs_; }

 private:
  std::vector<verb_binding> verbs_;
};

struct protocol_descriptor {
  const char* name;
  const char* summary;
  // Adds the protocol's verbs to `app`; only the verb named `only` when it
  // is one of them (building CLI11 options is a measurable part of start-up).
  void (*configure)(CLI::App& app, verb_table& verbs, std::string_view only);
};

}  // namespace nettool::core

// The one symbol a loadable protocol module exports.
extern "C" const nettool::core::protocol_descriptor* nettool_protocol_v1();
