// Helpers for the JSON Lines output (SPEC §1 "Output formats").
#pragma once

#include <boost/json/object.hpp>

#include <string>
#include <string_view>

namespace nettool::core {

bool is_valid_utf8(std::string_view bytes);
std::string base64_encode(std::string_view bytes);
// Adds "data" (valid UTF-8) or "data_base64" (anything else) to `object`.
void add_payload(boost::json::object& object, std::string_view bytes, std::string_view name = "data");
// Bytes as one JSON value: a string when they are valid UTF-8, else
// {"data_base64": "…"} (zmq frames, http serve --echo header values).
boost::json::value payload_value(std::string_view bytes);

}  // namespace nettool::core
