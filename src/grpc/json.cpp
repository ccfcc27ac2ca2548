#include "json.hpp"

#include <google/protobuf/util/json_util.h>
#include <grpcpp/impl/codegen/proto_utils.h>
#include <grpcpp/support/proto_buffer_reader.h>
#include <grpcpp/support/proto_buffer_writer.h>

#include <cctype>

namespace nettool::grpc {

using core::errc;

::grpc::ByteBuffer request_from_json(schema& s, const pb::Descriptor& type, std::string_view json) {
  auto message = s.new_message(type);
  pb::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  const auto status = pb::util::JsonStringToMessage(pb::StringPiece(json.data(), json.size()), message.get(), options);
  if (!status.ok()) throw core::error(errc::usage, "request", type.full_name(), std::string(status.message()));
  ::grpc::ByteBuffer out;
  bool own = false;
  const auto serialized = ::grpc::SerializationTraits<pb::Message>::Serialize(*message, &out, &own);
  if (!serialized.ok()) throw core::error(errc::usage, "request", type.full_name(), serialized.error_message());
  return out;
}

std::string response_to_json(schema& s, const pb::Descriptor& type, const ::grpc::ByteBuffer& bytes,
                             bool emit_defaults) {
  auto message = s.new_message(type);
  ::grpc::ByteBuffer copy(bytes);  // the reader consumes what it reads
  ::grpc::ProtoBufferReader reader(&copy);
  if (!message->ParseFromZeroCopyStream(&reader))
    throw core::error(errc::protocol, "response", type.full_name(),
                      "the message does not parse as " + type.full_name());
  pb::util::JsonPrintOptions options;
  options.always_print_primitive_fields = emit_defaults;
  options.preserve_proto_field_names = false;
  std::string out;
  const auto status = pb::util::MessageToJsonString(*message, &out, options);
  if (!status.ok()) throw core::error(errc::protocol, "response", type.full_name(), std::string(status.message()));
  return out;
}

namespace {
boost::json::parse_options parse_limits() {
  boost::json::parse_options o;
  o.max_depth = 100;  // protobuf's own recursion limit
  return o;
}
}  // namespace

json_texts::json_texts() : parser_(boost::json::storage_ptr(), parse_limits()) {}

void json_texts::feed(std::string_view bytes, std::vector<std::string>& out) {
  while (!bytes.empty() && !failure_) {
    if (!started_) {
      // Whitespace between texts belongs to none of them.
      std::size_t skip = 0;
      while (skip < bytes.size() && std::isspace(static_cast<unsigned char>(bytes[skip]))) ++skip;
      bytes.remove_prefix(skip);
      if (bytes.empty()) return;
      started_ = true;
    }
    boost::system::error_code ec;
    const auto used = parser_.write_some(bytes.data(), bytes.size(), ec);
    if (ec) {
      failure_.emplace(errc::usage, "request", fmt::format("message {}", count_ + 1),
                       "malformed JSON: " + ec.message());
      return;
    }
    current_.append(bytes.data(), used);
    bytes.remove_prefix(used);
    if (parser_.done()) {
      out.push_back(std::move(current_));
      current_.clear();
      parser_.reset();
      started_ = false;
      ++count_;
    }
  }
}

void json_texts::finish(std::vector<std::string>& out) {
  throw_if_failed();
  if (!started_) return;
  // A number at the very end is complete only now.
  boost::system::error_code ec;
  parser_.finish(ec);
  if (ec || !parser_.done())
    throw core::error(errc::usage, "request", fmt::format("message {}", count_ + 1), "the JSON text is cut short");
  out.push_back(std::move(current_));
  current_.clear();
  started_ = false;
}

}  // namespace nettool::grpc
