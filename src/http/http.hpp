// http adapter: options of each verb and the functions that run them.
#pragma once

#include "nettool/core/bench.hpp"
#include "nettool/core/context.hpp"
#include "nettool/core/options.hpp"
#include "nettool/http/client.hpp"
#include "nettool/http/server.hpp"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace nettool::http {

// get, head, delete, options, post, put, patch.
struct request_args {
  core::common_options common;
  core::timeout_options timeouts;
  core::connect_options connect;
  core::tls_client_options tls;
  beast::http::verb method = beast::http::verb::get;
  std::vector<std::string> urls;
  std::optional<std::string> data;       // -d TEXT, @FILE, @-
  std::optional<std::string> json_body;  // --json-body
  std::vector<std::string> form;         // -F name=value|@FILE|<FILE
  std::vector<std::string> headers;      // -H 'Name: value'
  std::string user;                      // -u USER:PASS
  std::string output_file;               // -o
  std::string unix_socket;
  std::optional<std::string> noproxy;    // --noproxy LIST
  bool include = false;
  bool compressed = false;
  bool location = false;
  int max_redirects = 10;
  bool fail = false;
  bool retry_all = false;
  bool timing = false;
  // curl's flags accepted as they are typed (command.cpp applies them).
  std::string method_override;  // -X METHOD
  bool head = false;            // -I
  std::string user_agent;       // -A
};

awaitable<int> run_request(core::run_context& ctx, const request_args& args);


struct wait_args {
  core::common_options common;
  core::timeout_options timeouts;
  core::connect_options connect;
  core::tls_client_options tls;
  std::vector<std::string> urls;
  std::string status;  // "200,204" or ranges "200-399"; empty: any 2xx
  std::string contains;
  std::vector<std::string> headers;
  std::string unix_socket;
  std::optional<std::string> noproxy;
  core::duration interval = std::chrono::milliseconds(250);
  core::duration limit = std::chrono::seconds(30);
  std::vector<std::string> command;
};

struct bench_args {
  core::common_options common;
  core::timeout_options timeouts;
  core::connect_options connect;
  core::tls_client_options tls;
  core::bench_options bench;
  std::string url;
  std::string method = "GET";
  std::optional<std::string> data;
  std::vector<std::string> headers;
  std::string unix_socket;
};

awaitable<int> run_bench(core::run_context& ctx, const bench_args& args);

// One connection handled as http serve handles each, to its end: the entry
// of the request fuzzer (tests/fuzz).
awaitable<void> serve_one_connection(const serve_args& args, core::connection conn);

// "200,204,300-399" as inclusive ranges; nullopt when malformed.
std::optional<std::vector<std::pair<unsigned, unsigned>>> parse_status_list(std::string_view text);

awaitable<int> run_wait(core::run_context& ctx, const wait_args& args);

}  // namespace nettool::http
