// ws adapter: WebSocket (RFC 6455) on Beast's websocket::stream, over the
// http client's routes and the http server's loop.
#pragma once

#include "transport.hpp"

#include "nettool/core/bench.hpp"
#include "nettool/core/context.hpp"
#include "nettool/core/options.hpp"
#include "nettool/http/client.hpp"
#include "nettool/http/server.hpp"

#include <boost/json/object.hpp>
#include <boost/url/url.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace nettool::ws {

constexpr std::uint64_t default_max_message = 64ull * 1024 * 1024;
// The phase of the upgrade: its failures read differently (an EOF there is
// a server that does not speak WebSocket here, not a dropped session).
constexpr const char* handshake_phase = "handshake";

struct message_options {
  std::vector<std::string> send;  // --send, instead of stdin
  std::optional<std::uint64_t> count;
  bool binary = false;
  std::string expect;
};

// Where a client goes and how it shakes hands: connect's and bench's.
struct client_args {
  core::timeout_options timeouts;
  core::connect_options connect;
  core::tls_client_options tls;
  std::string url;
  std::vector<std::string> headers;
  std::vector<std::string> subprotocols;
  std::string origin;
  std::string unix_socket;
  std::optional<std::string> noproxy;
  bool compress = false;
  std::uint64_t max_message = default_max_message;
};

struct connect_args {
  core::common_options common;
  client_args client;
  message_options messages;
  std::optional<core::duration> ping_interval;
  std::optional<core::duration> ping_timeout;
  std::uint16_t close_code = 1000;
  std::string close_reason;
  core::duration close_grace = std::chrono::seconds(2);
  std::optional<core::duration> count_limit;  // --timeout with --count: not reached → 9
  bool reconnect = false;
};

struct bench_args {
  core::common_options common;
  client_args client;
  core::bench_options bench;
  std::uint64_t size = 64;  // bytes per message
  bool binary = false;
};

awaitable<int> run_connect(core::run_context& ctx, const connect_args& args);
awaitable<int> run_bench(core::run_context& ctx, const bench_args& args);

// The http client that reaches `args.url` as a request would, and one
// WebSocket opened through it (connect, TLS, upgrade: one attempt).
http::client_options client_options_for(const client_args& args);
awaitable<std::unique_ptr<stream>> open_stream(http::client& client, const boost::urls::url& url, const client_args& args);

// ws://H/P → http://H/P (wss → https) for the http client's routes, as
// curl's: HTTP_PROXY for ws://, HTTPS_PROXY for wss://. Anything else
// throws errc::usage naming the URL.
boost::urls::url http_url_for(const std::string& text);

struct serve_args {
  http::serve_args http;  // listener, TLS, head limits, timeouts
  bool echo = false;       // the default
  bool broadcast = false;  // a chat room
  std::string exec;        // a command per connection, lines in and out
  bool stdio = false;      // messages to stdout, stdin lines to every client
  std::string path;  // empty: every path
  std::vector<std::string> subprotocols;
  std::vector<std::string> origins;
  std::uint64_t max_message = default_max_message;
  std::uint64_t max_queue = 16ull * 1024 * 1024;  // --broadcast: per client, then 1008
  core::duration idle_timeout = std::chrono::seconds(60);  // no frame, not even a pong
  bool compress = false;
};

awaitable<int> run_serve(core::run_context& ctx, const serve_args& args);

// RFC 6455 §7.4: codes an endpoint may send in a Close frame.
bool is_sendable_close_code(unsigned code);

// SPEC §2 ws: {"type":"text"|"binary"|"ping"|"pong"|"close", "data"|"data_base64", "code", "reason"}.
boost::json::object message_event(std::string_view type, std::string_view payload);
boost::json::object close_event(unsigned code, std::string_view reason);

// A peer's text for our stderr: control characters (a close reason could
// carry terminal escapes) as \xNN.
std::string printable(std::string_view text);

// A failure of a WebSocket step as the core's error (and so its exit
// code): handshake rejected → 7, malformed frames or handshake → 6,
// timeouts → 124, TLS → 5.
core::error failure(const error_code& ec, std::string phase, std::string where);

}  // namespace nettool::ws
