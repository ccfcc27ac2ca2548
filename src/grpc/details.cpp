// Rich error details: a status's grpc-status-details-bin trailer is a
// google.rpc.Status whose `details` are Any messages (google.rpc.BadRequest,
// ErrorInfo, …). No Debian package installs google/rpc/*.proto, so the
// message types are written out here, from the documented wire format, and
// parsed once at run time as protoc would.
#include "details.hpp"

#include "nettool/core/error.hpp"
#include "nettool/core/output.hpp"

#include <google/protobuf/compiler/parser.h>
#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/util/json_util.h>
#include <boost/json.hpp>

namespace nettool::grpc {
namespace {

constexpr std::string_view status_proto = R"schema(
syntax = "proto3";
package google.rpc;
import "google/protobuf/any.proto";
message Status {
  int32 code = 1;
  string message = 2;
  repeated google.protobuf.Any details = 3;
}
)schema";

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

void add_file(pb::SimpleDescriptorDatabase& into, const char* name, std::string_view text) {
  pb::io::ArrayInputStream input(text.data(), static_cast<int>(text.size()));
  pb::io::Tokenizer tokenizer(&input, nullptr);
  pb::compiler::Parser parser;
  pb::FileDescriptorProto file;
  // Our own text: a failure here is a bug, caught by the tests.
  if (!parser.Parse(&tokenizer, &file)) throw core::error(core::errc::failure, "details", name, "does not parse");
  file.set_name(name);
  into.Add(file);
}

// {"@type":URL,"value":BASE64}: a detail whose type no schema knows.
std::string opaque(const pb::Message& any) {
  const auto* r = any.GetReflection();
  const auto* d = any.GetDescriptor();
  return core::to_json(
      boost::json::object{{"@type", r->GetString(any, d->FindFieldByName("type_url"))},
                          {"value", core::base64_encode(r->GetString(any, d->FindFieldByName("value")))}});
}

}  // namespace

void add_status_types(pb::SimpleDescriptorDatabase& into) {
  add_file(into, "google/rpc/status.proto", status_proto);
  add_file(into, "google/rpc/error_details.proto", error_details_proto);
}

std::vector<std::string> status_details(const pb::DescriptorPool& pool, pb::MessageFactory& factory,
                                        const std::string& serialized) {
  if (serialized.empty()) return {};
  const auto* type = pool.FindMessageTypeByName("google.rpc.Status");
  if (!type) return {};
  std::unique_ptr<pb::Message> status(factory.GetPrototype(type)->New());
  if (!status->ParseFromString(serialized))
    return {core::to_json(boost::json::object{{"malformed", core::base64_encode(serialized)}})};
  const auto* field = type->FindFieldByName("details");
  const auto* r = status->GetReflection();
  std::vector<std::string> out;
  for (int i = 0; i < r->FieldSize(*status, field); ++i) {
    const auto& any = r->GetRepeatedMessage(*status, field, i);
    std::string text;
    if (pb::util::MessageToJsonString(any, &text).ok())
      out.push_back(std::move(text));
    else
      out.push_back(opaque(any));
  }
  return out;
}

}  // namespace nettool::grpc
