// tcp adapter: options of each verb and the functions that run them.
#pragma once

#include "nettool/core/bench.hpp"
#include "nettool/core/context.hpp"
#include "nettool/core/options.hpp"
#include "nettool/core/pump.hpp"

#include <string>
#include <vector>

namespace nettool::tcp {

namespace asio = boost::asio;
using core::awaitable;

struct connect_args {
  core::common_options common;
  core::timeout_options timeouts;
  core::connect_options connect;
  core::tls_client_options tls;
  core::pump_options pump;
  std::string host;
  std::string port;
  std::string unix_path;
  std::vector<std::string> send;
  std::string exec;
  std::string eof = "shutdown";
  std::string expect;
};

enum class listen_mode { stdio, echo, discard, exec, broker };

struct listen_args {
  core::common_options common;
  core::timeout_options timeouts;
  core::listen_options listen;
  core::tls_server_options tls;
  core::pump_options pump;
  bool keep_open = false;
  bool echo = false;
  bool discard = false;
  bool broker = false;
  bool chat = false;
  std::string exec;
  std::string eof = "shutdown";
  // --echo and --broker/--chat: a client that takes no bytes for this long
  // is closed (it would hold everyone else's messages in a broker).
  core::duration send_timeout = std::chrono::seconds(10);
  listen_mode mode() const;
};

struct scan_args {
  core::common_options common;
  core::timeout_options timeouts;
  core::connect_options connect;
  std::string host;
  std::string ports;
  bool all = false;
  std::size_t concurrency = 100;
};

struct wait_args {
  core::common_options common;
  core::timeout_options timeouts;
  core::connect_options connect;
  core::duration interval = std::chrono::milliseconds(250);
  core::duration limit = std::chrono::seconds(30);
  std::vector<std::string> targets;
  std::vector<std::string> command;
};

struct bench_args {
  core::common_options common;
  core::timeout_options timeouts;
  core::connect_options connect;
  core::tls_client_options tls;
  core::bench_options bench;
  std::string host;
  std::string port;
  std::uint64_t bytes = 1024ULL * 1024 * 1024;
  bool rr = false;
  std::uint64_t size = 64;
};

awaitable<int> run_bench(core::run_context& ctx, const bench_args& args);
awaitable<int> run_connect(core::run_context& ctx, const connect_args& args);
awaitable<int> run_listen(core::run_context& ctx, const listen_args& args);
awaitable<int> run_scan(core::run_context& ctx, const scan_args& args);
awaitable<int> run_wait(core::run_context& ctx, const wait_args& args);

}  // namespace nettool::tcp
