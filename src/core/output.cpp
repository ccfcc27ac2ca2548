#include "nettool/core/output.hpp"

#include <fmt/format.h>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <cmath>
#include <cstdint>
#include <cstring>

namespace nettool::core {

bool is_valid_utf8(std::string_view s) {
  std::size_t i = 0;
  const auto n = s.size();
  while (i < n) {
    // ASCII, eight bytes at a time: most text is.
    if (i + 8 <= n) {
      std::uint64_t word;
      std::memcpy(&word, s.data() + i, 8);
      if ((word & 0x8080808080808080ull) == 0) {
        i += 8;
        continue;
      }
    }
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
    if (len == 0 || i + len > n) return false;
    std::uint32_t cp = len == 1 ? c : len == 2 ? (c & 0x1fu) : len == 3 ? (c & 0x0fu) : (c & 0x07u);
    for (std::size_t k = 1; k < len; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc >> 6) != 0x2) return false;
      cp = (cp << 6) | (cc & 0x3fu);
    }
    // Overlong forms, surrogates and values past U+10FFFF are not UTF-8.
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
        (cp >= 0xd800 && cp <= 0xdfff))
      return false;
    i += len;
  }
  return true;
}

std::string printable(std::string_view text, bool one_line) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      if ((c < 0x20 && (one_line || (c != '\t' && c != '\n'))) || c == 0x7f)
        out += fmt::format("\\u{:04x}", c);
      else
        out += static_cast<char>(c);
      ++i;
      continue;
    }
    const std::size_t len = (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 1;
    if (len > 1 && i + len <= text.size() && is_valid_utf8(text.substr(i, len))) {
      out.append(text.substr(i, len));
      i += len;
    } else {
      out += "\xef\xbf\xbd";  // U+FFFD
      ++i;
    }
  }
  return out;
}

// Written here rather than taken from OpenSSL so that JSON output does not
// load libcrypto (start-up, docs/benchmarks.md).
std::string base64_encode(std::string_view in) {
  static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const auto v = static_cast<std::uint32_t>(static_cast<unsigned char>(in[i])) << 16 |
                   static_cast<std::uint32_t>(static_cast<unsigned char>(in[i + 1])) << 8 |
                   static_cast<unsigned char>(in[i + 2]);
    out += {alphabet[v >> 18], alphabet[(v >> 12) & 63], alphabet[(v >> 6) & 63], alphabet[v & 63]};
  }
  if (const auto rest = in.size() - i; rest > 0) {
    auto v = static_cast<std::uint32_t>(static_cast<unsigned char>(in[i])) << 16;
    if (rest == 2) v |= static_cast<std::uint32_t>(static_cast<unsigned char>(in[i + 1])) << 8;
    out += {alphabet[v >> 18], alphabet[(v >> 12) & 63], rest == 2 ? alphabet[(v >> 6) & 63] : '=', '='};
  }
  return out;
}

bool base64_decode(std::string_view text, std::string& out) {
  out.clear();
  out.reserve(text.size() / 4 * 3);
  std::uint32_t bits = 0;
  int count = 0, padding = 0;
  for (const char c : text) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') continue;
    int sextet = -1;
    if (c >= 'A' && c <= 'Z')
      sextet = c - 'A';
    else if (c >= 'a' && c <= 'z')
      sextet = c - 'a' + 26;
    else if (c >= '0' && c <= '9')
      sextet = c - '0' + 52;
    else if (c == '+')
      sextet = 62;
    else if (c == '/')
      sextet = 63;
    else if (c == '=') {
      ++padding;
      continue;
    } else {
      return false;
    }
    if (padding) return false;  // data after '='
    bits = (bits << 6) | static_cast<std::uint32_t>(sextet);
    if (++count == 4) {
      out += {static_cast<char>(bits >> 16), static_cast<char>(bits >> 8 & 0xff), static_cast<char>(bits & 0xff)};
      bits = 0;
      count = 0;
    }
  }
  if (count == 1 || padding > 2 || (padding && count + padding != 4)) return false;
  if (count == 2) out += static_cast<char>(bits >> 4);
  if (count == 3) out += {static_cast<char>(bits >> 10), static_cast<char>(bits >> 2 & 0xff)};
  return true;
}

