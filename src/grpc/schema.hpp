// Message types for the call: from server reflection (v1, falling back to
// v1alpha), from .proto files (parsed at run time, as protoc does) or from
// FileDescriptorSets. Well-known types come from the protobuf library
// itself, so no google/protobuf/*.proto needs to be on disk.
#pragma once

#include "grpc.hpp"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor_database.h>
#include <google/protobuf/dynamic_message.h>

#include <memory>

namespace grpc {
class Channel;
}

namespace nettool::grpc {

namespace pb = google::protobuf;

class schema {
 public:
  schema();
  ~schema();
  schema(const schema&) = delete;
  schema& operator=(const schema&) = delete;

  // "pkg.Service/Method" or "pkg.Service.Method"; throws errc::usage
  // naming it when the schema has no such method.
  const pb::MethodDescriptor& method(std::string_view name);
  // Services (fully-qualified), sorted: from the server's list under
  // reflection, else every service of the files.
  std::vector<std::string> services();
  // A service's methods, fully-qualified (pkg.Service.Method), in order.
  std::vector<std::string> methods_of(std::string_view service);
  // Any symbol (a service, method, message, enum, field) as .proto text,
  // or as its descriptor in JSON.
  std::string describe(std::string_view symbol, bool json);

  std::unique_ptr<pb::Message> new_message(const pb::Descriptor& type);

  // A status's rich error details as JSON objects (details.hpp); the
  // server's own detail types are found when the schema has them.
  std::vector<std::string> details_of(const ::grpc::Status& status);

  // Filled by the loaders in schema.cpp.
  struct impl;
  std::unique_ptr<impl> self;
};

// Files (--proto/--protoset), read before any connection opens.
std::unique_ptr<schema> load_files(const schema_options& options);
// Server reflection over `channel`, asking for what `symbol` needs (all
// services' names when it is empty).
awaitable<std::unique_ptr<schema>> load_reflection(std::shared_ptr<::grpc::Channel> channel,
                                                   std::vector<std::pair<std::string, std::string>> metadata,
                                                   std::string symbol);

}  // namespace nettool::grpc
