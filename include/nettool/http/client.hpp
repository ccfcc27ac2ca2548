// The HTTP/1.1 client engine shared by http, ws and xmlrpc: requests over the
// core's connections (so proxies, Unix sockets, TLS and timeouts behave as in
// every protocol), responses parsed by Beast and read in pieces so a body of
// any size streams through bounded memory, connections kept alive per origin.
#pragma once

#include "nettool/core/connect.hpp"
#include "nettool/core/options.hpp"
#include "nettool/core/retry.hpp"
#include "nettool/core/stream.hpp"

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/verb.hpp>
#include <boost/url/url.hpp>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace nettool::http {

namespace beast = boost::beast;
namespace urls = boost::urls;
using core::awaitable;

// A request body: pieces sent in order, each bytes in memory or a file
// streamed from disk; the sizes add up to Content-Length.
struct body_source {
  struct piece {
    std::string bytes;
    std::string file;  // set: the piece is this file's content
  };
  std::vector<piece> pieces;
  void add_bytes(std::string bytes) { pieces.push_back({std::move(bytes), {}}); }
  void add_file(std::string path) { pieces.push_back({{}, std::move(path)}); }
  bool empty() const noexcept { return pieces.empty(); }
  // Total size; throws errc::local_failure for a file that cannot be read.
  std::uint64_t size() const;
};

struct request {
  beast::http::verb method = beast::http::verb::get;
  urls::url url;
  // Sent as given after the defaults (Host, User-Agent, Accept, the body's
  // length), replacing a default of the same name; an empty value removes it.
  beast::http::fields headers;
  body_source body;
};

struct response_head {
  unsigned status = 0;
  std::string reason;
  unsigned version = 11;
  beast::http::fields headers;
  // The interim (1xx) heads that came before, as text() prints them.
  std::string interim;
  // "HTTP/1.1 200 OK\r\n" and the fields, as -i prints them.
  std::string text() const;
};

struct client_options {
  core::connect_options connect;  // its proxy is --proxy; see http/proxy.hpp for the rest
  std::optional<std::string> noproxy;  // --noproxy, replacing NO_PROXY
  core::tls_client_options tls;
  std::string unix_socket;  // every request goes to this socket
  std::optional<core::duration> idle_timeout;  // no byte moved for this long: errc::timed_out
  std::size_t header_limit = 256 * 1024;
};

// What every verb on this client builds from its option groups (http's,
// ws's, xmlrpc's); --idle-timeout and connect timing are the verb's to add.
client_options client_options_from(const core::connect_options& connect, const core::timeout_options& timeouts,
                                   const core::tls_client_options& tls, const std::string& unix_socket,
                                   const std::optional<std::string>& noproxy);

// -H 'Name: value' into `fields` (curl's syntax; 'Name:' gives an empty
// value, which the client reads as "remove this default"). Throws
// errc::usage naming -H when there is no name or colon.
void add_header(beast::http::fields& fields, std::string_view text);
// The same for every -H of a verb.
void add_headers(beast::http::fields& fields, const std::vector<std::string>& texts);
// A request's fields: `defaults`, each replaced by the -H fields of the
// same name (all of them); an empty value stays, so that the client drops
// its own default of that name too (Host, User-Agent, Accept).
beast::http::fields with_headers(const beast::http::fields& defaults, const std::vector<std::string>& texts);

// SPEC §1: statuses that are transient (408, 429, 502, 503, 504), and the
// delay a Retry-After field asks for (seconds or an HTTP date).
bool is_retryable_status(unsigned status);
std::optional<core::duration> retry_after(const beast::http::fields& headers);

// "Basic …" for a URL's user info (curl's http://user:pass@host/, percent-
// decoded); empty when the URL has none.
std::string basic_credentials(const urls::url_view_base& url);

// "https://example.com:443": what a kept-alive connection can be reused for.
std::string origin_of(const urls::url_view_base& url);
bool is_https(const urls::url_view_base& url);
// Parses an http:// or https:// URL (a bare host[:port][/path] gets http://);
// anything else throws errc::usage naming it.
urls::url parse_url(std::string_view text);

class client {
 public:
  explicit client(client_options options);
  ~client();
  client(const client&) = delete;
  client& operator=(const client&) = delete;

  // Sends `req` and reads the response head. A connection kept alive from an
  // earlier request to the same origin is reused; when the server had closed
  // it meanwhile the request goes out again on a new one.
  awaitable<response_head> start(const request& req);
  // The next piece of the body into `space`; 0 at its end. After the end a
  // reusable connection goes back to the pool.
  awaitable<std::size_t> read_body(boost::asio::mutable_buffer space);
  // Reads and drops the rest of the body (redirects, retried statuses).
  awaitable<void> skip_body();
  // A raw connection to `url`'s origin for a protocol that takes it over
  // (ws, whose library writes the upgrade request itself): the route a
  // request would take (--proxy or the environment's, the Unix socket, TLS
  // for https://), except that an http:// proxy is always asked for a
  // CONNECT tunnel, never sent an absolute-form request.
  awaitable<core::connection> connect(const urls::url_view& url);
  // True once the request has been written completely (for the retry rule
  // of non-idempotent methods).
  bool request_sent() const noexcept { return sent_; }

 private:
  struct exchange;
  // How a request reaches its server: directly, through a tunnel (CONNECT,
  // SOCKS5), or as an absolute-form request to an http:// proxy.
  struct route {
    std::string proxy;
    bool absolute_form = false;
    std::string pool_key;
  };
  const route& route_for(const urls::url_view& url);
  route make_route(const urls::url_view& url) const;
  awaitable<core::connection> open(const urls::url_view& url, const route& via);
  awaitable<void> send(core::connection& conn, const request& req, const route& via);
  awaitable<void> send_file(core::connection& conn, const std::string& path);
  awaitable<response_head> read_head();
  awaitable<response_head> read_one_head();
  awaitable<response_head> early_response(std::exception_ptr send_failure);
  void new_parser();
  awaitable<std::size_t> fill();
  awaitable<void> write(core::connection& conn, boost::asio::const_buffer bytes);
  void finish();

  client_options options_;
  core::tls_context_ptr tls_;
  std::map<std::string, route> routes_;                     // by origin
  std::map<std::string, std::unique_ptr<exchange>> idle_;  // by route pool_key
  std::unique_ptr<exchange> current_;
  bool sent_ = false;
  bool head_request_ = false;
};

// SPEC §1's retry rule for one request, shared by http's verbs and xmlrpc:
// a transient status (408, 429, 502, 503, 504, its Retry-After honoured)
// is tried again; so is a transient failure, except that once the request
// was sent it goes again only when that is safe (an idempotent method,
// `retry_all`, an Idempotency-Key header) and no response came back.
// Returns the head of the response kept, its body unread; `attempts`
// counts the tries.
struct retry_rule {
  core::retry_policy policy;
  bool retry_all = false;
};
awaitable<response_head> start_with_retries(client& c, const request& req, retry_rule rule, int& attempts);

}  // namespace nettool::http
