#include "range.hpp"

#include <algorithm>
#include <limits>
#include <optional>

namespace nettool::http {
namespace {

std::string_view trim_blanks(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// 1*DIGIT; a value past 2^64-1 saturates (it is past any file's end anyway).
std::optional<std::uint64_t> digits(std::string_view s) {
  if (s.empty()) return std::nullopt;
  std::uint64_t v = 0;
  constexpr auto max = std::numeric_limits<std::uint64_t>::max();
  for (const char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    const auto d = static_cast<std::uint64_t>(c - '0');
    v = v > (max - d) / 10 ? max : v * 10 + d;
  }
  return v;
}

bool starts_with_unit(std::string_view header) {
  constexpr std::string_view unit = "bytes=";
  if (header.size() < unit.size()) return false;
  return std::equal(unit.begin(), unit.end(), header.begin(),
                    [](char a, char b) { return a == (b >= 'A' && b <= 'Z' ? static_cast<char>(b + 32) : b); });
}

}  // namespace

range_kind parse_range(std::string_view header, std::uint64_t size, byte_range& out) {
  if (!starts_with_unit(header)) return range_kind::none;
  const auto spec = trim_blanks(header.substr(6));
  const auto dash = spec.find('-');
  if (dash == std::string_view::npos) return range_kind::none;
  const auto first_text = spec.substr(0, dash), last_text = spec.substr(dash + 1);
  if (first_text.empty()) {  // suffix: the last n bytes
    const auto n = digits(last_text);
    if (!n) return range_kind::none;
    if (*n == 0 || size == 0) return range_kind::unsatisfiable;
    out = {size - std::min(*n, size), size - 1};
    return range_kind::ok;
  }
  const auto first = digits(first_text);
  if (!first) return range_kind::none;
  std::optional<std::uint64_t> last;
  if (!last_text.empty()) {
    last = digits(last_text);
    if (!last || *last < *first) return range_kind::none;
  }
  if (*first >= size) return range_kind::unsatisfiable;
  out = {*first, last ? std::min(*last, size - 1) : size - 1};
  return range_kind::ok;
}

}  // namespace nettool::http
