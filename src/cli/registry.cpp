#include "nettool/cli/registry.hpp"

#include "nettool/core/error.hpp"

#include <dlfcn.h>
#include <fmt/format.h>

#include <array>
#include <filesystem>

namespace nettool::tcp {
const core::protocol_descriptor* describe();
}
namespace nettool::udp {
const core::protocol_descriptor* describe();
}

namespace nettool::cli {
namespace {

// Adding a protocol: one folder under src/ and one line here.
constexpr std::array table{
    protocol_entry{"tcp", "TCP and Unix stream sockets: connect, listen, scan, wait, bench", &tcp::describe, nullptr},
    protocol_entry{"udp", "UDP datagrams: send, listen", &udp::describe, nullptr},
};

}  // namespace

std::span<const protocol_entry> protocols() { return table; }

const protocol_entry* find_protocol(std::string_view name) {
  for (const auto& entry : table)
    if (name == entry.name) return &entry;
  return nullptr;
}

std::string module_path(const std::string& self_path, std::string_view stem) {
  const auto file = fmt::format("nettool-{}.so", stem);
  if (const char* dir = std::getenv("NETTOOL_MODULE_DIR"); dir && *dir) return (std::filesystem::path(dir) / file).string();
  const auto bin = std::filesystem::path(self_path).parent_path();
  const auto installed = bin / ".." / "lib" / "nettool" / file;
  if (std::filesystem::exists(installed)) return installed.lexically_normal().string();
  return (bin / "modules" / file).string();
}

const core::protocol_descriptor& load(const protocol_entry& entry, const std::string& self_path) {
  if (entry.builtin) return *entry.builtin();
  const auto path = module_path(self_path, entry.module);
  // Never unloaded: the module's code runs until the process ends.
  void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) throw core::error(core::errc::failure, "load", path, ::dlerror());
  auto entry_point = reinterpret_cast<const core::protocol_descriptor* (*)()>(::dlsym(handle, "nettool_protocol_v1"));
  if (!entry_point) throw core::error(core::errc::failure, "load", path, "not a nettool protocol module");
  return *entry_point();
}

}  // namespace nettool::cli
