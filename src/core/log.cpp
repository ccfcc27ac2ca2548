#include "nettool/core/log.hpp"

#include <spdlog/sinks/stdout_sinks.h>

#include <cctype>
#include <string>

namespace nettool::core::log {
namespace {
int current_verbosity = 0;
}

void init(int level) {
  current_verbosity = level;
  // spdlog's default logger writes to stdout, which carries payload only.
  static auto logger = [] {
    auto l = std::make_shared<spdlog::logger>("nettool", std::make_shared<spdlog::sinks::stderr_sink_st>());
    l->set_pattern("%v");
    spdlog::set_default_logger(l);
    return l;
  }();
  spdlog::level::level_enum lvl = spdlog::level::warn;
  if (level < 0) lvl = spdlog::level::err;
  else if (level == 1) lvl = spdlog::level::info;
  else if (level == 2) lvl = spdlog::level::debug;
  else if (level >= 3) lvl = spdlog::level::trace;
  logger->set_level(lvl);
  logger->flush_on(spdlog::level::trace);
}

int verbosity() { return current_verbosity; }

void hexdump(char direction, std::string_view who, std::span<const unsigned char> bytes) {
  if (!tracing()) return;
  std::string out = fmt::format("nettool: {} {} {} bytes", direction, who, bytes.size());
  for (std::size_t off = 0; off < bytes.size(); off += 16) {
    fmt::format_to(std::back_inserter(out), "\n  {} {:08x}  ", direction, off);
    std::string ascii;
    for (std::size_t i = 0; i < 16; ++i) {
      if (off + i < bytes.size()) {
        const unsigned char c = bytes[off + i];
        fmt::format_to(std::back_inserter(out), "{:02x} ", c);
        ascii.push_back(std::isprint(c) ? static_cast<char>(c) : '.');
      } else {
        out += "   ";
      }
      if (i == 7) out.push_back(' ');
    }
    out += " |" + ascii + "|";
  }
  spdlog::trace(out);
}

}  // namespace nettool::core::log
