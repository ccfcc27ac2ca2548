// Binds the grpc verbs' options (SPEC §2 grpc) to their structs, and the
// module's entry point.
#include "grpc.hpp"

#include "nettool/core/log.hpp"
#include "nettool/core/protocol.hpp"

#include <grpc/grpc.h>
#include <grpc/support/log.h>
#include <google/protobuf/stubs/logging.h>
#include <CLI/CLI.hpp>

namespace nettool::grpc {
namespace {

using core::verb_table;

// grpc++ 1.51 cleans its library up when its last reference goes, at once
// on a thread of ours, but on a detached thread when that is one of grpc++'s
// own (a callback dropping the last channel): that thread would race the
// program's exit. Each verb holds a reference of its own and drops it last,
// here on the io_context's thread, so grpc++'s threads have ended before the
// verb returns.
core::awaitable<int> with_grpc_library(core::awaitable<int> verb) {
  grpc_init();
  std::exception_ptr failure;
  int code = 0;
  try {
    code = co_await std::move(verb);
  } catch (...) {
    failure = std::current_exception();
  }
  grpc_shutdown_blocking();
  if (failure) std::rethrow_exception(failure);
  co_return code;
}

void add_schema_options(CLI::App& cmd, schema_options& schema) {
  cmd.add_option("--proto", schema.protos,
                 "Message types from this .proto file instead of server reflection (repeatable)")
      ->type_name("FILE")
      ->allow_extra_args(false);
  cmd.add_option("-I,--import-path", schema.import_paths,
                 "Folder that --proto files and their imports are found in, as protoc's -I (repeatable; default: "
                 "the --proto file's own folder)")
      ->type_name("DIR")
      ->allow_extra_args(false);
  cmd.add_option("--protoset", schema.protosets,
                 "Message types from a FileDescriptorSet (protoc --include_imports --descriptor_set_out) (repeatable)")
      ->type_name("FILE")
      ->allow_extra_args(false);
}

void add_client_options(CLI::App& cmd, client_args& args) {
  cmd.add_option("target", args.target, "HOST:PORT, or unix:PATH")->required()->type_name("TARGET");
  cmd.add_option("-H,--header", args.headers, "Request metadata 'key: value' (repeatable; -bin keys take base64)")
      ->type_name("HEADER")
      ->allow_extra_args(false);
  core::add_size_option(cmd, "--max-msg-size", args.max_message, "Largest message sent or received")
      ->default_str("64MiB");
  add_schema_options(cmd, args.schema);
  cmd.add_option("--authority", args.authority, "The :authority header (default: TARGET)")->type_name("HOST[:PORT]");
  core::add_tls_client_options(cmd, args.tls);
  core::add_connect_options(cmd, args.connect);
  cmd.add_option("--noproxy", args.noproxy,
                 "Hosts reached directly: 'a.com,.b.org,10.0.0.1' or '*' (replaces NO_PROXY)")
      ->type_name("LIST");
  core::add_timeout_options(cmd, args.timeouts, false);
  core::add_common_options(cmd, args.common);
}

void check_client(const client_args& args) {
  core::check_option([&] { parse_metadata(args.headers); }, "-H");
  core::check_option([&] { core::validate(args.connect); });
  if (args.tls.enabled && args.connect.proxy.starts_with("socks"))
    throw CLI::ValidationError("--proxy",
                               "a socks5 proxy carries plaintext grpc targets only; with --tls use an http:// proxy");
  if (!args.schema.import_paths.empty() && args.schema.protos.empty())
    throw CLI::ValidationError("-I", "is for --proto files");
}

void add_call(CLI::App& app, verb_table& verbs) {
  auto args = std::make_shared<call_args>();
  auto* cmd = app.add_subcommand("call", "Call SERVICE/METHOD with JSON requests; print each response as a JSON line");
  add_client_options(*cmd, *args);
  cmd->add_option("method", args->method, "SERVICE/METHOD, e.g. grpc.testing.TestService/UnaryCall")
      ->required()
      ->type_name("METHOD");
  cmd->add_option("-d,--data", args->data,
                  "The request as JSON, @FILE, or @- for stdin: JSON objects one after another, each sent as read "
                  "(client and bidirectional streaming); default {}")
      ->type_name("JSON");
  cmd->add_flag("--emit-defaults", args->emit_defaults, "Print fields that hold their default value too");
  cmd->footer(
      "Examples:\n"
      "  nettool grpc call 127.0.0.1:50051 grpc.testing.TestService/UnaryCall -d '{\"responseSize\":3}'\n"
      "  nettool grpc call 127.0.0.1:50051 my.pkg.Greeter/SayHello --proto greeter.proto -d '{\"name\":\"x\"}'\n"
      "  nettool grpc call unix:/run/app.sock grpc.testing.TestService/FullDuplexCall -d @-\n"
      "A non-OK status prints 'CODE: message' on stderr and exits 64+code (UNAVAILABLE 78, UNIMPLEMENTED 76).\n");
  cmd->callback([args] {
    check_client(*args);
    if (args->data == "@") throw CLI::ValidationError("-d", "'@' is grpcurl's stdin: nettool reads stdin with -d @-");
  });
  verbs.add(cmd, args->common, [args](core::run_context& ctx) { return with_grpc_library(run_call(ctx, *args)); });
}

void add_list(CLI::App& app, verb_table& verbs) {
  auto args = std::make_shared<list_args>();
  auto* cmd =
      app.add_subcommand("list", "Print the services (or a SERVICE's methods), one fully-qualified name per line");
  add_client_options(*cmd, *args);
  cmd->add_option("service", args->symbol, "List this service's methods")->type_name("SERVICE");
  cmd->footer(
      "Examples:\n  nettool grpc list 127.0.0.1:50051\n  nettool grpc list 127.0.0.1:50051 grpc.testing.TestService\n");
  cmd->callback([args] { check_client(*args); });
  verbs.add(cmd, args->common, [args](core::run_context& ctx) { return with_grpc_library(run_list(ctx, *args)); });
}

void add_describe(CLI::App& app, verb_table& verbs) {
  auto args = std::make_shared<list_args>();
  auto* cmd = app.add_subcommand("describe",
                                 "Print a service, method, message or enum as .proto text (--json: its descriptor)");
  add_client_options(*cmd, *args);
  cmd->add_option("symbol", args->symbol, "A fully-qualified name, e.g. grpc.testing.SimpleRequest")
      ->required()
      ->type_name("SYMBOL");
  cmd->footer("Examples:\n  nettool grpc describe 127.0.0.1:50051 grpc.testing.TestService\n");
  cmd->callback([args] { check_client(*args); });
  verbs.add(cmd, args->common, [args](core::run_context& ctx) { return with_grpc_library(run_describe(ctx, *args)); });
}

void add_health(CLI::App& app, verb_table& verbs) {
  auto args = std::make_shared<health_args>();
  auto* cmd =
      app.add_subcommand("health", "Ask grpc.health.v1 Check: exit 0 when SERVING, 7 when not, 69 when unknown");
  add_client_options(*cmd, *args);
  cmd->add_option("--service", args->service, "The service to ask about (default \"\": the server)")->type_name("NAME");
  cmd->add_flag("--watch", args->watch, "Follow the Watch stream: print each status as it changes");
  cmd->footer(
      "Examples:\n"
      "  nettool grpc health 127.0.0.1:50051\n"
      "  nettool grpc health 127.0.0.1:50051 --service grpc.testing.TestService --json\n"
      "  nettool grpc health 127.0.0.1:50051 --watch\n");
  cmd->callback([args] { check_client(*args); });
  verbs.add(cmd, args->common, [args](core::run_context& ctx) { return with_grpc_library(run_health(ctx, *args)); });
}

void add_wait(CLI::App& app, verb_table& verbs) {
  auto args = std::make_shared<health_args>();
  auto* cmd = app.add_subcommand("wait",
                                 "Wait until TARGET's health is SERVING (or, without a health service, it "
                                 "accepts a connection), then run CMD");
  add_client_options(*cmd, *args);
  cmd->add_option("--service", args->service, "The service that must be SERVING (default: the server)")
      ->type_name("NAME");
  core::add_duration_option(*cmd, "--interval", args->interval, "Pause between attempts")->default_str("250ms");
  cmd->footer(
      "Examples:\n"
      "  nettool grpc wait 127.0.0.1:50051 --timeout 60s\n"
      "  nettool grpc wait 127.0.0.1:50051 -- ./run-tests\n"
      "Exit 124 when it is not ready within --timeout (default 30s). Anything after -- runs once it is.\n");
  cmd->callback([args] {
    check_client(*args);
    args->limit = args->common.timeout.value_or(std::chrono::seconds(30));
    args->common.timeout.reset();  // the verb bounds itself, to name the target
  });
  verbs.add(
      cmd, args->common, [args](core::run_context& ctx) { return with_grpc_library(run_wait(ctx, *args)); },
      &args->command);
}

void add_bench(CLI::App& app, verb_table& verbs) {
  auto args = std::make_shared<bench_args>();
  auto* cmd = app.add_subcommand("bench",
                                 "Load a unary METHOD: -c calls in flight over --connections channels; "
                                 "calls/s, latency percentiles, status counts");
  add_client_options(*cmd, *args);
  cmd->add_option("method", args->method, "SERVICE/METHOD (unary)")->required()->type_name("METHOD");
  cmd->add_option("-d,--data", args->data, "The request every call sends, as JSON (default {})")->type_name("JSON");
  cmd->add_option("--connections", args->connections, "Channels (connections) the calls are spread over")
      ->check(CLI::PositiveNumber)
      ->default_str("1");
  core::add_bench_options(*cmd, args->bench);
  cmd->footer(
      "Examples:\n"
      "  nettool grpc bench 127.0.0.1:50051 grpc.testing.TestService/UnaryCall -c 16 -z 10s\n"
      "  nettool grpc bench 127.0.0.1:50051 grpc.testing.TestService/EmptyCall -n 100000 --connections 4 -c 64 --json\n"
      "  nettool grpc bench 127.0.0.1:50051 grpc.testing.TestService/UnaryCall --rate 1000 -z 30s --fail-if "
      "'p99>20ms'\n");
  cmd->callback([args] {
    check_client(*args);
    if (args->data.starts_with('@')) throw CLI::ValidationError("-d", "grpc bench takes the request itself as JSON");
  });
  verbs.add(cmd, args->common, [args](core::run_context& ctx) { return with_grpc_library(run_bench(ctx, *args)); });
}

// --health SERVICE=STATUS, STATUS a grpc.health.v1 ServingStatus name.
int serving_status(const std::string& name) {
  static const std::pair<const char*, int> names[] = {
      {"UNKNOWN", 0}, {"SERVING", 1}, {"NOT_SERVING", 2}, {"SERVICE_UNKNOWN", 3}};
  for (const auto& [n, v] : names)
    if (name == n) return v;
  throw CLI::ValidationError("--health", "'" + name + "' is not SERVING, NOT_SERVING, UNKNOWN or SERVICE_UNKNOWN");
}

void add_serve(CLI::App& app, verb_table& verbs) {
  auto args = std::make_shared<serve_args>();
  auto health = std::make_shared<std::vector<std::string>>();
  auto* cmd = app.add_subcommand(
      "serve", "A test server: grpc.testing.TestService (interop semantics), grpc.health.v1.Health, reflection");
  core::add_listen_options(*cmd, args->listen, false);
  cmd->add_option("--health", *health,
                  "Health status of SERVICE (\"\" is the server): SERVING, NOT_SERVING, UNKNOWN (repeatable)")
      ->type_name("SERVICE=STATUS");
  core::add_size_option(*cmd, "--max-msg-size", args->max_message, "Largest message received or sent")
      ->default_str("64MiB");
  core::add_tls_server_options(*cmd, args->tls);
  core::add_common_options(*cmd, args->common);
  cmd->footer(
      "Examples:\n"
      "  nettool grpc serve 50051\n"
      "  nettool grpc serve 0 --port-file port --health grpc.testing.TestService=NOT_SERVING\n");
  cmd->callback([args, health] {
    for (const auto& spec : *health) {
      const auto eq = spec.rfind('=');
      if (eq == std::string::npos) throw CLI::ValidationError("--health", "'" + spec + "' is not SERVICE=STATUS");
      args->health[spec.substr(0, eq)] = serving_status(spec.substr(eq + 1));
    }
  });
  verbs.add(cmd, args->common, [args](core::run_context& ctx) { return with_grpc_library(run_serve(ctx, *args)); });
}

// grpc++ and protobuf log to stderr on their own (a failed handshake is an "E1202 …"
// line before our one-line error): its messages go to our log, at -vv.
void route_grpc_logs() {
  gpr_set_log_function([](gpr_log_func_args* args) {
    if (core::log::enabled(core::log::level::debug)) core::log::debug("grpc++: {}", args->message);
  });
  // protobuf's too (a peer's string that is not UTF-8, say): -vv.
  google::protobuf::SetLogHandler([](google::protobuf::LogLevel, const char*, int, const std::string& message) {
    if (core::log::enabled(core::log::level::debug)) core::log::debug("protobuf: {}", message);
  });
}

void configure(CLI::App& app, verb_table& verbs, std::string_view only) {
  register_status_exit_codes();
  route_grpc_logs();
  const bool known = only == "call" || only == "list" || only == "describe" || only == "health" || only == "wait" ||
                     only == "serve" || only == "bench";
  if (!known || only == "call") add_call(app, verbs);
  if (!known || only == "list") add_list(app, verbs);
  if (!known || only == "describe") add_describe(app, verbs);
  if (!known || only == "health") add_health(app, verbs);
  if (!known || only == "wait") add_wait(app, verbs);
  if (!known || only == "serve") add_serve(app, verbs);
  if (!known || only == "bench") add_bench(app, verbs);
}

}  // namespace

constexpr core::protocol_descriptor descriptor{"grpc", "gRPC: call, list, describe, health, wait, serve, bench",
                                               &configure};

}  // namespace nettool::grpc

extern "C" const nettool::core::protocol_descriptor* nettool_protocol_v1() { return &nettool::grpc::descriptor; }
