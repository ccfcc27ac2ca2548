// Message properties and header tables: from the command line to
// rabbitmq-c's structs (publish), and from them to JSON (consume --json).
#pragma once

#include <amqp.h>

#include <boost/json/object.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace nettool::amqp {

// What publish sends with every message. It owns the strings that
// `props` points into, so it stays where it was made.
struct outgoing_properties {
  amqp_basic_properties_t props{};
  std::vector<std::string> strings;  // reserved up front: the pointers must not move
  std::vector<amqp_table_entry_t> headers;
};

// --content-type, --persistent, -H key=value, --property name=value
// (reply-to, correlation-id, message-id, expiration, priority, type,
// app-id, user-id, content-encoding, timestamp). Throws core::error (usage)
// naming the option.
std::unique_ptr<outgoing_properties> make_properties(const std::string& content_type, bool persistent,
                                                     const std::vector<std::string>& headers,
                                                     const std::vector<std::string>& properties);

// Every property that is set, by its AMQP name with '-': "content-type",
// "delivery-mode", "headers" {…} (field tables nest; bytes as base64).
boost::json::object properties_to_json(const amqp_basic_properties_t& props);

// The x-stream-offset header a stream queue puts on each delivery, if any.
std::optional<std::int64_t> stream_offset_of(const amqp_basic_properties_t& props);

}  // namespace nettool::amqp
