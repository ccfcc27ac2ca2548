// The JSON side of XML-RPC values: what `call` prints and what arguments,
// --multicall lines and --method commands' output are read as.
#include "value.hpp"

#include "nettool/core/log.hpp"
#include "nettool/core/output.hpp"

#include <boost/json/parse.hpp>
#include <fmt/format.h>

#include <charconv>
#include <cctype>
#include <cstring>
#include <cmath>
#include <limits>

namespace nettool::xmlrpc {
namespace {

constexpr std::string_view datetime_key = "$datetime";
constexpr std::string_view base64_key = "$base64";

struct json_writer {
  boost::json::value operator()(const nil&) const { return nullptr; }
  boost::json::value operator()(bool b) const { return b; }
  boost::json::value operator()(std::int32_t i) const { return i; }
  boost::json::value operator()(std::int64_t i) const { return i; }
  boost::json::value operator()(double d) const { return d; }
  boost::json::value operator()(const std::string& s) const { return boost::json::string(s); }
  boost::json::value operator()(const datetime& t) const { return boost::json::object{{datetime_key, t.iso}}; }
  boost::json::value operator()(const binary& b) const {
    return boost::json::object{{base64_key, core::base64_encode(b.bytes)}};
  }
  boost::json::value operator()(const array& items) const {
    boost::json::array out;
    out.reserve(items.size());
    for (const auto& item : items) out.push_back(to_json(item));
    return out;
  }
  boost::json::value operator()(const structure& members) const {
    boost::json::object out;
    for (const auto& m : members) out[m.name] = to_json(m.v);  // a repeated name: the last one
    return out;
  }
};

value integer(std::int64_t n) {
  if (n >= std::numeric_limits<std::int32_t>::min() && n <= std::numeric_limits<std::int32_t>::max())
    return static_cast<std::int32_t>(n);
  return n;
}

value from_json_at(const boost::json::value& j, std::size_t depth) {
  switch (j.kind()) {
    case boost::json::kind::null: return nil{};
    case boost::json::kind::bool_: return j.get_bool();
    case boost::json::kind::int64: return integer(j.get_int64());
    case boost::json::kind::uint64:
      throw encode_error(fmt::format("{} is larger than a 64-bit integer (i8)", j.get_uint64()));
    case boost::json::kind::double_:
      if (!std::isfinite(j.get_double())) throw encode_error("a number is not finite");
      return j.get_double();
    case boost::json::kind::string: return std::string(j.get_string());
    case boost::json::kind::array: {
      if (depth >= max_depth) throw encode_error(fmt::format("arrays and objects nested deeper than {}", max_depth));
      array items;
      items.reserve(j.get_array().size());
      for (const auto& item : j.get_array()) items.push_back(from_json_at(item, depth + 1));
      return items;
    }
    case boost::json::kind::object: {
      const auto& o = j.get_object();
      if (o.size() == 1 && o.begin()->value().is_string()) {
        const auto key = o.begin()->key();
        const std::string_view text = o.begin()->value().get_string();
        if (key == datetime_key) return parse_argument(fmt::format("dt/{}", text));
        if (key == base64_key) return parse_argument(fmt::format("b64/{}", text));
      }
      if (depth >= max_depth) throw encode_error(fmt::format("arrays and objects nested deeper than {}", max_depth));
      structure members;
      members.reserve(o.size());
      for (const auto& [key, item] : o) members.push_back({std::string(key), from_json_at(item, depth + 1)});
      return members;
    }
  }
  return nil{};
}

template <class Int>
Int typed_integer(std::string_view prefix, std::string_view text) {
  Int n = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size())
    throw encode_error(fmt::format("'{}{}' is not a {}-bit integer", prefix, text, sizeof(Int) * 8));
  return n;
}

std::string hex_bytes(std::string_view hex) {
  auto nibble = [&](char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    throw encode_error(fmt::format("'h/{}' is not hexadecimal", hex));
  };
  if (hex.size() % 2) throw encode_error(fmt::format("'h/{}' has an odd number of hex digits", hex));
  std::string out;
  for (std::size_t i = 0; i < hex.size(); i += 2) out += static_cast<char>(nibble(hex[i]) << 4 | nibble(hex[i + 1]));
  return out;
}

// Integer literals beyond 64 bits, which Boost.JSON would read as doubles
// (99999999999999999999 → 1e20): found in the text, outside strings.
void check_integer_literals(std::string_view text) {
  bool in_string = false, escaped = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') {
      in_string = true;
      continue;
    }
    if (c != '-' && (c < '0' || c > '9')) continue;
    auto j = i;
    while (j < text.size() && (std::isdigit(static_cast<unsigned char>(text[j])) || std::strchr("+-.eE", text[j]))) ++j;
    const auto token = text.substr(i, j - i);
    std::int64_t n = 0;
    if (token.find_first_of(".eE") == std::string_view::npos &&
        std::from_chars(token.data(), token.data() + token.size(), n).ec == std::errc::result_out_of_range)
      throw encode_error(fmt::format("{} is outside 64-bit integers (i8)", token.size() > 40 ? std::string(token.substr(0, 40)) + "…" : std::string(token)));
    i = j - 1;
  }
}

}  // namespace

