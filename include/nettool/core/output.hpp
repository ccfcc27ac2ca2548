// Helpers for the JSON Lines output (SPEC §1 "Output formats").
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <string>
#include <string_view>

namespace nettool::core {

// One compact JSON text for --json output: Boost.JSON's, except that
// numbers are plain decimals (0.000123, never 1.23E-4; SPEC §1). Every
// JSON line nettool prints goes through here.
std::string to_json(const boost::json::value& v);
// The same with every double written exactly (the shortest text that reads
// back as the same double, still without an exponent): for values that are
// the payload (XML-RPC results), not measurements.
std::string to_json_exact(const boost::json::value& v);
// 1e-12 as "0.000000000001", 1.5e300 as "15", 299 zeros and ".0", 2.0 as
// "2.0"; a finite d only.
std::string plain_decimal(double d);

bool is_valid_utf8(std::string_view bytes);
// Text a peer wrote, made safe to show on a terminal or in XML: control
// characters other than tab and LF become \u001b-style escapes, bytes that
// are not UTF-8 become U+FFFD. Valid text without controls is unchanged.
// `one_line`: tab and LF are escaped too, for text inside a one-line error.
std::string printable(std::string_view text, bool one_line = false);
std::string base64_encode(std::string_view bytes);
// Strict base64 (RFC 4648 alphabet, padding optional, whitespace ignored
// as line-broken encoders insert it); false when malformed.
bool base64_decode(std::string_view text, std::string& out);
// Adds "data" (valid UTF-8) or "data_base64" (anything else) to `object`.
void add_payload(boost::json::object& object, std::string_view bytes, std::string_view name = "data");
// Bytes as one JSON value: a string when they are valid UTF-8, else
// {"data_base64": "…"} (zmq frames, http serve --echo header values).
boost::json::value payload_value(std::string_view bytes);

}  // namespace nettool::core
