#include "properties.hpp"

#include "nettool/core/error.hpp"
#include "nettool/core/output.hpp"
#include "nettool/core/parse.hpp"

#include <boost/json.hpp>

#include <charconv>

namespace nettool::amqp {
namespace {

namespace json = boost::json;

std::pair<std::string, std::string> split_pair(const std::string& spec, const char* option) {
  const auto eq = spec.find('=');
  if (eq == std::string::npos || eq == 0) throw core::error(core::errc::usage, option, spec, "expected NAME=VALUE");
  return {spec.substr(0, eq), spec.substr(eq + 1)};
}

std::uint64_t parse_number(const std::string& value, const std::string& name, std::uint64_t max) {
  std::uint64_t n = 0;
  const auto* end = value.data() + value.size();
  const auto [p, ec] = std::from_chars(value.data(), end, n);
  if (value.empty() || ec != std::errc() || p != end || n > max)
    throw core::error(core::errc::usage, "--property", name + "=" + value,
                      "expected a whole number from 0 to " + std::to_string(max));
  return n;
}

json::value field_to_json(const amqp_field_value_t& v, int depth);

json::object table_to_json(const amqp_table_t& t, int depth) {
  json::object out;
  for (int i = 0; i < t.num_entries; ++i) {
    const auto& e = t.entries[i];
    out[std::string(static_cast<const char*>(e.key.bytes), e.key.len)] = field_to_json(e.value, depth + 1);
  }
  return out;
}

json::value field_to_json(const amqp_field_value_t& v, int depth) {
  // Deeper tables than any real message has are not walked (a hostile
  // broker cannot make us recurse without end).
  if (depth > 32) return nullptr;
  switch (v.kind) {
    case AMQP_FIELD_KIND_BOOLEAN:
      return static_cast<bool>(v.value.boolean);
    case AMQP_FIELD_KIND_I8:
      return v.value.i8;
    case AMQP_FIELD_KIND_U8:
      return v.value.u8;
    case AMQP_FIELD_KIND_I16:
      return v.value.i16;
    case AMQP_FIELD_KIND_U16:
      return v.value.u16;
    case AMQP_FIELD_KIND_I32:
      return v.value.i32;
    case AMQP_FIELD_KIND_U32:
      return v.value.u32;
    case AMQP_FIELD_KIND_I64:
      return v.value.i64;
    case AMQP_FIELD_KIND_U64:
      return v.value.u64;
    case AMQP_FIELD_KIND_TIMESTAMP:
      return v.value.u64;
    case AMQP_FIELD_KIND_F32:
      return static_cast<double>(v.value.f32);
    case AMQP_FIELD_KIND_F64:
      return v.value.f64;
    case AMQP_FIELD_KIND_DECIMAL: {
      double d = v.value.decimal.value;
      for (int i = 0; i < v.value.decimal.decimals; ++i) d /= 10;
      return d;
    }
    case AMQP_FIELD_KIND_UTF8:
    case AMQP_FIELD_KIND_BYTES:
      return core::payload_value(std::string_view(static_cast<const char*>(v.value.bytes.bytes), v.value.bytes.len));
    case AMQP_FIELD_KIND_ARRAY: {
      json::array a;
      for (int i = 0; i < v.value.array.num_entries; ++i)
        a.push_back(field_to_json(v.value.array.entries[i], depth + 1));
      return a;
    }
    case AMQP_FIELD_KIND_TABLE:
      return table_to_json(v.value.table, depth);
    default:
      return nullptr;
  }
}

std::string_view view(amqp_bytes_t b) { return {static_cast<const char*>(b.bytes), b.len}; }

}  // namespace

std::unique_ptr<outgoing_properties> make_properties(const std::string& content_type, bool persistent,
                                                     const std::vector<std::string>& headers,
                                                     const std::vector<std::string>& properties) {
  auto out = std::make_unique<outgoing_properties>();
  out->strings.reserve(2 * headers.size() + properties.size() + 1);
  auto keep = [&](std::string s) -> amqp_bytes_t {
    out->strings.push_back(std::move(s));
    auto& kept = out->strings.back();
    return amqp_bytes_t{kept.size(), kept.data()};
  };
  auto& p = out->props;
  if (!content_type.empty()) {
    p._flags |= AMQP_BASIC_CONTENT_TYPE_FLAG;
    p.content_type = keep(content_type);
  }
  if (persistent) {
    p._flags |= AMQP_BASIC_DELIVERY_MODE_FLAG;
    p.delivery_mode = AMQP_DELIVERY_PERSISTENT;
  }
  for (const auto& spec : properties) {
    auto [name, value] = split_pair(spec, "--property");
    auto set_text = [&](amqp_flags_t flag, amqp_bytes_t& field) {
      p._flags |= flag;
      field = keep(value);
    };
    if (name == "reply-to")
      set_text(AMQP_BASIC_REPLY_TO_FLAG, p.reply_to);
    else if (name == "correlation-id")
      set_text(AMQP_BASIC_CORRELATION_ID_FLAG, p.correlation_id);
    else if (name == "message-id")
      set_text(AMQP_BASIC_MESSAGE_ID_FLAG, p.message_id);
    else if (name == "type")
      set_text(AMQP_BASIC_TYPE_FLAG, p.type);
    else if (name == "app-id")
      set_text(AMQP_BASIC_APP_ID_FLAG, p.app_id);
    else if (name == "user-id")
      set_text(AMQP_BASIC_USER_ID_FLAG, p.user_id);
    else if (name == "content-encoding")
      set_text(AMQP_BASIC_CONTENT_ENCODING_FLAG, p.content_encoding);
    else if (name == "content-type")
      set_text(AMQP_BASIC_CONTENT_TYPE_FLAG, p.content_type);
    else if (name == "expiration") {
      parse_number(value, name, UINT32_MAX);  // milliseconds, sent as text (AMQP says so)
      set_text(AMQP_BASIC_EXPIRATION_FLAG, p.expiration);
    } else if (name == "priority") {
      p._flags |= AMQP_BASIC_PRIORITY_FLAG;
      p.priority = static_cast<std::uint8_t>(parse_number(value, name, 255));
    } else if (name == "timestamp") {
      p._flags |= AMQP_BASIC_TIMESTAMP_FLAG;
      p.timestamp = parse_number(value, name, UINT64_MAX);
    } else if (name == "delivery-mode") {
      const auto mode = parse_number(value, name, 2);
      if (mode == 0) throw core::error(core::errc::usage, "--property", spec, "delivery-mode is 1 or 2");
      p._flags |= AMQP_BASIC_DELIVERY_MODE_FLAG;
      p.delivery_mode = static_cast<std::uint8_t>(mode);
    } else {
      throw core::error(core::errc::usage, "--property", spec,
                        "unknown property (reply-to, correlation-id, message-id, expiration, priority, type, app-id, "
                        "user-id, content-type, content-encoding, timestamp, delivery-mode)");
    }
  }
  out->headers.reserve(headers.size());
  for (const auto& spec : headers) {
    auto [key, value] = split_pair(spec, "-H");
    amqp_table_entry_t e{};
    e.key = keep(key);
    e.value.kind = AMQP_FIELD_KIND_UTF8;
    e.value.value.bytes = keep(value);
    out->headers.push_back(e);
  }
  if (!out->headers.empty()) {
    p._flags |= AMQP_BASIC_HEADERS_FLAG;
    p.headers = amqp_table_t{static_cast<int>(out->headers.size()), out->headers.data()};
  }
  return out;
}

std::optional<std::int64_t> stream_offset_of(const amqp_basic_properties_t& p) {
  if ((p._flags & AMQP_BASIC_HEADERS_FLAG) == 0) return std::nullopt;
  for (int i = 0; i < p.headers.num_entries; ++i) {
    const auto& e = p.headers.entries[i];
    if (view(e.key) != "x-stream-offset") continue;
    // RabbitMQ sends a signed 64-bit; any integer kind is taken.
    switch (e.value.kind) {
      case AMQP_FIELD_KIND_I64:
        return e.value.value.i64;
      case AMQP_FIELD_KIND_U64:
      case AMQP_FIELD_KIND_TIMESTAMP:
        return static_cast<std::int64_t>(e.value.value.u64);
      case AMQP_FIELD_KIND_I32:
        return e.value.value.i32;
      case AMQP_FIELD_KIND_U32:
        return e.value.value.u32;
      default:
        return std::nullopt;
    }
  }
  return std::nullopt;
}

boost::json::object properties_to_json(const amqp_basic_properties_t& p) {
  json::object out;
  auto text = [&](amqp_flags_t flag, const char* name, amqp_bytes_t value) {
    if (p._flags & flag) out[name] = core::payload_value(view(value));
  };
  text(AMQP_BASIC_CONTENT_TYPE_FLAG, "content-type", p.content_type);
  text(AMQP_BASIC_CONTENT_ENCODING_FLAG, "content-encoding", p.content_encoding);
  if (p._flags & AMQP_BASIC_HEADERS_FLAG) out["headers"] = table_to_json(p.headers, 0);
  if (p._flags & AMQP_BASIC_DELIVERY_MODE_FLAG) out["delivery-mode"] = p.delivery_mode;
  if (p._flags & AMQP_BASIC_PRIORITY_FLAG) out["priority"] = p.priority;
  text(AMQP_BASIC_CORRELATION_ID_FLAG, "correlation-id", p.correlation_id);
  text(AMQP_BASIC_REPLY_TO_FLAG, "reply-to", p.reply_to);
  text(AMQP_BASIC_EXPIRATION_FLAG, "expiration", p.expiration);
  text(AMQP_BASIC_MESSAGE_ID_FLAG, "message-id", p.message_id);
  if (p._flags & AMQP_BASIC_TIMESTAMP_FLAG) out["timestamp"] = p.timestamp;
  text(AMQP_BASIC_TYPE_FLAG, "type", p.type);
  text(AMQP_BASIC_USER_ID_FLAG, "user-id", p.user_id);
  text(AMQP_BASIC_APP_ID_FLAG, "app-id", p.app_id);
  return out;
}

}  // namespace nettool::amqp
