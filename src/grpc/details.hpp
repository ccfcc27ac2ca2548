// Rich error details (google.rpc.Status in grpc-status-details-bin), as
// JSON: what grpcurl shows under "Details".
#pragma once

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>

#include <string>
#include <vector>

namespace nettool::grpc {

namespace pb = google::protobuf;

// Each detail of a serialized google.rpc.Status as one compact JSON object
// ({"@type":…, fields…}; {"@type":…,"value":BASE64} for a type neither
// `pool`, the call's schema, nor the built-in google/rpc/error_details.proto
// knows). Empty when there are none.
std::vector<std::string> status_details(const pb::DescriptorPool& pool, pb::MessageFactory& factory,
                                        const std::string& serialized);

}  // namespace nettool::grpc
