// Logging on stderr with SPEC §1's verbosity levels:
// -q errors only; default warnings and notices; -v life cycle; -vv protocol
// detail; -vvv wire trace (hexdump).
//
// A few lines over fmt rather than spdlog: loading libspdlog cost every
// start about 1 ms on our machines (docs/benchmarks.md), and all we need is
// a level check and one write(2) per line.
#pragma once

#include <fmt/format.h>

#include <span>
#include <string_view>

namespace nettool::core::log {

enum class level : int { error = -1, warn = 0, info = 1, debug = 2, trace = 3 };

// verbosity: -1 for -q, 0 default, 1..3 for -v..-vvv.
void init(int verbosity);
int verbosity();
inline bool enabled(level l) { return static_cast<int>(l) <= verbosity(); }
// Writes "nettool: <text>\n" to stderr in one call.
void write_line(std::string_view text);

// Notices are shown by default (like warnings) but are not problems:
// "listening on …", the fingerprint of an ephemeral certificate.
template <class... Args>
void notice(fmt::format_string<Args...> f, Args&&... args) {
  if (enabled(level::warn)) write_line(fmt::format(f, std::forward<Args>(args)...));
}
template <class... Args>
void warn(fmt::format_string<Args...> f, Args&&... args) {
  if (enabled(level::warn)) write_line("warning: " + fmt::format(f, std::forward<Args>(args)...));
}
template <class... Args>
void error(fmt::format_string<Args...> f, Args&&... args) {
  write_line(fmt::format(f, std::forward<Args>(args)...));
}
template <class... Args>
void info(fmt::format_string<Args...> f, Args&&... args) {
  if (enabled(level::info)) write_line(fmt::format(f, std::forward<Args>(args)...));
}
template <class... Args>
void debug(fmt::format_string<Args...> f, Args&&... args) {
  if (enabled(level::debug)) write_line(fmt::format(f, std::forward<Args>(args)...));
}

inline bool tracing() { return enabled(level::trace); }
// Hexdump of one read or write, `direction` is '<' (received) or '>' (sent).
void hexdump(char direction, std::string_view who, std::span<const unsigned char> bytes);
inline void hexdump(char direction, std::string_view who, const void* data, std::size_t size) {
  if (tracing()) hexdump(direction, who, {static_cast<const unsigned char*>(data), size});
}

}  // namespace nettool::core::log
