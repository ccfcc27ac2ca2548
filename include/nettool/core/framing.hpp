// Lines ↔ messages for message-oriented verbs (SPEC §1 "Streams"): a line
// end (LF or CRLF) is not part of the message.
#pragma once

#include "nettool/core/stdio.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nettool::core {

class line_reader {
 public:
  // A line longer than max_line is an error naming the limit, never an
  // unbounded buffer.
  explicit line_reader(input& in, std::size_t max_line = 64 * 1024 * 1024) : in_(in), max_line_(max_line) {}
  // The next line without its line end; nullopt at end of input. A last
  // line without LF is still a line.
  awaitable<std::optional<std::string>> next();

  // The same in two steps, for hot loops that should not suspend per line:
  // try_next() gives a line already read (a view, valid until the next
  // call of any of these) or nullopt; fill() reads more, and returns false
  // once the input has ended and every line was taken.
  std::optional<std::string_view> try_next();
  awaitable<bool> fill();
  // Waits until input is there (true) or ended with nothing left (false),
  // taking no line: a verb can race the end of its input against another
  // event. Cancelling it loses nothing.
  awaitable<bool> ready();

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

  // As line_reader's: the chunk fill() read, once; then fill() again.
  std::optional<std::string_view> try_next();
  awaitable<bool> fill();

 private:
  input& in_;
  std::string buffer_;
  std::size_t pending_ = 0;  // bytes read and not yet taken
  bool eof_ = false;
};

// What a sending verb sends: each of `texts` (its --send options) when
// there are any, else one message per stdin line (of at most `max_message`
// bytes), or with `binary` one per chunk of stdin (what one read gives, up
// to 64 KiB or `max_message`). The same two steps as the readers above,
// plus next() for loops that suspend anyway.
class message_source {
 public:
  // `texts` must outlive the source (they are a verb's parsed options).
  message_source(const asio::any_io_executor& ex, const std::vector<std::string>& texts, bool binary,
                 std::size_t max_message);
  // The readers point into this object: it stays where it was made.
  message_source(const message_source&) = delete;
  message_source& operator=(const message_source&) = delete;
  std::optional<std::string_view> try_next();
  awaitable<bool> fill();
  awaitable<std::optional<std::string_view>> next();

 private:
  const std::vector<std::string>& texts_;
  std::size_t next_text_ = 0;
  std::optional<stdin_reader> stdin_;
  std::optional<line_reader> lines_;
  std::optional<chunk_reader> chunks_;
};

}  // namespace nettool::core
