// Logging on stderr with SPEC §1's verbosity levels:
// -q errors only; default warnings and notices; -v life cycle; -vv protocol
// detail; -vvv wire trace (hexdump).
#pragma once

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <span>
#include <string_view>

namespace nettool::core::log {

// verbosity: -1 for -q, 0 default, 1..3 for -v..-vvv.
void init(int verbosity);
int verbosity();

// Notices are shown by default (like warnings) but are not problems:
// "listening on …", the fingerprint of an ephemeral certificate.
template <class... Args>
void notice(fmt::format_string<Args...> f, Args&&... args) {
  spdlog::warn(fmt::format("nettool: {}", fmt::format(f, std::forward<Args>(args)...)));
}
template <class... Args>
void warn(fmt::format_string<Args...> f, Args&&... args) {
  spdlog::warn(fmt::format("nettool: warning: {}", fmt::format(f, std::forward<Args>(args)...)));
}
template <class... Args>
void error(fmt::format_string<Args...> f, Args&&... args) {
  spdlog::error(fmt::format("nettool: {}", fmt::format(f, std::forward<Args>(args)...)));
}
template <class... Args>
void info(fmt::format_string<Args...> f, Args&&... args) {
  if (spdlog::should_log(spdlog::level::info))
    spdlog::info(fmt::format("nettool: {}", fmt::format(f, std::forward<Args>(args)...)));
}
template <class... Args>
void debug(fmt::format_string<Args...> f, Args&&... args) {
  if (spdlog::should_log(spdlog::level::debug))
    spdlog::debug(fmt::format("nettool: {}", fmt::format(f, std::forward<Args>(args)...)));
}

inline bool tracing() { return spdlog::should_log(spdlog::level::trace); }
// Hexdump of one read or write, `direction` is '<' (received) or '>' (sent).
void hexdump(char direction, std::string_view who, std::span<const unsigned char> bytes);
inline void hexdump(char direction, std::string_view who, const void* data, std::size_t size) {
  hexdump(direction, who, {static_cast<const unsigned char*>(data), size});
}

}  // namespace nettool::core::log
