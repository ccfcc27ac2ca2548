#include "nettool/core/progress.hpp"

#include "nettool/core/log.hpp"
#include "nettool/core/parse.hpp"

#include <unistd.h>

namespace nettool::core {

std::string progress_line(std::uint64_t done, std::optional<std::uint64_t> total, double seconds) {
  const double rate = seconds > 0 ? static_cast<double>(done) / seconds : 0;
  std::string line;
  if (total && *total > 0) {
    const auto percent = static_cast<int>(100.0 * static_cast<double>(std::min(done, *total)) / static_cast<double>(*total));
    line = fmt::format("{:3d}%  {} / {}", percent, format_bytes(static_cast<double>(done)),
                       format_bytes(static_cast<double>(*total)));
  } else {
    line = format_bytes(static_cast<double>(done));
  }
  line += fmt::format("  {}/s", format_bytes(rate));
  if (total && rate > 0 && done < *total) {
    const auto eta = static_cast<long long>(static_cast<double>(*total - done) / rate);
    line += fmt::format("  ETA {}:{:02d}", eta / 60, eta % 60);
  }
  return line;
}

progress::progress(std::string label, std::optional<std::uint64_t> total)
    : label_(std::move(label)),
      total_(total),
      active_(::isatty(2) == 1 && log::enabled(log::level::warn)),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {}

progress::~progress() {
  if (active_ && !finished_) {
    // Interrupted: end the line so the error message starts on its own.
    ssize_t ignored = ::write(2, "\n", 1);
    (void)ignored;
  }
}

void progress::update(std::uint64_t done) {
  done_ = done;
  if (!active_) return;
  const auto now = std::chrono::steady_clock::now();
  if (now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  draw(false);
}

void progress::finish() {
  if (!active_ || finished_) return;
  finished_ = true;
  draw(true);
}

void progress::draw(bool final) {
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  // \r and erase-to-end-of-line: one line, redrawn in place.
  const auto text = fmt::format("\r{}  {}\x1b[K{}", label_, progress_line(done_, total_, seconds), final ? "\n" : "");
  std::size_t off = 0;
  while (off < text.size()) {
    const auto n = ::write(2, text.data() + off, text.size() - off);
    if (n <= 0) return;
    off += static_cast<std::size_t>(n);
  }
}

}  // namespace nettool::core
