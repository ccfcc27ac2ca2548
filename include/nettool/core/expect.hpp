// --expect REGEX (SPEC §1): exit 0 as soon as a received message (or the
// byte stream so far) matches, 10 if the input ends without a match.
#pragma once

#include <regex>
#include <string>
#include <string_view>

namespace nettool::core {

class expectation {
 public:
  // Throws error(errc::usage) naming --expect when the regex is invalid.
  explicit expectation(const std::string& pattern);

  // One whole message (a line, a datagram): searched on its own.
  bool message(std::string_view m) const;
  // A byte stream arriving in chunks: searched over what arrived so far
  // (the last 1 MiB, so memory stays bounded); ^ and $ match at line ends.
  bool stream(std::string_view chunk);

  const std::string& pattern() const noexcept { return pattern_; }
  // The error for an input that ended without a match (exit 10).
  [[noreturn]] void fail() const;

 private:
  std::string pattern_;
  std::regex re_;
  std::string window_;
};

}  // namespace nettool::core
