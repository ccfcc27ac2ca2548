#include "nettool/core/module.hpp"

#include "nettool/core/error.hpp"
#include "nettool/core/log.hpp"

#include <dlfcn.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

namespace nettool::core {

std::string self_path() {
  char buf[4096];
  const auto n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string{};
}

std::string module_path(std::string_view stem, const std::string& self) {
  const auto file = fmt::format("nettool-{}.so", stem);
  if (const char* dir = std::getenv("NETTOOL_MODULE_DIR"); dir && *dir) return (std::filesystem::path(dir) / file).string();
  const auto bin = std::filesystem::path(self.empty() ? self_path() : self).parent_path();
  const auto installed = bin / ".." / "lib" / "nettool" / file;
  if (std::filesystem::exists(installed)) return installed.lexically_normal().string();
  return (bin / "modules" / file).string();
}

void* load_module_symbol(std::string_view stem, const char* symbol, const std::string& self) {
  const auto path = module_path(stem, self);
  // Never unloaded: the module's code runs until the process ends.
  void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) throw error(errc::failure, "load", path, ::dlerror());
  void* address = ::dlsym(handle, symbol);
  if (!address) throw error(errc::failure, "load", path, fmt::format("not a nettool module (no {})", symbol));
  log::debug("loaded {}", path);
  return address;
}

}  // namespace nettool::core
