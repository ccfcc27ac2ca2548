#include "nettool/core/expect.hpp"

#include "nettool/core/error.hpp"
#include "nettool/core/log.hpp"

namespace nettool::core {
namespace {
constexpr std::size_t window_limit = 1024 * 1024;
}

expectation::expectation(const std::string& pattern) : pattern_(pattern) {
  try {
    re_ = std::regex(pattern, std::regex::ECMAScript | std::regex::multiline);
  } catch (const std::regex_error& e) {
    throw error(errc::usage, "option", "--expect", fmt::format("'{}' is not a valid regular expression: {}", pattern, e.what()));
  }
}

bool expectation::message(std::string_view m) const { return std::regex_search(m.begin(), m.end(), re_); }

bool expectation::stream(std::string_view chunk) {
  window_.append(chunk);
  if (window_.size() > window_limit) window_.erase(0, window_.size() - window_limit);
  return std::regex_search(window_, re_);
}

void expectation::fail() const {
  throw error(errc::assertion_failed, "expect", {}, fmt::format("the input ended without a match for '{}'", pattern_));
}

}  // namespace nettool::core
