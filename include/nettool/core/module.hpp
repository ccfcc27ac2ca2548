// Loadable modules (ARCHITECTURE.md, "Start-up is a feature"): heavy
// libraries are dlopen'ed only by the invocations that need them.
#pragma once

#include <string>
#include <string_view>

namespace nettool::core {

// Where nettool-<stem>.so is looked for: $NETTOOL_MODULE_DIR, then
// <bin>/../lib/nettool (installed), then <bin>/modules (the build tree).
std::string module_path(std::string_view stem, const std::string& self_path = {});

// dlopen()s the module and returns the address of `symbol` in it. Throws
// core::error (exit 1) naming the file when either is missing.
void* load_module_symbol(std::string_view stem, const char* symbol, const std::string& self_path = {});

// /proc/self/exe, resolved.
std::string self_path();

}  // namespace nettool::core