std::optional<boost::json::value> parse_json(std::string_view text, std::string& error) {
  boost::json::parse_options options;
  options.max_depth = 2 * max_depth;  // ours is the limit that speaks, with its own message
  boost::system::error_code ec;
  auto parsed = boost::json::parse(text, ec, {}, options);
  if (ec == boost::json::error::too_deep)
    throw encode_error(fmt::format("arrays and objects nested deeper than {}", max_depth));
  if (ec) {
    error = ec.message();
    return std::nullopt;
  }
  check_integer_literals(text);
  return parsed;
}

boost::json::value to_json(const value& v) { return std::visit(json_writer{}, v.data); }

value from_json(const boost::json::value& j) { return from_json_at(j, 0); }

value parse_argument(std::string_view word) {
  const auto slash = word.find('/');
  if (slash != std::string_view::npos && slash <= 3) {
    const auto prefix = word.substr(0, slash + 1);
    const auto rest = word.substr(slash + 1);
    if (prefix == "i/") return typed_integer<std::int32_t>(prefix, rest);
    if (prefix == "I/" || prefix == "i8/") return typed_integer<std::int64_t>(prefix, rest);
    if (prefix == "s/") return std::string(rest);
    if (prefix == "n/") {
      if (!rest.empty()) throw encode_error(fmt::format("'{}': n/ (nil) takes no value", word));
      return nil{};
    }
    if (prefix == "b/") {
      if (rest == "true" || rest == "t" || rest == "1") return true;
      if (rest == "false" || rest == "f" || rest == "0") return false;
      throw encode_error(fmt::format("'{}' is not a boolean (b/true, b/false)", word));
    }
    if (prefix == "d/") {
      double d = 0;
      const auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), d);
      if (rest.empty() || ec != std::errc() || end != rest.data() + rest.size() || !std::isfinite(d))
        throw encode_error(fmt::format("'{}' is not a finite number", word));
      return d;
    }
    if (prefix == "h/") return binary{hex_bytes(rest)};
    if (prefix == "b64/") {
      binary b;
      if (!core::base64_decode(rest, b.bytes)) throw encode_error(fmt::format("'{}' is not base64", word));
      return b;
    }
    if (prefix == "dt/") {
      if (!looks_like_datetime(rest))
        throw encode_error(fmt::format("'{}' is not a date and time like dt/20260101T12:00:00", word));
      return datetime{std::string(rest)};
    }
  }
  std::string error;
  if (const auto parsed = parse_json(word, error)) return from_json(*parsed);
  if (word.starts_with('{') || word.starts_with('[') || word.starts_with('"'))
    core::log::warn("'{}' is not valid JSON ({}); it is sent as a string",
                    word.size() > 40 ? std::string(word.substr(0, 40)) + "…" : std::string(word), error);
  return std::string(word);
}

}  // namespace nettool::xmlrpc
