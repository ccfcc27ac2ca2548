// The explicit table of protocols. Built-in ones link into the binary;
// heavy ones are modules dlopen'ed only when invoked (ARCHITECTURE.md,
// "Start-up is a feature").
#pragma once

#include "nettool/core/protocol.hpp"

#include <span>
#include <string>
#include <string_view>

namespace nettool::cli {

struct protocol_entry {
  const char* name;
  const char* summary;
  const core::protocol_descriptor* (*builtin)();  // null for a module
  const char* module;                             // file stem of the module, e.g. "zmq"
};

std::span<const protocol_entry> protocols();
const protocol_entry* find_protocol(std::string_view name);

// The descriptor of `entry`, loading its module if needed; throws
// core::error (exit 1) naming the module file when it cannot be loaded.
const core::protocol_descriptor& load(const protocol_entry& entry, const std::string& self_path);

// Where modules are looked for: $NETTOOL_MODULE_DIR, then
// <bin>/../lib/nettool, then <bin>/modules (the build tree).
std::string module_path(const std::string& self_path, std::string_view stem);

}  // namespace nettool::cli
