// XML-RPC values (the specification's types plus the nil and i8 extensions),
// their XML encoding and strict decoding (pugixml), and the one mapping to
// and from JSON that the verbs print and parse (SPEC §2 xmlrpc).
#pragma once

#include <boost/json/value.hpp>

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

namespace nettool::xmlrpc {

struct nil {
  bool operator==(const nil&) const = default;
};
// The text as it came (XML-RPC says nothing of time zones): checked to look
// like a date and time, never reinterpreted.
struct datetime {
  std::string iso;
  bool operator==(const datetime&) const = default;
};
struct binary {
  std::string bytes;
  bool operator==(const binary&) const = default;
};

struct member;
struct value;
using array = std::vector<value>;
using structure = std::vector<member>;  // members in the order they came

struct value {
  std::variant<nil, bool, std::int32_t, std::int64_t, double, std::string, datetime, binary, array, structure> data;

  value() = default;
  template <class T>
    requires(!std::is_same_v<std::decay_t<T>, value> && std::is_constructible_v<decltype(data), T>)
  value(T v) : data(std::move(v)) {}  // implicit: values are written as literals in tests and code
  value(const char* s);                       // NOLINT: implicit, as the literals above
  bool operator==(const value& other) const;  // both below: they need member complete (clang)
};

struct member {
  std::string name;
  value v;
  bool operator==(const member&) const = default;
};

inline value::value(const char* s) : data(std::string(s)) {}
inline bool value::operator==(const value& other) const { return data == other.data; }

struct fault {
  std::int64_t code = 0;
  std::string message;
};

struct call {
  std::string method;
  std::vector<value> params;
};

// A methodResponse: one value, or a fault.
struct response {
  std::variant<value, fault> outcome;
  bool is_fault() const { return std::holds_alternative<fault>(outcome); }
};

// The fault codes of the "specification for fault code interoperability"
// (xmlrpc-epi), which Python, xmlrpc-c and Apache use.
namespace fault_codes {
inline constexpr int not_well_formed = -32700;
inline constexpr int invalid_request = -32600;
inline constexpr int method_not_found = -32601;
inline constexpr int invalid_params = -32602;
inline constexpr int internal_error = -32603;
inline constexpr int application_error = -32500;
}  // namespace fault_codes

// A body that is not XML-RPC. `not_well_formed`: not even XML.
class decode_error : public std::runtime_error {
 public:
  decode_error(std::string what, bool not_well_formed = false)
      : std::runtime_error(std::move(what)), not_well_formed_(not_well_formed) {}
  int fault_code() const { return not_well_formed_ ? fault_codes::not_well_formed : fault_codes::invalid_request; }

 private:
  bool not_well_formed_;
};

// A value XML cannot carry (a control character, invalid UTF-8, a NaN).
class encode_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

inline constexpr std::size_t max_depth = 64;  // arrays and structs inside each other

std::string encode_call(const call& c);
std::string encode_response(const value& result);
std::string encode_fault(const fault& f);

// Strict and bounded: no DTD (so no entity of any kind beyond XML's five
// and character references), known types only, integers in range, nesting
// at most max_depth. The text is parsed in place (its bytes are changed).
call decode_call(std::string& xml);
response decode_response(std::string& xml);

// SPEC's JSON mapping: nil → null, int/i8 → integer, double, boolean,
// string, array, struct → object, dateTime → {"$datetime":"…"}, base64 →
// {"$base64":"…"}.
boost::json::value to_json(const value& v);
// JSON text as that mapping reads it: nullopt (and `error`) when it is not
// JSON; encode_error when it is JSON XML-RPC cannot carry (nested deeper
// than max_depth, an integer literal beyond 64 bits, which Boost.JSON would
// silently turn into a double).
std::optional<boost::json::value> parse_json(std::string_view text, std::string& error);
// The reverse; an integer outside 32 bits becomes i8. Throws encode_error.
value from_json(const boost::json::value& j);
// A command-line argument: xmlrpc-c's typed prefixes (i/ I/ i8/ d/ b/ s/
// n/ h/, and dt/ b64/), else JSON, else the word as a string. Throws
// encode_error naming what is wrong.
value parse_argument(std::string_view word);

// 20260101T12:00:00 and the variants peers send (dashes, a fraction, a zone).
bool looks_like_datetime(std::string_view text);
// The fault struct a <fault> and system.multicall carry: the code clamped
// to 32 bits, the message made printable (core::printable).
value fault_value(const fault& f);
// A fault struct (an integer faultCode, a string faultString), as a
// <fault> and system.multicall carry it.
std::optional<fault> fault_from(const value& v);
// "int", "string", … as system.methodSignature names them.
std::string_view type_name(const value& v);

}  // namespace nettool::xmlrpc
