// Reaching a peer (SPEC §1 "Reaching the peer"): resolve with -4/-6 and
// --resolve pins, try every address in order, --source, --proxy (HTTP
// CONNECT, SOCKS5), Unix sockets, TLS; all within --connect-timeout.
#pragma once

#include "nettool/core/async.hpp"
#include "nettool/core/stream.hpp"
#include "nettool/core/tls.hpp"

#include <boost/asio/ip/tcp.hpp>

#include <string>
#include <vector>

namespace nettool::core {

// When each step of a connect ended, for --timing (curl's -w time_*):
// unset steps (a pinned address, no TLS) stay at their start.
struct connect_timing {
  std::chrono::steady_clock::time_point start, resolved, connected, tls_done;
};

struct connect_options {
  int family = 0;  // 0, AF_INET or AF_INET6
  std::vector<std::string> resolve;  // HOST:PORT:ADDR[,ADDR…]
  std::string proxy;                 // http://, socks5://, socks5h:// URL
  std::string source;                // ADDR[:PORT]
  std::string servername;            // TLS name to send and verify; default: the host
  bool nodelay = false;
  bool keepalive = false;
  duration connect_timeout = std::chrono::seconds(10);
  connect_timing* timing = nullptr;  // filled in when set
};

struct target {
  std::string host;
  std::uint16_t port = 0;
  std::string unix_path;  // set for Unix domain sockets
  std::string describe() const;
};

// Resolves `host` (no DNS for literal addresses), honouring pins and family.
awaitable<std::vector<asio::ip::tcp::endpoint>> resolve(const std::string& host, std::uint16_t port,
                                                        const connect_options& options);

// Connects (and shakes hands when `tls` is set), bounded by connect_timeout;
// expiry is errc::timed_out in phase "connect".
awaitable<connection> connect(const target& to, const connect_options& options, const tls_context_ptr& tls);

// Validates option syntax before any socket opens; throws errc::usage.
void validate(const connect_options& options);

}  // namespace nettool::core
