// udp adapter: options of each verb and the functions that run them.
#pragma once

#include "nettool/core/context.hpp"
#include "nettool/core/options.hpp"

#include <optional>
#include <string>
#include <vector>

namespace nettool::udp {

using core::awaitable;

struct send_args {
  core::common_options common;
  core::timeout_options timeouts;
  core::connect_options connect;
  std::string host;
  std::string port;
  std::vector<std::string> send;        // --send TEXT (alias --message), repeatable
  std::size_t repeat = 1;               // each message this many times
  std::optional<std::uint64_t> count;   // with --wait-reply: stop after N replies
  core::duration interval{};
  std::optional<core::duration> wait_reply;
  bool broadcast = false;
  std::optional<int> ttl;
  bool binary = false;
  std::string expect;
};

struct listen_args {
  core::common_options common;
  core::listen_options listen;
  bool echo = false;
  std::optional<std::uint64_t> count;
  std::string multicast;
  bool binary = false;
  std::string expect;
  std::optional<core::duration> limit;  // --timeout when --count is given
};

awaitable<int> run_send(core::run_context& ctx, const send_args& args);
awaitable<int> run_listen(core::run_context& ctx, const listen_args& args);

// One received datagram on stdout: the bytes plus LF, raw with --binary, or
// {"from","size","data"|"data_base64"} with --json.
void print_datagram(core::run_context& ctx, std::string_view data, const std::string& from, bool binary);

}  // namespace nettool::udp
