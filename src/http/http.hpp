// http adapter: options of each verb and the functions that run them.
#pragma once

#include "nettool/core/context.hpp"
#include "nettool/core/options.hpp"
#include "nettool/http/client.hpp"

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
};

awaitable<int> run_request(core::run_context& ctx, const request_args& args);

}  // namespace nettool::http
