#include "nettool/core/framing.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace nettool::core {

namespace {

std::string_view without_cr(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

}  // namespace

std::optional<std::string_view> line_reader::try_next() {
  const auto lf = buffer_.find('\n', scanned_);
  if (lf != std::string::npos) {
    // Lines are taken from the front by moving start_, not by erasing:
    // erasing moved the rest of the buffer once per line.
    const std::string_view line(buffer_.data() + start_, lf - start_);
    start_ = scanned_ = lf + 1;
    return without_cr(line);
  }
  scanned_ = buffer_.size();
  if (eof_ && start_ < buffer_.size()) {
    const std::string_view line(buffer_.data() + start_, buffer_.size() - start_);
    start_ = scanned_ = buffer_.size();
    return without_cr(line);
  }
  return std::nullopt;
}

awaitable<bool> line_reader::fill() {
  if (eof_) co_return start_ < buffer_.size();
  // Before reading more, what was taken goes (once per read).
  buffer_.erase(0, start_);
  scanned_ -= start_;
  start_ = 0;
  if (buffer_.size() > max_line_)
    throw error(errc::failure, core::phase::read, "stdin", fmt::format("a line is longer than the {} bytes one message can hold", max_line_));
  const auto old = buffer_.size();
  buffer_.resize(old + 64 * 1024);
  std::size_t n = 0;
  try {
    n = co_await in_.read_some(asio::buffer(buffer_.data() + old, 64 * 1024));
  } catch (...) {
    buffer_.resize(old);  // cancelled (ready() in a race): what was read stays whole
    throw;
  }
  buffer_.resize(old + n);
  if (n == 0) eof_ = true;
  co_return !eof_ || start_ < buffer_.size();
}

awaitable<bool> line_reader::ready() {
  for (;;) {
    if (start_ < buffer_.size()) co_return true;
    if (eof_) co_return false;
    const bool more = co_await fill();
    if (!more) co_return false;
  }
}

// g++ 12 at -O3 miscompiled `if (!co_await fill()) co_return …` followed
// by a co_return of a temporary (chunk_reader::next crashed): awaited
// values go into named locals here.
awaitable<std::optional<std::string>> line_reader::next() {
  for (;;) {
    if (const auto line = try_next()) co_return std::string(*line);
    const bool more = co_await fill();
    if (!more) co_return std::nullopt;
  }
}

std::optional<std::string_view> chunk_reader::try_next() {
  if (pending_ == 0) return std::nullopt;
  const std::string_view chunk(buffer_.data(), pending_);
  pending_ = 0;
  return chunk;
}

awaitable<bool> chunk_reader::fill() {
  if (eof_) co_return false;
  pending_ = co_await in_.read_some(asio::buffer(buffer_));
  eof_ = pending_ == 0;
  co_return !eof_;
}

awaitable<std::optional<std::string>> chunk_reader::next() {
  const bool more = co_await fill();
  if (!more) co_return std::nullopt;
  const auto chunk = try_next();
  co_return std::string(*chunk);
}

message_source::message_source(const asio::any_io_executor& ex, const std::vector<std::string>& texts, bool binary,
                               std::size_t max_message)
    : texts_(texts) {
  if (!texts.empty()) return;
  stdin_.emplace(ex);
  constexpr std::size_t chunk = 64 * 1024;  // one read; a message for each
  if (binary) chunks_.emplace(*stdin_, std::min(max_message, chunk));
  else lines_.emplace(*stdin_, max_message);
}

std::optional<std::string_view> message_source::try_next() {
  if (lines_) return lines_->try_next();
  if (chunks_) return chunks_->try_next();
  if (next_text_ < texts_.size()) return texts_[next_text_++];
  return std::nullopt;
}

awaitable<bool> message_source::fill() {
  bool more = next_text_ < texts_.size();
  if (lines_) more = co_await lines_->fill();
  else if (chunks_) more = co_await chunks_->fill();
  co_return more;
}

awaitable<std::optional<std::string_view>> message_source::next() {
  for (;;) {
    if (const auto message = try_next()) co_return message;
    const bool more = co_await fill();
    if (!more) co_return std::nullopt;
  }
}

}  // namespace nettool::core
