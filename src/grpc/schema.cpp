#include "schema.hpp"

#include "details.hpp"

#include "stream.hpp"

#include "nettool/core/log.hpp"
#include "nettool/core/output.hpp"
#include "nettool/core/stdio.hpp"

#include <google/protobuf/compiler/importer.h>
#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/util/json_util.h>
#include <grpc/reflection/v1/reflection.pb.h>
#include <grpcpp/channel.h>
#include <grpcpp/impl/codegen/proto_utils.h>
#include <grpcpp/support/proto_buffer_reader.h>
#include <grpcpp/support/proto_buffer_writer.h>

#include <algorithm>
#include <filesystem>
#include <set>

namespace nettool::grpc {

namespace refl = ::grpc::reflection::v1;
using core::errc;

namespace {

// Collects protoc's messages: the first one is the one to show.
class error_collector final : public pb::compiler::MultiFileErrorCollector, public pb::DescriptorPool::ErrorCollector {
 public:
  void AddError(const std::string& file, int line, int column, const std::string& message) override {
    if (first.empty()) first = fmt::format("{}:{}:{}: {}", file, line + 1, column + 1, message);
  }
  void AddError(const std::string& file, const std::string& element, const pb::Message*, ErrorLocation,
                const std::string& message) override {
    if (first.empty()) first = fmt::format("{}: {}: {}", file, element, message);
  }
  std::string first;
};

// The linked library's files, but only protobuf's own (well-known types):
// the linked test, health and reflection files must not stand in for what
// a server or a file does not define.
class library_types final : public pb::DescriptorDatabase {
 public:
  bool FindFileByName(const std::string& name, pb::FileDescriptorProto* out) override {
    return ours(name) && all_.FindFileByName(name, out);
  }
  bool FindFileContainingSymbol(const std::string& symbol, pb::FileDescriptorProto* out) override {
    return all_.FindFileContainingSymbol(symbol, out) && ours(out->name());
  }
  bool FindFileContainingExtension(const std::string& type, int number, pb::FileDescriptorProto* out) override {
    return all_.FindFileContainingExtension(type, number, out) && ours(out->name());
  }

 private:
  static bool ours(const std::string& name) { return name.starts_with("google/protobuf/"); }
  pb::DescriptorPoolDatabase all_{*pb::DescriptorPool::generated_pool()};
};

}  // namespace

struct schema::impl {
  std::unique_ptr<pb::compiler::DiskSourceTree> tree;
  std::unique_ptr<pb::compiler::SourceTreeDescriptorDatabase> source;
  pb::SimpleDescriptorDatabase fetched;  // protosets and reflection answers
  std::set<std::string> fetched_names;
  // Well-known types (google/protobuf/*.proto) from the linked library.
  library_types generated;
  std::unique_ptr<pb::MergedDescriptorDatabase> merged;
  error_collector errors;
  std::unique_ptr<pb::DescriptorPool> pool;
  pb::DynamicMessageFactory factory;
  std::vector<std::string> files;                  // the files named on the command line
  std::optional<std::vector<std::string>> listed;  // reflection's list of services

