#include "nettool/core/connect.hpp"

#include "nettool/core/log.hpp"
#include "nettool/core/output.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/url/parse.hpp>


#include <netinet/tcp.h>
#include <strings.h>

namespace nettool::core {
namespace {

using tcp = asio::ip::tcp;
using generic = asio::generic::stream_protocol;

struct pin {
  std::string host;
  std::uint16_t port;
  std::vector<asio::ip::address> addresses;
};

std::optional<pin> parse_pin(std::string_view text) {
  // HOST:PORT:ADDR[,ADDR] where ADDR may be [v6]
  const auto first = text.find(':');
  if (first == std::string_view::npos) return std::nullopt;
  const auto second = text.find(':', first + 1);
  if (second == std::string_view::npos) return std::nullopt;
  auto port = parse_port(text.substr(first + 1, second - first - 1));
  if (!port || first == 0) return std::nullopt;
  pin p{std::string(text.substr(0, first)), *port, {}};
  auto rest = text.substr(second + 1);
  while (!rest.empty()) {
    const auto comma = rest.find(',');
    auto item = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    if (item.size() > 2 && item.front() == '[' && item.back() == ']') item = item.substr(1, item.size() - 2);
    boost::system::error_code ec;
    auto address = asio::ip::make_address(std::string(item), ec);
    if (ec) return std::nullopt;
    p.addresses.push_back(address);
  }
  if (p.addresses.empty()) return std::nullopt;
  return p;
}

bool is_localhost(std::string_view host) {
  auto lower = [](std::string_view a, std::string_view b) { return strncasecmp(a.data(), b.data(), b.size()) == 0; };
  if (!host.empty() && host.back() == '.') host.remove_suffix(1);
  return (host.size() == 9 && lower(host, "localhost")) ||
         (host.size() > 10 && lower(host.substr(host.size() - 10), ".localhost"));
}

std::string endpoint_text(const tcp::endpoint& ep) {
  const auto a = ep.address();
  return a.is_v6() ? fmt::format("[{}]:{}", a.to_string(), ep.port()) : fmt::format("{}:{}", a.to_string(), ep.port());
}

void set_options(generic::socket& socket, const connect_options& options) {
  const int one = 1;
  if (options.nodelay) ::setsockopt(socket.native_handle(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (options.keepalive) ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
}

awaitable<void> bind_source(generic::socket& socket, const tcp::endpoint& to, const connect_options& options) {
  if (options.source.empty()) co_return;
  std::string host = options.source;
  std::uint16_t port = 0;
  if (auto hp = parse_host_port(options.source)) {
    host = hp->host;
    port = hp->port;
  }
  boost::system::error_code ec;
  auto address = asio::ip::make_address(host, ec);
  if (ec) throw error(errc::usage, core::phase::bind, options.source, "--source needs an IP address");
  if (address.is_v4() != to.address().is_v4())
    throw error(errc::local_failure, core::phase::bind, options.source, "the source address family differs from the target's");
  const int one = 1;
  ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  socket.bind(generic::endpoint(tcp::endpoint(address, port)), ec);
  if (ec) throw error(ec, core::phase::bind, options.source);
}

// One TCP connection to the first address that accepts, in resolver order.
awaitable<generic::socket> connect_tcp(const std::string& host, std::uint16_t port, const connect_options& options) {
  auto ex = co_await asio::this_coro::executor;
  const auto endpoints = co_await resolve(host, port, options);
  if (options.timing) options.timing->resolved = std::chrono::steady_clock::now();
  error last(errc::connect_failed, core::phase::connect, fmt::format("{}:{}", host, port));
  for (const auto& ep : endpoints) {
    generic::socket socket(ex, generic(ep.protocol().family(), IPPROTO_TCP));
    co_await bind_source(socket, ep, options);
    log::debug("connecting to {}", endpoint_text(ep));
    auto [ec] = co_await socket.async_connect(generic::endpoint(ep), asio::as_tuple(asio::use_awaitable));
    if (!ec) {
      log::info("connected to {}{}", endpoint_text(ep), host == ep.address().to_string() ? "" : " (" + host + ")");
      co_return socket;
    }
    if (ec == asio::error::operation_aborted) co_await throw_if_cancelled();
    log::info("connect {} failed: {}", endpoint_text(ep), ec.message());
    last = error(ec, core::phase::connect, endpoint_text(ep));
  }
  throw last;
}

awaitable<void> write_all(generic::socket& socket, std::string_view bytes, const std::string& where) {
  auto [ec, n] = co_await asio::async_write(socket, asio::buffer(bytes), asio::as_tuple(asio::use_awaitable));
  if (ec) throw error(ec, core::phase::proxy, where);
}

awaitable<void> read_exact(generic::socket& socket, void* data, std::size_t size, const std::string& where) {
  auto [ec, n] = co_await asio::async_read(socket, asio::buffer(data, size), asio::as_tuple(asio::use_awaitable));
  if (ec == asio::error::eof) throw error(errc::connect_failed, core::phase::proxy, where, "the proxy closed the connection");
  if (ec) throw error(ec, core::phase::proxy, where);
}

std::string authority(const std::string& host, std::uint16_t port) {
  return host.find(':') != std::string::npos ? fmt::format("[{}]:{}", host, port) : fmt::format("{}:{}", host, port);
}

awaitable<void> http_connect(generic::socket& socket, const target& to, const boost::urls::url_view& proxy,
                             const std::string& where) {
  std::string request = fmt::format("CONNECT {0} HTTP/1.1\r\nHost: {0}\r\nUser-Agent: nettool\r\n",
                                    authority(to.host, to.port));
  if (proxy.has_userinfo())
    request += "Proxy-Authorization: Basic " + base64_encode(proxy.user() + ":" + proxy.password()) + "\r\n";
  request += "\r\n";
  co_await write_all(socket, request, where);
  // Read the reply byte by byte: whatever follows its blank line belongs to
  // the tunnelled peer and must stay in the socket.
  std::string reply;
  while (reply.size() < 16384 && (reply.size() < 4 || reply.compare(reply.size() - 4, 4, "\r\n\r\n") != 0)) {
    char c;
    co_await read_exact(socket, &c, 1, where);
    reply.push_back(c);
  }
  const auto line_end = reply.find("\r\n");
  const auto status_line = reply.substr(0, line_end);
  log::debug("proxy {} answered: {}", where, status_line);
  if (status_line.size() < 12 || status_line.compare(0, 5, "HTTP/") != 0)
    throw error(errc::protocol, core::phase::proxy, where, "malformed reply to CONNECT");
  if (status_line[9] != '2')
    throw error(errc::connect_failed, core::phase::proxy, where, fmt::format("CONNECT {} refused: {}", authority(to.host, to.port),
                                                                 status_line));
}

const char* socks_reply_text(unsigned char code) {
  switch (code) {
    case 1: return "general SOCKS server failure";
    case 2: return "connection not allowed by ruleset";
    case 3: return "network unreachable";
    case 4: return "host unreachable";
    case 5: return "connection refused";
    case 6: return "TTL expired";
    case 7: return "command not supported";
    case 8: return "address type not supported";
    default: return "unknown SOCKS error";
  }
}

awaitable<void> socks5_connect(generic::socket& socket, const target& to, const boost::urls::url_view& proxy,
                               bool remote_dns, const connect_options& options, const std::string& where) {
  const bool auth = proxy.has_userinfo();
  const std::string greeting = auth ? std::string("\x05\x02\x00\x02", 4) : std::string("\x05\x01\x00", 3);
  co_await write_all(socket, greeting, where);
  unsigned char choice[2];
  co_await read_exact(socket, choice, 2, where);
  if (choice[0] != 5) throw error(errc::protocol, core::phase::proxy, where, "not a SOCKS5 proxy");
  if (choice[1] == 0xff) throw error(errc::connect_failed, core::phase::proxy, where, "the proxy accepts none of our authentication methods");
  if (choice[1] == 2) {
    const auto user = proxy.user(), pass = proxy.password();
    if (user.size() > 255 || pass.size() > 255) throw error(errc::usage, core::phase::proxy, where, "user or password too long for SOCKS5");
    std::string login{'\x01', static_cast<char>(user.size())};
    login += user;
    login.push_back(static_cast<char>(pass.size()));
    login += pass;
    co_await write_all(socket, login, where);
    unsigned char status[2];
    co_await read_exact(socket, status, 2, where);
    if (status[1] != 0) throw error(errc::connect_failed, core::phase::proxy, where, "SOCKS5 authentication failed");
  }
  std::string request("\x05\x01\x00", 3);
  if (remote_dns) {
    if (to.host.size() > 255) throw error(errc::usage, core::phase::proxy, where, "host name too long for SOCKS5");
    request.push_back('\x03');
    request.push_back(static_cast<char>(to.host.size()));
    request += to.host;
  } else {
    const auto endpoints = co_await resolve(to.host, to.port, options);
    const auto address = endpoints.front().address();
    if (address.is_v4()) {
      request.push_back('\x01');
      const auto bytes = address.to_v4().to_bytes();
      request.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    } else {
      request.push_back('\x04');
      const auto bytes = address.to_v6().to_bytes();
      request.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    }
  }
  request.push_back(static_cast<char>(to.port >> 8));
  request.push_back(static_cast<char>(to.port & 0xff));
  co_await write_all(socket, request, where);
  unsigned char head[4];
  co_await read_exact(socket, head, 4, where);
  if (head[0] != 5) throw error(errc::protocol, core::phase::proxy, where, "malformed SOCKS5 reply");
  if (head[1] != 0) {
    const auto code = head[1] == 5 ? error_code(ECONNREFUSED, boost::system::system_category())
                    : head[1] == 4 ? error_code(EHOSTUNREACH, boost::system::system_category())
                    : head[1] == 3 ? error_code(ENETUNREACH, boost::system::system_category())
                                   : make_error_code(errc::connect_failed);
    throw error(code, core::phase::connect, authority(to.host, to.port), fmt::format("{} (SOCKS5 proxy {})", socks_reply_text(head[1]), where));
  }
  std::size_t rest = 2;  // port
  if (head[3] == 1) rest += 4;
  else if (head[3] == 4) rest += 16;
  else if (head[3] == 3) {
    unsigned char len;
    co_await read_exact(socket, &len, 1, where);
    rest += len;
  } else {
    throw error(errc::protocol, core::phase::proxy, where, "malformed SOCKS5 reply");
  }
  std::string bound(rest, '\0');
  co_await read_exact(socket, bound.data(), rest, where);
}

awaitable<generic::socket> connect_via_proxy(const target& to, const connect_options& options) {
  auto parsed = boost::urls::parse_uri(options.proxy);
  const boost::urls::url_view proxy = *parsed;
  const auto scheme = std::string(proxy.scheme());
  const std::uint16_t default_port = scheme == "http" ? 8080 : 1080;
  const std::uint16_t port = proxy.has_port() ? proxy.port_number() : default_port;
  const std::string host = proxy.host_address();
  const auto where = authority(host, port);
  // The proxy host itself is resolved without the target's pins.
  connect_options direct = options;
  direct.resolve.clear();
  auto socket = co_await connect_tcp(host, port, direct);
  if (scheme == "http") co_await http_connect(socket, to, proxy, where);
  else co_await socks5_connect(socket, to, proxy, scheme == "socks5h", options, where);
  log::info("tunnel to {} through {} proxy {}", authority(to.host, to.port), scheme, where);
  co_return socket;
}

void mark(std::chrono::steady_clock::time_point connect_timing::*step, const connect_options& options) {
  if (options.timing) options.timing->*step = std::chrono::steady_clock::now();
}

// `stage` says how far it got ("connect", then "tls"), for the timeout.
awaitable<connection> connect_unchecked(const target& to, const connect_options& options, const tls_context_ptr& tls,
                                        std::string& stage) {
  auto ex = co_await asio::this_coro::executor;
  if (options.timing) *options.timing = {std::chrono::steady_clock::now(), {}, {}, {}};
  mark(&connect_timing::resolved, options);
  if (!to.unix_path.empty()) {
    generic::socket socket(ex, generic(AF_UNIX, 0));
    auto [ec] = co_await socket.async_connect(generic::endpoint(asio::local::stream_protocol::endpoint(to.unix_path)),
                                              asio::as_tuple(asio::use_awaitable));
    if (ec) throw error(ec, core::phase::connect, to.unix_path);
    log::info("connected to {}", to.unix_path);
    mark(&connect_timing::connected, options);
    connection conn(std::move(socket), to.unix_path);
    if (tls) {
      stage = core::phase::tls;
      co_await conn.tls_handshake_client(tls, options.servername.empty() ? "localhost" : options.servername);
      mark(&connect_timing::tls_done, options);
    }
    co_return conn;
  }
  // No co_await inside ?: — g++ 12 destroys such temporaries twice.
  std::optional<generic::socket> socket;
  if (options.proxy.empty()) socket.emplace(co_await connect_tcp(to.host, to.port, options));
  else socket.emplace(co_await connect_via_proxy(to, options));
  set_options(*socket, options);
  mark(&connect_timing::connected, options);
  connection conn(std::move(*socket), authority(to.host, to.port));
  if (tls) {
    stage = core::phase::tls;
    co_await conn.tls_handshake_client(tls, options.servername.empty() ? to.host : options.servername);
    mark(&connect_timing::tls_done, options);
  }
  co_return conn;
}

}  // namespace

std::string target::describe() const { return unix_path.empty() ? authority(host, port) : unix_path; }

void validate(const connect_options& options) {
  for (const auto& p : options.resolve)
    if (!parse_pin(p)) throw error(errc::usage, "option", "--resolve", fmt::format("'{}' is not HOST:PORT:ADDR", p));
  if (!options.proxy.empty()) {
    auto parsed = boost::urls::parse_uri(options.proxy);
    const bool ok = parsed && (parsed->scheme() == "http" || parsed->scheme() == "socks5" || parsed->scheme() == "socks5h") &&
                    !parsed->host().empty();
    if (!ok)
      throw error(errc::usage, "option", "--proxy",
                  fmt::format("'{}' is not a proxy URL (http://HOST:PORT, socks5://HOST:PORT, socks5h://HOST:PORT)", options.proxy));
  }
}

awaitable<std::vector<tcp::endpoint>> resolve(const std::string& host, std::uint16_t port,
                                              const connect_options& options) {
  const auto wanted = [&](const asio::ip::address& a) {
    return options.family == 0 || (options.family == AF_INET) == a.is_v4();
  };
  std::vector<tcp::endpoint> out;
  for (const auto& text : options.resolve) {
    auto p = parse_pin(text);
    if (p && p->port == port && strcasecmp(p->host.c_str(), host.c_str()) == 0) {
      for (const auto& a : p->addresses)
        if (wanted(a)) out.emplace_back(a, port);
      log::debug("{} pinned by --resolve", host);
      co_return out;
    }
  }
  if (is_localhost(host)) {
    // RFC 6761: localhost is this machine; like curl, no resolver and no
    // /etc/hosts entry needed (a minimal container may have neither).
    if (options.family != AF_INET6) out.emplace_back(asio::ip::address_v4::loopback(), port);
    if (options.family != AF_INET) out.emplace_back(asio::ip::address_v6::loopback(), port);
    co_return out;
  }
  boost::system::error_code ec;
  auto literal = asio::ip::make_address(host, ec);
  if (!ec) {
    if (!wanted(literal)) throw error(errc::usage, "resolve", host, "address family excluded by -4/-6");
    out.emplace_back(literal, port);
    co_return out;
  }
  tcp::resolver resolver(co_await asio::this_coro::executor);
  const auto service = std::to_string(port);
  boost::system::error_code rec;
  tcp::resolver::results_type results;
  if (options.family == AF_INET)
    std::tie(rec, results) = co_await resolver.async_resolve(tcp::v4(), host, service, asio::as_tuple(asio::use_awaitable));
  else if (options.family == AF_INET6)
    std::tie(rec, results) = co_await resolver.async_resolve(tcp::v6(), host, service, asio::as_tuple(asio::use_awaitable));
  else
    std::tie(rec, results) = co_await resolver.async_resolve(host, service, asio::as_tuple(asio::use_awaitable));
  if (rec) throw error(rec, "resolve", host);
  for (const auto& r : results) out.push_back(r.endpoint());
  if (out.empty()) throw error(asio::error::host_not_found, "resolve", host);
  log::info("resolved {} to {} address{}", host, out.size(), out.size() == 1 ? "" : "es");
  co_return out;
}

awaitable<connection> connect(const target& to, const connect_options& options, const tls_context_ptr& tls) {
  std::string stage = core::phase::connect;
  try {
    co_return co_await with_timeout(connect_unchecked(to, options, tls, stage), options.connect_timeout, core::phase::connect,
                                    to.describe());
  } catch (const error& e) {
    if (e.code() != errc::timed_out || stage != core::phase::tls) throw;
    // Connected, but no TLS came back: a server that does not speak it, or
    // waits for the client to speak first in another protocol.
    throw error(errc::timed_out, core::phase::tls, to.describe(),
                fmt::format("no TLS handshake within --connect-timeout {}", format_duration(options.connect_timeout)));
  }
}

}  // namespace nettool::core
