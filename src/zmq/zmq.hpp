// The zmq adapter (SPEC §2 zmq) on libzmq through cppzmq, built as the
// loadable module nettool-zmq.so: only `nettool zmq …` loads libzmq.
#pragma once

#include "nettool/core/bench.hpp"
#include "nettool/core/context.hpp"
#include "nettool/core/options.hpp"

#include <optional>
#include <string>
#include <vector>

namespace nettool::zmq {

using core::awaitable;

// The socket types the verbs are named after.
enum class kind { pub, sub, push, pull, req, rep, dealer, router, pair };

struct socket_args {
  core::common_options common;
  core::timeout_options timeouts;  // --connect-timeout, reconnect backoff from --retry-delay/--retry-max-delay
  kind type = kind::pair;
  std::vector<std::string> bind;
  std::vector<std::string> connect;
  std::vector<std::string> send;       // --send TEXT instead of stdin
  bool binary = false;                 // stdin in raw chunks, one message each
  bool multipart = false;              // split a line on --frame-sep into frames
  std::string frame_sep = "\t";
  std::optional<std::uint64_t> count;  // messages received (sent, for send-only types) before exiting
  std::string expect;                  // --expect REGEX over received messages (frames joined by --frame-sep)
  std::vector<std::string> subscribe;  // sub
  std::optional<int> wait_subscribers; // pub
  bool drop = false;                   // pub: ZeroMQ's dropping at the high-water mark
  std::optional<int> hwm;
  std::uint64_t max_message_size = 64 * 1024 * 1024;  // ZMQ_MAXMSGSIZE: larger messages are refused
  core::duration linger = std::chrono::seconds(5);
  std::optional<std::string> identity;
  std::vector<std::string> sockopts;   // NAME=VALUE
  bool echo = false;                   // rep
  std::string exec;                    // rep: CMD answers each request
  std::optional<core::duration> reply_timeout;  // req: --timeout is per reply
  // CURVE: keys as Z85 text (40 characters), read from files at parse time.
  bool curve_server = false;
  std::string curve_secret_key;
  std::string curve_public_key;
  std::string curve_serverkey;
};

// zmq proxy: frontend and backend are bound; `sockets` carries the options
// both sides share (hwm, linger, CURVE, --sockopt).
struct proxy_args {
  socket_args sockets;
  core::common_options& common() { return sockets.common; }
  std::string frontend;
  std::string backend;
  std::string type = "xsub-xpub";
  std::string capture;
};

struct bench_args {
  socket_args sockets;  // --bind/--connect (remote peer), --hwm, --sockopt, …
  core::bench_options bench;
  std::string pattern = "push-pull";
  std::uint64_t size = 64;
  core::common_options& common() { return sockets.common; }
};

struct keygen_args {
  core::common_options common;
  std::string write;  // PREFIX: PREFIX.key (secret, 0600) and PREFIX.pub
};

// A Z85 key from a file: the key itself (40 characters), or a czmq/pyzmq
// certificate (`public-key = "…"`, `secret-key = "…"`); `which` picks one.
// Throws core::error (usage) naming the file.
std::string read_key_file(const std::string& path, std::string_view which);
bool is_z85_key(std::string_view text);

// --sockopt NAME=VALUE: the problem with one (empty: fine), and setting
// them all on a libzmq socket (libzmq refusing a value is a usage error).
std::string check_sockopt(const std::string& assignment);
void apply_sockopts(void* socket, const std::vector<std::string>& assignments);

// A libzmq exception (cppzmq's zmq::error_t) leaving `verb` becomes a
// core::error, so it gets the exit code and the one-line message of every
// other failure.
awaitable<int> mapped_errors(awaitable<int> verb);

awaitable<int> run_socket(core::run_context& ctx, const socket_args& args);
awaitable<int> run_req(core::run_context& ctx, const socket_args& args);
awaitable<int> run_rep(core::run_context& ctx, const socket_args& args);
awaitable<int> run_keygen(core::run_context& ctx, const keygen_args& args);
awaitable<int> run_proxy(core::run_context& ctx, const proxy_args& args);
awaitable<int> run_bench(core::run_context& ctx, const bench_args& args);
std::string check_proxy_type(const std::string& name);

}  // namespace nettool::zmq
