// Rich error details (google.rpc.Status in grpc-status-details-bin), as
// JSON: what grpcurl shows under "Details".
#pragma once

#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor_database.h>
#include <google/protobuf/message.h>

#include <string>
#include <vector>

namespace nettool::grpc {

namespace pb = google::protobuf;

// google/rpc/status.proto and google/rpc/error_details.proto, for a schema
// to look up after the server's own files.
void add_status_types(pb::SimpleDescriptorDatabase& into);

// Each detail of a serialized google.rpc.Status as one compact JSON object
// ({"@type":…, fields…}; {"@type":…,"value":BASE64} for a type `pool` does
// not know). Empty when there are none.
std::vector<std::string> status_details(const pb::DescriptorPool& pool, pb::MessageFactory& factory,
                                        const std::string& serialized);

}  // namespace nettool::grpc
