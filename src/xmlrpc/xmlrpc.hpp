// xmlrpc adapter: the verbs' options and the functions that run them. The
// requests travel on http's client and server (include/nettool/http).
#pragma once

#include "value.hpp"

#include "nettool/core/context.hpp"
#include "nettool/core/options.hpp"
#include "nettool/http/server.hpp"

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace nettool::xmlrpc {

using core::awaitable;

inline constexpr std::uint64_t default_max_size = 64 * 1024 * 1024;

// call, list, help.
struct client_args {
  core::common_options common;
  core::timeout_options timeouts;
  core::connect_options connect;
  core::tls_client_options tls;
  std::string url;
  std::string method;
  std::vector<std::string> arguments;
  std::vector<std::string> headers;  // -H 'Name: value'
  std::string unix_socket;
  std::optional<std::string> noproxy;
  std::uint64_t max_size = default_max_size;
  bool multicall = false;  // call: METHOD ARGS groups as JSON Lines on stdin
  bool retry_all = false;
};

awaitable<int> run_call(core::run_context& ctx, const client_args& args);
awaitable<int> run_list(core::run_context& ctx, const client_args& args);
awaitable<int> run_help(core::run_context& ctx, const client_args& args);

struct serve_args {
  http::serve_args http;  // listener, TLS, limits (max_body is --max-size)
  std::map<std::string, std::string> methods;  // --method NAME=CMD
  std::map<std::string, std::string> helps;    // --method-help NAME=TEXT
  std::string exec;                            // --exec CMD: every other method
  core::duration method_timeout = std::chrono::seconds(60);
  bool dump = false;
};

awaitable<int> run_serve(core::run_context& ctx, const serve_args& args);

// "HOST:PORT" → http://HOST:PORT/RPC2, and any URL without a path gets
// /RPC2 (as Python's ServerProxy and xmlrpc-c do). Throws errc::usage.
std::string endpoint_url(std::string_view text);

}  // namespace nettool::xmlrpc