void add_payload(boost::json::object& object, std::string_view bytes, std::string_view name) {
  if (is_valid_utf8(bytes))
    object[name] = bytes;
  else
    object[std::string(name) + "_base64"] = base64_encode(bytes);
}

namespace {

// SPEC §1: numbers are plain decimals. Boost.JSON writes doubles as
// "1.23E-4" and "0E0"; nanosecond precision is enough for seconds and rates.
void append_number(std::string& out, double d) {
  if (!std::isfinite(d)) {
    out += "null";
    return;
  }
  auto text = fmt::format("{:.9f}", d);
  while (text.back() == '0') text.pop_back();
  if (text.back() == '.') text.pop_back();
  out += text == "-0" ? "0" : text;
}

void append_exact(std::string& out, double d) { out += std::isfinite(d) ? plain_decimal(d) : "null"; }

using number_writer = void (*)(std::string&, double);

void append_json(std::string& out, const boost::json::value& v, number_writer number) {
  switch (v.kind()) {
    case boost::json::kind::double_:
      number(out, v.get_double());
      return;
    case boost::json::kind::object: {
      out += '{';
      bool first = true;
      for (const auto& [key, item] : v.get_object()) {
        if (!first) out += ',';
        first = false;
        out += boost::json::serialize(boost::json::string_view(key));
        out += ':';
        append_json(out, item, number);
      }
      out += '}';
      return;
    }
    case boost::json::kind::array: {
      out += '[';
      bool first = true;
      for (const auto& item : v.get_array()) {
        if (!first) out += ',';
        first = false;
        append_json(out, item, number);
      }
      out += ']';
      return;
    }
    default:
      out += boost::json::serialize(v);
      return;  // strings, integers, bool, null
  }
}

}  // namespace

std::string to_json(const boost::json::value& v) {
  std::string out;
  append_json(out, v, append_number);
  return out;
}

std::string to_json_exact(const boost::json::value& v) {
  std::string out;
  append_json(out, v, append_exact);
  return out;
}

// fmt's shortest round-trip form ("1e-12", "1.5e+300", "0.1"), its digits
// then moved around the decimal point. A whole number keeps ".0", so the
// text still reads as a double, not an integer.
std::string plain_decimal(double d) {
  auto shortest = fmt::format("{}", d);
  const auto e = shortest.find('e');
  if (e == std::string::npos) {
    if (shortest == "-0") shortest = "0";
    return shortest.find('.') == std::string::npos ? shortest + ".0" : shortest;
  }
  std::string mantissa = shortest.substr(0, e);
  const int exponent = std::stoi(shortest.substr(e + 1));
  std::string sign;
  if (mantissa.front() == '-') {
    sign = "-";
    mantissa.erase(0, 1);
  }
  const auto dot = mantissa.find('.');
  const int int_digits = dot == std::string::npos ? static_cast<int>(mantissa.size()) : static_cast<int>(dot);
  if (dot != std::string::npos) mantissa.erase(dot, 1);
  const int point = int_digits + exponent;  // digits before the decimal point
  const int n = static_cast<int>(mantissa.size());
  std::string out = sign;
  if (point <= 0)
    out += "0." + std::string(static_cast<std::size_t>(-point), '0') + mantissa;
  else if (point >= n)
    out += mantissa + std::string(static_cast<std::size_t>(point - n), '0') + ".0";
  else
    out += mantissa.substr(0, static_cast<std::size_t>(point)) + "." + mantissa.substr(static_cast<std::size_t>(point));
  return out;
}

boost::json::value payload_value(std::string_view bytes) {
  if (is_valid_utf8(bytes)) return boost::json::string(bytes);
  return boost::json::object{{"data_base64", base64_encode(bytes)}};
}

}  // namespace nettool::core
