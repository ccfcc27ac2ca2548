// grpc adapter (SPEC §2 grpc): verbs on grpc++'s callback API and
// protobuf's dynamic messages. grpc++ runs its own threads; every verb
// waits for them through the core's foreign_call, on the io_context, so
// stdin, signals, --timeout and stdout behave as in every protocol.
#pragma once

#include "nettool/core/bench.hpp"
#include "nettool/core/context.hpp"
#include "nettool/core/error.hpp"
#include "nettool/core/options.hpp"

#include <grpcpp/support/status.h>

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace grpc {
class Channel;
}

namespace nettool::grpc {

using core::awaitable;

inline constexpr std::uint64_t default_max_message = 64 * 1024 * 1024;

// grpc++ reads a whole message before it compares its size with the limit:
// grpc serve's memory quota is what bounds a client that sends more (twice
// the largest message, plus room for the transport).
inline std::size_t memory_quota(std::uint64_t max_message) {
  return static_cast<std::size_t>(std::min<std::uint64_t>(max_message, 1ull << 30)) * 2 + (16u << 20);
}

// Where message types come from: server reflection unless a file is given.
struct schema_options {
  std::vector<std::string> protos;        // --proto FILE
  std::vector<std::string> import_paths;  // -I DIR
  std::vector<std::string> protosets;     // --protoset FILE
  bool reflection() const { return protos.empty() && protosets.empty(); }
};

// What every client verb shares.
struct client_args {
  core::common_options common;
  core::timeout_options timeouts;
  core::connect_options connect;       // its proxy is --proxy; the environment's are read as http's (SPEC §1)
  std::optional<std::string> noproxy;  // --noproxy, replacing NO_PROXY
  core::tls_client_options tls;        // --tls, --cacert, --cert/--key, --servername, --insecure
  std::string authority;               // --authority: the :authority header
  std::string target;                  // HOST:PORT or unix:PATH
  std::vector<std::string> headers;    // -H 'key: value'
  std::uint64_t max_message = default_max_message;
  schema_options schema;
};

struct call_args : client_args {
  std::string method;  // SERVICE/METHOD (or SERVICE.METHOD, as grpcurl takes)
  std::string data;    // -d: JSON, @FILE or @- (stdin); empty: one empty message
  bool emit_defaults = false;
};

awaitable<int> run_call(core::run_context& ctx, const call_args& args);

struct bench_args : client_args {
  std::string method;
  std::string data;  // -d: the one request every call sends
  core::bench_options bench;
  std::size_t connections = 1;
};

awaitable<int> run_bench(core::run_context& ctx, const bench_args& args);

// "pkg.Service" of "pkg.Service/Method" (or pkg.Service.Method); throws
// errc::usage for anything else.
std::string service_of(const std::string& method);

struct list_args : client_args {
  std::string symbol;  // list: a service (its methods); describe: any symbol
};

awaitable<int> run_list(core::run_context& ctx, const list_args& args);
awaitable<int> run_describe(core::run_context& ctx, const list_args& args);

// health and wait.
struct health_args : client_args {
  std::string service;                                       // --service: "" is the whole server
  bool watch = false;                                        // health --watch
  core::duration interval = std::chrono::milliseconds(250);  // wait
  core::duration limit = std::chrono::seconds(30);           // wait: --timeout
  std::vector<std::string> command;                          // wait: -- CMD
};

awaitable<int> run_health(core::run_context& ctx, const health_args& args);
awaitable<int> run_wait(core::run_context& ctx, const health_args& args);

struct serve_args {
  core::common_options common;
  core::listen_options listen;
  core::tls_server_options tls;
  std::map<std::string, int> health;  // --health SERVICE=STATUS (a ServingStatus number)
  std::uint64_t max_message = default_max_message;
};

awaitable<int> run_serve(core::run_context& ctx, const serve_args& args);

// The channel every client verb calls over. Connections are made by the
// core, so --resolve, -4/-6, --connect-timeout, retries and exit codes 3/4
// are as in every protocol: a plaintext one is handed to grpc++ as it is;
// under TLS grpc++ connects to the address the core reached and does the
// handshake itself (its failures exit 5, see tls_failure).
awaitable<std::shared_ptr<::grpc::Channel>> open_channel(const client_args& args);

// Status codes: names, and errors that exit 64+code (core::register_exit_codes).
std::string status_name(int code);
std::optional<int> status_code_named(std::string_view name);
const boost::system::error_category& status_category() noexcept;
void register_status_exit_codes();
// `details`: the status's rich error details as JSON (schema::details_of),
// appended to the one-line reason.
core::error status_error(const ::grpc::Status& status, std::string phase, std::string where,
                         const std::vector<std::string>& details = {});

// A call that failed UNAVAILABLE before reaching the server because the
// TLS handshake did: grpc++ only says so in the status message.
bool tls_failure(const ::grpc::Status& status);

// A PEM file for grpc++ (which takes the text, not the path): a file that
// holds no certificate (or key) is a usage error naming the option, which
// says so when --cert and --key look swapped.
enum class pem { certificate, key };
std::string read_pem(const std::string& path, std::string_view option, pem kind);

// A peer's text for a one-line error: printable, line feeds as \n.
std::string one_line(std::string_view peer_text);

// Metadata from -H 'key: value' (keys lower-cased; -bin values base64).
std::vector<std::pair<std::string, std::string>> parse_metadata(const std::vector<std::string>& headers);

}  // namespace nettool::grpc
