// Lines ↔ messages for message-oriented verbs (SPEC §1 "Streams"): a line
// end (LF or CRLF) is not part of the message.
#pragma once

#include "nettool/core/stdio.hpp"

#include <optional>
#include <string>

namespace nettool::core {

class line_reader {
 public:
  // A line longer than max_line is an error naming the limit, never an
  // unbounded buffer.
  explicit line_reader(input& in, std::size_t max_line = 64 * 1024 * 1024) : in_(in), max_line_(max_line) {}
  // The next line without its line end; nullopt at end of input. A last
  // line without LF is still a line.
  awaitable<std::optional<std::string>> next();

 private:
  input& in_;
  std::size_t max_line_;
  std::string buffer_;
  std::size_t start_ = 0;    // where the next line begins
  std::size_t scanned_ = 0;  // no line end before this
  bool eof_ = false;
};

// Raw chunks of at most `max` bytes: --binary mode.
class chunk_reader {
 public:
  chunk_reader(input& in, std::size_t max) : in_(in), buffer_(max, '\0') {}
  awaitable<std::optional<std::string>> next();

 private:
  input& in_;
  std::string buffer_;
};

}  // namespace nettool::core
