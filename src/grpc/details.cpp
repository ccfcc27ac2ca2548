// Rich error details: a status's grpc-status-details-bin trailer is a
// google.rpc.Status whose `details` are Any messages (google.rpc.BadRequest,
// ErrorInfo, …). No Debian package installs google/rpc/*.proto, so the
// common detail types are written out here, from the documented wire
// format, and parsed once at run time as protoc would.
#include "details.hpp"

#include "nettool/core/error.hpp"
#include "nettool/core/output.hpp"

#include <google/protobuf/any.pb.h>
#include <google/protobuf/compiler/parser.h>
#include <google/protobuf/dynamic_message.h>
#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/unknown_field_set.h>
#include <google/protobuf/util/json_util.h>
#include <boost/json.hpp>

namespace nettool::grpc {
namespace {

constexpr std::string_view error_details_proto = R"schema(
syntax = "proto3";
package google.rpc;
import "google/protobuf/duration.proto";
message ErrorInfo {
  string reason = 1;
  string domain = 2;
  map<string, string> metadata = 3;
}
message RetryInfo { google.protobuf.Duration retry_delay = 1; }
message DebugInfo {
  repeated string stack_entries = 1;
  string detail = 2;
}
message QuotaFailure {
  message Violation {
    string subject = 1;
    string description = 2;
  }
  repeated Violation violations = 1;
}
message PreconditionFailure {
  message Violation {
    string type = 1;
    string subject = 2;
    string description = 3;
  }
  repeated Violation violations = 1;
}
message BadRequest {
  message FieldViolation {
    string field = 1;
    string description = 2;
  }
  repeated FieldViolation field_violations = 1;
}
message RequestInfo {
  string request_id = 1;
  string serving_data = 2;
}
message ResourceInfo {
  string resource_type = 1;
  string resource_name = 2;
  string owner = 3;
  string description = 4;
}
message Help {
  message Link {
    string description = 1;
    string url = 2;
  }
  repeated Link links = 1;
}
message LocalizedMessage {
  string locale = 1;
  string message = 2;
}
)schema";

// The built-in detail types, over the library's own well-known types;
// built once, on the first status that has details. Never the server's
// definitions: a google.rpc type of its own cannot change how the status
// itself is read.
const pb::DescriptorPool& detail_types() {
  static const pb::DescriptorPool* const pool = [] {
    auto* built = new pb::DescriptorPool(pb::DescriptorPool::generated_pool());
    pb::io::ArrayInputStream input(error_details_proto.data(), static_cast<int>(error_details_proto.size()));
    pb::io::Tokenizer tokenizer(&input, nullptr);
    pb::compiler::Parser parser;
    pb::FileDescriptorProto file;
    // Our own text: the tests see it parse.
    if (parser.Parse(&tokenizer, &file)) {
      file.set_name("google/rpc/error_details.proto");
      (void)built->BuildFile(file);
    }
    return built;
  }();
  return *pool;
}

// {"@type":URL,"value":BASE64}: a detail whose type nothing here knows, or
// whose bytes do not parse as it.
std::string opaque(const pb::Any& any) {
  return core::to_json(boost::json::object{{"@type", any.type_url()}, {"value", core::base64_encode(any.value())}});
}

// protobuf's JSON mapping of an Any: the message's fields beside "@type",
// or "value" for a type whose JSON is no object (Duration, Struct, …).
std::string detail_json(const pb::DescriptorPool& schema_pool, pb::MessageFactory& schema_factory, const pb::Any& any) {
  const auto slash = any.type_url().rfind('/');
  const auto name = slash == std::string::npos ? any.type_url() : any.type_url().substr(slash + 1);
  static pb::DynamicMessageFactory own_factory(&detail_types());
  const pb::Descriptor* type = schema_pool.FindMessageTypeByName(name);
  pb::MessageFactory* factory = &schema_factory;
  if (!type) {
    type = detail_types().FindMessageTypeByName(name);
    factory = &own_factory;
  }
  if (!type) return opaque(any);
  std::unique_ptr<pb::Message> message(factory->GetPrototype(type)->New());
  std::string text;
  if (!message->ParseFromString(any.value()) || !pb::util::MessageToJsonString(*message, &text).ok())
    return opaque(any);
  boost::system::error_code ec;
  auto fields = boost::json::parse(text, ec);
  if (ec) return opaque(any);
  boost::json::object out{{"@type", any.type_url()}};
  if (auto* object = fields.if_object())
    for (auto& [key, value] : *object) out[key] = std::move(value);
  else
    out["value"] = std::move(fields);
  return core::to_json(out);
}

}  // namespace

std::vector<std::string> status_details(const pb::DescriptorPool& pool, pb::MessageFactory& factory,
                                        const std::string& serialized) {
  if (serialized.empty()) return {};
  // google.rpc.Status is { code = 1; message = 2; repeated Any details = 3 }:
  // read as unknown fields, only the details matter here.
  pb::UnknownFieldSet fields;
  if (!fields.ParseFromString(serialized))
    return {core::to_json(boost::json::object{{"malformed", core::base64_encode(serialized)}})};
  std::vector<std::string> out;
  for (int i = 0; i < fields.field_count(); ++i) {
    const auto& field = fields.field(i);
    if (field.number() != 3 || field.type() != pb::UnknownField::TYPE_LENGTH_DELIMITED) continue;
    pb::Any any;
    if (!any.ParseFromString(field.length_delimited())) {
      out.push_back(core::to_json(boost::json::object{{"malformed", core::base64_encode(field.length_delimited())}}));
      continue;
    }
    out.push_back(detail_json(pool, factory, any));
  }
  return out;
}

}  // namespace nettool::grpc
