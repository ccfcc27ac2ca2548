// Request and response messages as protobuf's JSON mapping: lowerCamelCase
// names out, both spellings in; well-known types as the mapping says.
#pragma once

#include "schema.hpp"

#include <boost/json/stream_parser.hpp>

#include <grpcpp/support/byte_buffer.h>

namespace nettool::grpc {

// One JSON text → the message's bytes. A bad text is a usage error (exit 2)
// naming the field protobuf names.
::grpc::ByteBuffer request_from_json(schema& s, const pb::Descriptor& type, std::string_view json);

// A response's bytes → one compact JSON line; bytes that do not parse as
// `type` are a protocol error (exit 6).
std::string response_to_json(schema& s, const pb::Descriptor& type, const ::grpc::ByteBuffer& bytes,
                             bool emit_defaults);

// Cuts a stream of JSON texts separated by whitespace (SPEC: -d @-) into
// the texts, as they complete.
class json_texts {
 public:
  json_texts();
  // Appends every text `bytes` completes to `out`. At malformed JSON it
  // stops: the texts before it are in `out`, and throw_if_failed() says
  // what was wrong (errc::usage), so they can be sent first.
  void feed(std::string_view bytes, std::vector<std::string>& out);
  void throw_if_failed() const {
    if (failure_) throw *failure_;
  }
  // At end of input: the last text, if only the end completes it (a bare
  // number); throws errc::usage if a text was cut short.
  void finish(std::vector<std::string>& out);

 private:
  boost::json::stream_parser parser_;
  std::string current_;
  bool started_ = false;
  std::uint64_t count_ = 0;
  std::optional<core::error> failure_;
};

}  // namespace nettool::grpc
