#include "nettool/http/client.hpp"

#include "nettool/core/buffer.hpp"
#include "nettool/core/error.hpp"
#include "nettool/core/log.hpp"
#include "nettool/core/output.hpp"
#include "nettool/http/proxy.hpp"

#include <boost/beast/core/buffers_range.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/url/parse.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <ctime>

namespace nettool::http {
namespace {

namespace bhttp = beast::http;
using parser_type = bhttp::response_parser<bhttp::buffer_body>;
using core::errc;

constexpr std::size_t read_chunk = 64 * 1024;

std::uint16_t port_of(const urls::url_view_base& url) {
  if (url.has_port()) return url.port_number();
  return is_https(url) ? 443 : 80;
}

// Origin-form ("/path?query"), or absolute-form for an http:// proxy
// (RFC 9112 §3.2.2), never with credentials.
std::string target_of(const urls::url_view& url, bool absolute_form) {
  std::string target(url.encoded_path());
  if (target.empty()) target = "/";
  if (url.has_query()) target += "?" + std::string(url.encoded_query());
  if (absolute_form) target = fmt::format("{}://{}{}", url.scheme(), url.encoded_host_and_port(), target);
  return target;
}

// The request head as Beast serialises it: defaults first, then the user's
// headers replacing a default of the same name (curl's -H rules).
std::string request_head(const request& req, std::optional<std::uint64_t> body_size, const urls::url_view* proxy) {
  bhttp::request<bhttp::empty_body> msg{req.method, target_of(req.url, proxy != nullptr), 11};
  if (proxy && proxy->has_userinfo())
    msg.set(bhttp::field::proxy_authorization,
            "Basic " + core::base64_encode(std::string(proxy->user()) + ":" + std::string(proxy->password())));
  msg.set(bhttp::field::host, req.url.encoded_host_and_port());
  msg.set(bhttp::field::user_agent, "nettool/" NETTOOL_VERSION);
  msg.set(bhttp::field::accept, "*/*");
  if (body_size) msg.content_length(*body_size);
  std::vector<std::string> replaced;
  for (const auto& field : req.headers) {
    const std::string name(field.name_string());
    if (std::find(replaced.begin(), replaced.end(), name) == replaced.end()) {
      msg.erase(name);
      replaced.push_back(name);
    }
    if (!field.value().empty()) msg.insert(name, field.value());
  }
  bhttp::request_serializer<bhttp::empty_body> serializer{msg};
  std::string out;
  beast::error_code ec;
  while (!serializer.is_done()) {
    serializer.next(ec, [&](beast::error_code&, const auto& buffers) {
      for (const auto b : beast::buffers_range_ref(buffers)) out.append(static_cast<const char*>(b.data()), b.size());
      serializer.consume(beast::buffer_bytes(buffers));
    });
    if (ec) throw core::error(errc::usage, "request", std::string(req.url.buffer()), ec.message());
  }
  return out;
}

struct file_closer {
  int fd;
  ~file_closer() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

std::uint64_t body_source::size() const {
  std::uint64_t total = 0;
  for (const auto& p : pieces) {
    if (p.file.empty()) {
      total += p.bytes.size();
      continue;
    }
    struct stat st {};
    if (::stat(p.file.c_str(), &st) != 0) throw core::error(errc::local_failure, "open", p.file, std::strerror(errno));
    total += static_cast<std::uint64_t>(st.st_size);
  }
  return total;
}

std::string response_head::text() const {
  std::string out = fmt::format("HTTP/{}.{} {} {}\r\n", version / 10, version % 10, status, reason);
  for (const auto& field : headers) out += fmt::format("{}: {}\r\n", field.name_string(), field.value());
  return out + "\r\n";
}

bool is_retryable_status(unsigned status) {
  return status == 408 || status == 429 || status == 502 || status == 503 || status == 504;
}

// Retry-After: delay-seconds or an HTTP-date (RFC 9110 §10.2.3).
std::optional<core::duration> retry_after(const beast::http::fields& headers) {
  const auto it = headers.find(bhttp::field::retry_after);
  if (it == headers.end()) return std::nullopt;
  const std::string value(it->value());
  if (!value.empty() && value.find_first_not_of("0123456789") == std::string::npos)
    return std::chrono::seconds(std::stoll(value.substr(0, 9)));
  std::tm tm{};
  if (!::strptime(value.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm)) return std::nullopt;
  const auto at = std::chrono::system_clock::from_time_t(::timegm(&tm));
  const auto wait = at - std::chrono::system_clock::now();
  return wait.count() > 0 ? std::chrono::duration_cast<core::duration>(wait) : core::duration::zero();
}

bool is_https(const urls::url_view_base& url) { return url.scheme_id() == urls::scheme::https; }

std::string origin_of(const urls::url_view_base& url) {
  return fmt::format("{}://{}:{}", url.scheme(), url.encoded_host(), port_of(url));
}

urls::url parse_url(std::string_view text) {
  std::string with_scheme(text);
  if (text.find("://") == std::string_view::npos) with_scheme = "http://" + with_scheme;
  auto parsed = urls::parse_uri(with_scheme);
  if (!parsed) throw core::error(errc::usage, "url", std::string(text), "not a valid URL");
  urls::url url(*parsed);
  if (url.scheme_id() != urls::scheme::http && url.scheme_id() != urls::scheme::https)
    throw core::error(errc::usage, "url", std::string(text), "only http:// and https:// URLs are supported");
  if (url.encoded_host().empty()) throw core::error(errc::usage, "url", std::string(text), "the URL has no host");
  // Boost.URL keeps only the low 16 bits of a larger port: :99999 would
  // quietly reach port 34463.
  if (url.has_port()) {
    const std::string_view port = url.port();
    const bool digits = !port.empty() && port.size() <= 5 && port.find_first_not_of("0123456789") == std::string_view::npos;
    if (!digits || std::stoul(std::string(port)) == 0 || std::stoul(std::string(port)) > 65535)
      throw core::error(errc::usage, "url", std::string(text), fmt::format("port '{}' is not between 1 and 65535", port));
  }
  url.remove_fragment();  // never sent, as in curl
  return url;
}

// One request/response on one connection.
// One connection and what it has read; kept in the pool between requests
// so its buffer is reused too.
struct client::exchange {
  explicit exchange(core::connection c) : conn(std::move(c)) {}
  core::connection conn;
  std::string origin;
  beast::flat_buffer buffer;
  std::optional<parser_type> parser;
  bool done = false;
  bool reusable = true;  // false once the request could not be sent whole
  std::uint64_t read_before = 0;  // conn.bytes_read() when this request began
  bool got_nothing() const { return conn.bytes_read() == read_before; }
};

client::client(client_options options) : options_(std::move(options)) {}
client::~client() = default;

const client::route& client::route_for(const urls::url_view& url) {
  // The environment does not change during a run: one lookup per origin.
  auto [it, fresh] = routes_.try_emplace(origin_of(url));
  if (fresh) it->second = make_route(url);
  return it->second;
}

client::route client::make_route(const urls::url_view& url) const {
  route r;
  if (options_.unix_socket.empty())
    r.proxy = proxy_for(url, options_.connect.proxy, options_.noproxy, process_environment());
  if (!r.proxy.empty()) {  // from the environment, so not checked by the CLI yet
    auto checked = options_.connect;
    checked.proxy = r.proxy;
    core::validate(checked);
  }
  r.absolute_form = r.proxy.starts_with("http://") && !is_https(url);
  r.pool_key = r.absolute_form ? "proxy " + r.proxy : origin_of(url) + (r.proxy.empty() ? "" : " via " + r.proxy);
  return r;
}

awaitable<core::connection> client::open(const urls::url_view& url, const route& via) {
  auto options = options_.connect;
  options.proxy = via.absolute_form ? std::string() : via.proxy;
  if (via.absolute_form) {
    // The connection is to the proxy itself, which fetches the URL for us.
    const urls::url_view proxy = *urls::parse_uri(via.proxy);
    core::target to{proxy.host_address(), proxy.has_port() ? proxy.port_number() : std::uint16_t{80}, {}};
    core::log::info("{} through http proxy {}", origin_of(url), proxy.encoded_host_and_port());
    co_return co_await core::connect(to, options, nullptr);
  }
  core::target to{url.host_address(), port_of(url), options_.unix_socket};
  core::tls_context_ptr tls;
  if (is_https(url)) {
    if (!tls_) tls_ = core::make_client_context(options_.tls);
    tls = tls_;
  }
  co_return co_await core::connect(to, options, tls);
}

awaitable<core::connection> client::connect(const urls::url_view& url) {
  auto via = make_route(url);
  via.absolute_form = false;
  co_return co_await open(url, via);
}

awaitable<void> client::send(core::connection& conn, const request& req, const route& via) {
  std::optional<std::uint64_t> size;
  if (!req.body.empty() || req.method == bhttp::verb::post || req.method == bhttp::verb::put ||
      req.method == bhttp::verb::patch)
    size = req.body.size();
  std::optional<urls::url_view> proxy;
  if (via.absolute_form) proxy = *urls::parse_uri(via.proxy);
  std::string out = request_head(req, size, proxy ? &*proxy : nullptr);
  if (core::log::enabled(core::log::level::debug)) core::log::debug("> {}", out.substr(0, out.size() - 4));
  // In-memory pieces join the head so that a small request is one write.
  for (const auto& piece : req.body.pieces) {
    if (piece.file.empty()) {
      out += piece.bytes;
      continue;
    }
    co_await write(conn, boost::asio::buffer(out));
    out.clear();
    co_await send_file(conn, piece.file);
  }
  if (!out.empty()) co_await write(conn, boost::asio::buffer(out));
}

awaitable<void> client::send_file(core::connection& conn, const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw core::error(errc::local_failure, "open", path, std::strerror(errno));
  file_closer closer{fd};
  core::io_buffer chunk(read_chunk);
  for (;;) {
    const auto n = ::read(fd, chunk.data(), chunk.size());
    if (n < 0) throw core::error(errc::local_failure, core::phase::read, path, std::strerror(errno));
    if (n == 0) break;
    co_await write(conn, chunk.first(static_cast<std::size_t>(n)));
  }
}

awaitable<void> client::write(core::connection& conn, boost::asio::const_buffer bytes) {
  if (options_.idle_timeout) co_await core::with_timeout(conn.write(bytes), *options_.idle_timeout, "idle", conn.peer());
  else co_await conn.write(bytes);
}

awaitable<std::size_t> client::fill() {
  auto& ex = *current_;
  std::size_t n = 0;
  if (options_.idle_timeout)
    n = co_await core::with_timeout(ex.conn.read_some(ex.buffer.prepare(read_chunk)), *options_.idle_timeout, "idle",
                                    ex.conn.peer());
  else
    n = co_await ex.conn.read_some(ex.buffer.prepare(read_chunk));
  ex.buffer.commit(n);
  co_return n;
}

awaitable<response_head> client::start(const request& req) {
  if (current_ && !current_->done) current_.reset();  // an unfinished body: that connection cannot be reused
  sent_ = false;
  const auto& via = route_for(req.url);
  const auto& origin = via.pool_key;
  bool reused = false;
  for (;;) {
    if (auto idle = idle_.find(origin); idle != idle_.end()) {
      current_ = std::move(idle->second);
      idle_.erase(idle);
      reused = true;
      core::log::info("{}: reusing the kept-alive connection", origin);
    } else {
      auto conn = co_await open(req.url, via);
      current_ = std::make_unique<exchange>(std::move(conn));
      current_->origin = origin;
      reused = false;
    }
    current_->done = false;
    current_->read_before = current_->conn.bytes_read();
    current_->buffer.clear();
    head_request_ = req.method == bhttp::verb::head;
    new_parser();
    try {
      // A server may answer before it has read the whole body (an early
      // 413) and close: the write fails, but its response is what counts,
      // as curl reports it.
      std::exception_ptr send_failure;
      try {
        co_await send(current_->conn, req, via);
        sent_ = true;
      } catch (const core::error& e) {
        if (e.phase() != core::phase::write) throw;
        send_failure = std::current_exception();
      }
      if (send_failure) co_return co_await early_response(send_failure);
      co_return co_await read_head();
    } catch (const core::error& e) {
      // A kept-alive connection the server closed meanwhile fails at once
      // and without a response byte: open a new one, as curl does.
      if (!reused || !current_->got_nothing() || e.phase() == "response") throw;
      core::log::info("{}: the server closed the kept-alive connection; reconnecting", origin);
    }
  }
}

void client::new_parser() {
  auto& parser = current_->parser.emplace();
  parser.header_limit(static_cast<std::uint32_t>(options_.header_limit));
  parser.body_limit(boost::none);
  if (head_request_) parser.skip(true);
}

awaitable<response_head> client::early_response(std::exception_ptr send_failure) {
  current_->reusable = false;
  std::optional<response_head> head;
  try {
    head = co_await read_head();
  } catch (const core::error&) {
  }
  if (!head) std::rethrow_exception(send_failure);
  core::log::info("{}: answered before the request body was sent whole", current_->conn.peer());
  co_return std::move(*head);
}

// Interim responses (1xx but 101) come before the real one: they are shown
// at -vv and kept for -i, as curl does, and the real head is read next.
awaitable<response_head> client::read_head() {
  // A server could send interim heads without end: a few are plenty.
  constexpr int max_interim = 16;
  std::string interim;
  for (int count = 0;; ++count) {
    auto head = co_await read_one_head();
    if (head.status < 100 || head.status > 199 || head.status == 101) {
      head.interim = std::move(interim);
      co_return head;
    }
    if (count == max_interim)
      throw core::error(errc::protocol, "response", current_->conn.peer(),
                        fmt::format("more than {} interim (1xx) responses", max_interim));
    core::log::info("{}: interim response {} {}", current_->conn.peer(), head.status, head.reason);
    interim += head.text();
    new_parser();
  }
}

awaitable<response_head> client::read_one_head() {
  auto& ex = *current_;
  auto& parser = *ex.parser;
  for (;;) {
    if (ex.buffer.size() > 0) {
      beast::error_code ec;
      const auto used = parser.put(ex.buffer.data(), ec);
      ex.buffer.consume(used);
      if (parser.is_header_done()) break;
      if (ec && ec != bhttp::error::need_more)
        throw core::error(errc::protocol, "response", ex.conn.peer(), ec.message());
      if (!ec && used > 0) continue;
    }
    if (co_await fill() == 0) {
      if (ex.got_nothing())
        throw core::error(make_error_code(boost::asio::error::connection_reset), core::phase::read, ex.conn.peer(),
                          "the server closed the connection without a response");
      throw core::error(errc::protocol, "response", ex.conn.peer(), "the connection ended inside the response head");
    }
  }
  const auto& msg = parser.get();
  response_head head;
  head.status = msg.result_int();
  head.reason = std::string(msg.reason());
  head.version = msg.version();
  head.headers = msg.base();
  if (core::log::enabled(core::log::level::debug)) {
    const auto text = head.text();
    core::log::debug("< {}", text.substr(0, text.size() - 4));
  }
  const bool interim = head.status >= 100 && head.status <= 199 && head.status != 101;
  if (parser.is_done() && !interim) finish();
  co_return head;
}

awaitable<std::size_t> client::read_body(boost::asio::mutable_buffer space) {
  if (!current_ || current_->done) co_return 0;
  auto& ex = *current_;
  auto& parser = *ex.parser;
  for (;;) {
    if (ex.buffer.size() > 0) {
      auto& body = parser.get().body();
      body.data = space.data();
      body.size = space.size();
      beast::error_code ec;
      const auto used = parser.put(ex.buffer.data(), ec);
      ex.buffer.consume(used);
      const std::size_t produced = space.size() - body.size;
      if (ec && ec != bhttp::error::need_buffer && ec != bhttp::error::need_more)
        throw core::error(errc::protocol, "response", ex.conn.peer(), ec.message());
      if (parser.is_done()) finish();
      if (produced > 0 || parser.is_done()) co_return produced;
      if (!ec && used > 0) continue;
      // Body bytes leave as they come; what stays is an unfinished chunk
      // header (extensions) or trailer section: bounded like a head.
      if (ex.buffer.size() >= options_.header_limit)
        throw core::error(errc::protocol, "response", ex.conn.peer(),
                          fmt::format("a chunk header or trailer section over {} bytes", options_.header_limit));
    }
    if (co_await fill() == 0) {
      beast::error_code ec;
      parser.put_eof(ec);
      if (ec) throw core::error(errc::protocol, "response", ex.conn.peer(), "the connection ended inside the body");
      finish();
      co_return 0;
    }
  }
}

awaitable<void> client::skip_body() {
  std::vector<char> sink(read_chunk);
  while (co_await read_body(boost::asio::buffer(sink)) > 0) {
  }
}

void client::finish() {
  auto& ex = *current_;
  if (ex.done) return;
  ex.done = true;
  // Only a cleanly ended, kept-alive response leaves a connection reusable.
  // The exchange object stays alive in the pool, so callers' references
  // into it (the parser) remain valid until the next start().
  if (ex.reusable && ex.parser->keep_alive() && ex.buffer.size() == 0 && ex.parser->is_done())
    idle_.insert_or_assign(ex.origin, std::move(current_));
}

}  // namespace nettool::http
