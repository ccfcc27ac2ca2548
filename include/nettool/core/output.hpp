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

bool is_valid_utf8(std::string_view bytes);
std::string base64_encode(std::string_view bytes);
// Adds "data" (valid UTF-8) or "data_base64" (anything else) to `object`.
void add_payload(boost::json::object& object, std::string_view bytes, std::string_view name = "data");
// Bytes as one JSON value: a string when they are valid UTF-8, else
// {"data_base64": "…"} (zmq frames, http serve --echo header values).
boost::json::value payload_value(std::string_view bytes);

}  // namespace nettool::core