  // Looked up in this order: the files on disk, protosets and reflection's
  // answers, then the library's own files.
  void build() {
    std::vector<pb::DescriptorDatabase*> sources;
    if (source) sources.push_back(source.get());
    sources.push_back(&fetched);
    sources.push_back(&generated);
    merged = std::make_unique<pb::MergedDescriptorDatabase>(sources);
    pool = std::make_unique<pb::DescriptorPool>(merged.get(), &errors);
    factory.SetDelegateToGeneratedFactory(false);
  }
};

schema::schema() : self(std::make_unique<impl>()) {}
schema::~schema() = default;

std::vector<std::string> schema::details_of(const ::grpc::Status& status) {
  return status_details(*self->pool, self->factory, status.error_details());
}

const pb::MethodDescriptor& schema::method(std::string_view name) {
  std::string dotted(name);
  if (const auto slash = dotted.rfind('/'); slash != std::string::npos) dotted[slash] = '.';
  if (!dotted.empty() && dotted.front() == '.') dotted.erase(0, 1);
  const auto* found = self->pool->FindMethodByName(dotted);
  if (!found) {
    std::string why = self->errors.first.empty() ? "no such method in the schema" : self->errors.first;
    throw core::error(errc::usage, "method", std::string(name), why);
  }
  return *found;
}

std::vector<std::string> schema::services() {
  std::vector<std::string> out;
  if (self->listed) {
    out = *self->listed;
  } else {
    for (const auto& name : self->files) {
      const auto* file = self->pool->FindFileByName(name);
      if (!file) continue;
      for (int i = 0; i < file->service_count(); ++i) out.push_back(file->service(i)->full_name());
    }
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

namespace {
std::string strip_dot(std::string_view name) {
  if (!name.empty() && name.front() == '.') name.remove_prefix(1);
  return std::string(name);
}

// "service", "message", … and the descriptor's text and JSON forms.
struct described {
  const char* kind = nullptr;
  std::string text;
  std::unique_ptr<pb::Message> proto;
};

template <class Descriptor, class Proto>
described describe_as(const char* kind, const Descriptor& d) {
  auto proto = std::make_unique<Proto>();
  d.CopyTo(proto.get());
  return {kind, d.DebugString(), std::move(proto)};
}
}  // namespace

std::vector<std::string> schema::methods_of(std::string_view service) {
  const auto* found = self->pool->FindServiceByName(strip_dot(service));
  if (!found) throw core::error(errc::usage, "service", std::string(service), "no such service in the schema");
  std::vector<std::string> out;
  for (int i = 0; i < found->method_count(); ++i) out.push_back(found->method(i)->full_name());
  return out;
}

std::string schema::describe(std::string_view symbol, bool json) {
  const auto name = strip_dot(symbol);
  auto& pool = *self->pool;
  described d;
  if (const auto* service = pool.FindServiceByName(name)) {
    d = describe_as<pb::ServiceDescriptor, pb::ServiceDescriptorProto>("service", *service);
  } else if (const auto* method = pool.FindMethodByName(name)) {
    d = describe_as<pb::MethodDescriptor, pb::MethodDescriptorProto>("method", *method);
  } else if (const auto* message = pool.FindMessageTypeByName(name)) {
    d = describe_as<pb::Descriptor, pb::DescriptorProto>("message", *message);
  } else if (const auto* enumeration = pool.FindEnumTypeByName(name)) {
    d = describe_as<pb::EnumDescriptor, pb::EnumDescriptorProto>("enum", *enumeration);
  } else if (const auto* field = pool.FindFieldByName(name)) {
    d = describe_as<pb::FieldDescriptor, pb::FieldDescriptorProto>("field", *field);
  } else {
    throw core::error(errc::usage, "symbol", std::string(symbol), "no such symbol in the schema");
  }
  if (!json) return fmt::format("{} is a {}:\n{}", name, d.kind, d.text) + (d.text.ends_with('\n') ? "" : "\n");
  std::string descriptor;
  pb::util::JsonPrintOptions options;
  (void)pb::util::MessageToJsonString(*d.proto, &descriptor, options);
  return fmt::format(R"({{"symbol":"{}","kind":"{}","descriptor":{}}})", name, d.kind, descriptor) + "\n";
}

std::unique_ptr<pb::Message> schema::new_message(const pb::Descriptor& type) {
  return std::unique_ptr<pb::Message>(self->factory.GetPrototype(&type)->New());
}

// ---- files ----------------------------------------------------------------

namespace {

// protoc's rule: a file is named relative to the import path it is found
// under; without -I, its own folder is the import path.
std::string virtual_name(pb::compiler::DiskSourceTree& tree, const std::string& disk, bool default_path) {
  std::string name, shadowing;
  switch (tree.DiskFileToVirtualFile(disk, &name, &shadowing)) {
    case pb::compiler::DiskSourceTree::SUCCESS:
      return name;
    case pb::compiler::DiskSourceTree::SHADOWED:
      throw core::error(errc::usage, "--proto", disk, "shadowed by " + shadowing + " in an earlier -I folder");
    case pb::compiler::DiskSourceTree::CANNOT_OPEN:
      throw core::error(core::error_code(errno ? errno : ENOENT, boost::system::system_category()), core::phase::file,
                        disk);
    case pb::compiler::DiskSourceTree::NO_MAPPING:
      break;
  }
  throw core::error(errc::usage, "--proto", disk,
                    default_path ? "cannot be read" : "is in none of the -I folders (add its folder with -I)");
}

}  // namespace

std::unique_ptr<schema> load_files(const schema_options& options) {
  auto s = std::make_unique<schema>();
  auto& self = *s->self;
  if (!options.protos.empty()) {
    self.tree = std::make_unique<pb::compiler::DiskSourceTree>();
    const bool default_path = options.import_paths.empty();
    if (default_path) {
      std::set<std::string> dirs;
      for (const auto& proto : options.protos) {
        auto dir = std::filesystem::path(proto).parent_path().string();
        if (dirs.insert(dir).second) self.tree->MapPath("", dir.empty() ? "." : dir);
      }
    }
    for (const auto& dir : options.import_paths) self.tree->MapPath("", dir);
    self.source = std::make_unique<pb::compiler::SourceTreeDescriptorDatabase>(self.tree.get(), &self.generated);
    self.source->RecordErrorsTo(&self.errors);
    for (const auto& proto : options.protos) self.files.push_back(virtual_name(*self.tree, proto, default_path));
  }
  for (const auto& path : options.protosets) {
    pb::FileDescriptorSet set;
    if (!set.ParseFromString(core::read_file(path)))
      throw core::error(errc::usage, "--protoset", path, "not a FileDescriptorSet (protoc --descriptor_set_out)");
    for (const auto& file : set.file()) {
      if (self.fetched_names.insert(file.name()).second) self.fetched.Add(file);
      self.files.push_back(file.name());
    }
  }
  self.build();
  // Parse errors show now, naming file, line and column, not as a missing method.
  for (const auto& name : self.files) {
    if (!self.pool->FindFileByName(name))
      throw core::error(errc::usage, "--proto", name,
                        self.errors.first.empty() ? "cannot be loaded" : self.errors.first);
  }
  return s;
}

// ---- reflection -----------------------------------------------------------

namespace {

constexpr const char* reflection_methods[] = {"/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
                                              "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"};

::grpc::ByteBuffer to_buffer(const pb::Message& message) {
  ::grpc::ByteBuffer out;
  bool own = false;
  (void)::grpc::SerializationTraits<pb::Message>::Serialize(message, &out, &own);
  return out;
}

// One question and its answer on the reflection stream.
awaitable<refl::ServerReflectionResponse> ask(stream& s, const refl::ServerReflectionRequest& request) {
  const auto out = to_buffer(request);
  const bool sent = co_await s.write(out);
  if (!sent) throw core::error(errc::protocol, "reflection", {}, "the server ended the reflection stream");
  auto in = co_await s.read();
  if (!in) throw core::error(errc::protocol, "reflection", {}, "the server ended the reflection stream");
  refl::ServerReflectionResponse response;
  ::grpc::ProtoBufferReader reader(&*in);
  if (!response.ParseFromZeroCopyStream(&reader))
    throw core::error(errc::protocol, "reflection", {}, "malformed reflection response");
  core::log::debug("reflection answer: {}", response.ShortDebugString().substr(0, 300));
  if (response.has_error_response()) {
    const auto& e = response.error_response();
    throw core::error(core::error_code(e.error_code(), status_category()), "reflection", {},
                      status_name(e.error_code()) + ": " + one_line(e.error_message()));
  }
  co_return response;
}

bool library_file(const std::string& name) { return name.starts_with("google/protobuf/"); }

// Fetches the files `symbol` is in and every file they import.
awaitable<void> fetch_symbol(stream& s, schema::impl& self, const std::string& symbol) {
  refl::ServerReflectionRequest request;
  request.set_file_containing_symbol(symbol);
  std::vector<std::string> queue;
  auto take = [&](const refl::ServerReflectionResponse& response) {
    for (const auto& bytes : response.file_descriptor_response().file_descriptor_proto()) {
      pb::FileDescriptorProto file;
      if (!file.ParseFromString(bytes))
        throw core::error(errc::protocol, "reflection", {}, "malformed file descriptor");
      if (!self.fetched_names.insert(file.name()).second) continue;
      core::log::debug("reflection: {}", file.name());
      self.fetched.Add(file);
      for (const auto& dep : file.dependency()) queue.push_back(dep);
    }
  };
  // A symbol the server does not know is a method missing from the schema
  // (exit 2, from schema::method), not a failed call.
  bool known = true;
  refl::ServerReflectionResponse first;
  try {
    first = co_await ask(s, request);
  } catch (const core::error& e) {
    if (e.code() != core::error_code(static_cast<int>(::grpc::StatusCode::NOT_FOUND), status_category())) throw;
    known = false;
  }
  if (!known) co_return;
  take(first);
  while (!queue.empty()) {
    const auto name = queue.back();
    queue.pop_back();
    if (self.fetched_names.count(name) || library_file(name)) continue;
    refl::ServerReflectionRequest more;
    more.set_file_by_filename(name);
    auto answer = co_await ask(s, more);
    take(answer);
  }
}

awaitable<void> list_services(stream& s, schema::impl& self) {
  refl::ServerReflectionRequest request;
  request.set_list_services("*");
  auto answer = co_await ask(s, request);
  std::vector<std::string> names;
  for (const auto& service : answer.list_services_response().service()) names.push_back(service.name());
  self.listed = std::move(names);
}

awaitable<void> reflect(::grpc::GenericStub& stub, const char* method,
                        const std::vector<std::pair<std::string, std::string>>& metadata, schema::impl& self,
                        const std::string& symbol) {
  ::grpc::ClientContext context;
  for (const auto& [key, value] : metadata) context.AddMetadata(key, value);
  stream s(stub, method, context);
  std::function<awaitable<void>(stream&)> body = [&](stream& st) -> awaitable<void> {
    if (symbol.empty())
      co_await list_services(st, self);
    else
      co_await fetch_symbol(st, self, symbol);
    (void)co_await st.writes_done();
    while (true) {
      auto rest = co_await st.read();
      if (!rest) break;
    }
  };
  std::optional<core::error> failed;
  try {
    auto run = s.run(std::move(body));
    co_await std::move(run);
  } catch (const core::error& e) {
    failed = e;
  }
  // The call's own status says more than a stream that ended early, unless
  // it is only the CANCELLED of our own giving up (a malformed answer).
  const auto status = s.final_status();
  if (failed && (status.ok() || status.error_code() == ::grpc::StatusCode::CANCELLED)) throw *failed;
  if (!status.ok()) throw status_error(status, "reflection", {});
}

}  // namespace

awaitable<std::unique_ptr<schema>> load_reflection(std::shared_ptr<::grpc::Channel> channel,
                                                   std::vector<std::pair<std::string, std::string>> metadata,
                                                   std::string symbol) {
  ::grpc::GenericStub stub(channel);
  for (const char* method : reflection_methods) {
    auto s = std::make_unique<schema>();
    std::optional<core::error> unimplemented;
    try {
      auto op = reflect(stub, method, metadata, *s->self, symbol);
      co_await std::move(op);
    } catch (const core::error& e) {
      if (e.code() != core::error_code(static_cast<int>(::grpc::StatusCode::UNIMPLEMENTED), status_category())) throw;
      unimplemented = e;
    }
    if (!unimplemented) {
      s->self->build();
      co_return s;
    }
    core::log::debug("reflection: {} is not served", method);
  }
  throw core::error(core::error_code(static_cast<int>(::grpc::StatusCode::UNIMPLEMENTED), status_category()),
                    "reflection", {},
                    "the server has no reflection service (v1 or v1alpha): give --proto or --protoset");
}

}  // namespace nettool::grpc
