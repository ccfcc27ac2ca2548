// The http serve engine, for protocols that begin as an HTTP request (ws)
// or travel in requests (xmlrpc): its listener, TLS, limits, access log and
// graceful stop, with a handler that takes a connection over after an
// Upgrade request, or one that answers each request.
#pragma once

#include "nettool/core/context.hpp"
#include "nettool/core/options.hpp"
#include "nettool/core/stream.hpp"

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace nettool::http {

using core::awaitable;

struct serve_args {
  core::common_options common;
  core::timeout_options timeouts;
  core::listen_options listen;
  core::tls_server_options tls;
  std::string dir = ".";
  bool echo = false;
  std::optional<unsigned> status;    // mock mode
  std::optional<std::string> body;   // mock mode: TEXT or @FILE
  std::vector<std::string> headers;  // added to every response
  std::optional<core::duration> delay;
  core::duration header_timeout = std::chrono::seconds(10);
  core::duration body_timeout = std::chrono::seconds(60);  // a whole request body
  core::duration send_timeout = std::chrono::seconds(60);  // no response byte taken for this long
  std::uint64_t max_body = 1024 * 1024;
  std::uint64_t max_header_size = 16 * 1024;
  std::size_t max_headers = 100;
  // Event loops (threads) the connections are spread over. Servers with
  // hooks (ws, xmlrpc) keep one: their handlers share state.
  std::size_t threads = 1;
};

// A request that asked to switch protocols, with its connection and the
// bytes the client sent after the head (its first frames, maybe).
struct upgrade {
  boost::beast::http::request<boost::beast::http::string_body> request;
  core::connection conn;
  std::string leftover;
};

// A request answered with an error status, and why (for the access log).
struct refusal {
  unsigned status;
  std::string reason;
};

struct upgrade_hooks {
  // The Upgrade token taken over ("websocket"), case-insensitively.
  std::string protocol;
  // Looks at every request first: a refusal is answered with its status
  // (404 for another path, 403 for an origin not allowed).
  std::function<std::optional<refusal>(const boost::beast::http::request<boost::beast::http::string_body>&)> admit;
  // Takes an admitted GET asking for `protocol` and runs it to its end.
  std::function<awaitable<void>(upgrade)> take;
  // Admitted requests without the Upgrade get 426 with this text.
  std::string plain_reply;
  // Called once when the server stops (SIGINT, SIGTERM, --timeout), so the
  // taken connections can close as their protocol says.
  std::function<void()> stop;
};

// A protocol carried in plain requests (xmlrpc): every request that passed
// the server's limits, its body read whole (within --max-body), is
// answered with what `respond` returns. It runs on the connection's own
// coroutine, so a slow answer holds up only that client.
struct reply_text {
  unsigned status = 200;
  boost::beast::http::fields headers;
  std::string body;
};
struct request_hooks {
  std::function<awaitable<reply_text>(boost::beast::http::request<boost::beast::http::string_body>&,
                                      const std::string& peer)>
      respond;
  // A request the server refuses (413 over --max-body, 408, 400, 431) may
  // be answered in the protocol's own terms instead (an XML-RPC fault);
  // nullopt keeps the HTTP error. The connection closes after it either way.
  std::function<std::optional<reply_text>(unsigned status, const std::string& why)> refused;
};

awaitable<int> run_serve(core::run_context& ctx, const serve_args& args);
awaitable<int> run_serve(core::run_context& ctx, const serve_args& args, request_hooks hooks);
awaitable<int> run_serve(core::run_context& ctx, const serve_args& args, upgrade_hooks hooks);

}  // namespace nettool::http
