#include "nettool/core/log.hpp"

#include <cctype>
#include <cerrno>
#include <mutex>
#include <string>
#include <unistd.h>

namespace nettool::core::log {
namespace {
int current_verbosity = 0;
}

void init(int verbosity_level) { current_verbosity = verbosity_level; }

int verbosity() { return current_verbosity; }

void write_line(std::string_view text) {
  std::string line;
  line.reserve(text.size() + 10);
  line.append("nettool: ").append(text).push_back('\n');
  // One line at a time: a server's loops on other threads log too, and
  // one write(2) is atomic on a pipe only up to PIPE_BUF.
  static std::mutex writing;
  const std::lock_guard lock(writing);
  std::string_view rest = line;
  while (!rest.empty()) {
    const auto n = ::write(2, rest.data(), rest.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // stderr gone: nothing else to tell
    rest.remove_prefix(static_cast<std::size_t>(n));
  }
}

void hexdump(char direction, std::string_view who, std::span<const unsigned char> bytes) {
  std::string out = fmt::format("{} {} {} bytes", direction, who, bytes.size());
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
  write_line(out);
}

}  // namespace nettool::core::log
