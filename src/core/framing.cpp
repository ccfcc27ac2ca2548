#include "nettool/core/framing.hpp"

#include <fmt/format.h>

namespace nettool::core {

awaitable<std::optional<std::string>> line_reader::next() {
  for (;;) {
    const auto lf = buffer_.find('\n', scanned_);
    if (lf != std::string::npos) {
      // Lines are taken from the front by moving start_, not by erasing:
      // erasing moved the rest of the buffer once per line.
      std::string line = buffer_.substr(start_, lf - start_);
      start_ = scanned_ = lf + 1;
      if (!line.empty() && line.back() == '\r') line.pop_back();
      co_return line;
    }
    scanned_ = buffer_.size();
    if (eof_) {
      if (start_ == buffer_.size()) co_return std::nullopt;
      std::string line = buffer_.substr(start_);
      buffer_.clear();
      start_ = scanned_ = 0;
      if (!line.empty() && line.back() == '\r') line.pop_back();
      co_return line;
    }
    // Before reading more, what was taken goes (once per read).
    buffer_.erase(0, start_);
    scanned_ -= start_;
    start_ = 0;
    if (buffer_.size() > max_line_)
      throw error(errc::failure, "read", "stdin", fmt::format("a line is longer than the {} bytes one message can hold", max_line_));
    const auto old = buffer_.size();
    buffer_.resize(old + 64 * 1024);
    const auto n = co_await in_.read_some(asio::buffer(buffer_.data() + old, 64 * 1024));
    buffer_.resize(old + n);
    if (n == 0) eof_ = true;
  }
}

awaitable<std::optional<std::string>> chunk_reader::next() {
  const auto n = co_await in_.read_some(asio::buffer(buffer_));
  if (n == 0) co_return std::nullopt;
  co_return std::string(buffer_.data(), n);
}

}  // namespace nettool::core
