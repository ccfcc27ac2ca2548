// http serve: static files (listing, ranges, validators), --echo, mock
// replies, with limits that keep one client from holding the server.
#include "http.hpp"

#include "mime.hpp"
#include "static_files.hpp"

#include "nettool/core/log.hpp"
#include "nettool/core/output.hpp"

#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/core/buffers_range.hpp>
#include <boost/json/serialize.hpp>

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>

namespace nettool::http {
namespace {

namespace bhttp = beast::http;
namespace fs = std::filesystem;
using clock = std::chrono::steady_clock;
using parser_type = bhttp::request_parser<bhttp::string_body>;
using core::errc;

constexpr std::size_t read_chunk = 64 * 1024;
constexpr std::uint64_t small_file = 64 * 1024;  // sent with its head in one write

// One response: a status, fields, and a body that is either bytes or a
// slice of an open file.
struct reply {
  unsigned status = 200;
  bhttp::fields headers;
  std::string body;
  int fd = -1;
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
  bool close = false;  // end the connection after it
  std::string note;    // why, for the access log (refusals)

  reply() = default;
  reply(const reply&) = delete;
  reply& operator=(const reply&) = delete;
  ~reply() {
    if (fd >= 0) ::close(fd);
  }
  std::uint64_t body_size() const { return fd >= 0 ? length : body.size(); }
};

std::string http_date(std::time_t t) {
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char out[64];
  std::strftime(out, sizeof out, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return out;
}

std::optional<std::time_t> parse_http_date(std::string_view text) {
  std::tm tm{};
  const std::string s(text);
  if (!::strptime(s.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm)) return std::nullopt;
  return ::timegm(&tm);
}

std::string html_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string url_escape(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == '/') out += static_cast<char>(c);
    else out += fmt::format("%{:02X}", c);
  }
  return out;
}

void text_reply(reply& r, unsigned status, std::string text) {
  r.status = status;
  r.body = std::move(text);
  r.headers.set(bhttp::field::content_type, "text/plain; charset=utf-8");
}

// "bytes=a-b", "bytes=a-", "bytes=-n" against `size`: the slice, or nullopt
// when unsatisfiable. Several ranges are answered with the whole file.
struct byte_range {
  std::uint64_t first, last;
};
enum class range_kind { none, ok, unsatisfiable };
range_kind parse_range(std::string_view header, std::uint64_t size, byte_range& out) {
  if (!header.starts_with("bytes=") || header.find(',') != std::string_view::npos) return range_kind::none;
  const auto spec = header.substr(6);
  const auto dash = spec.find('-');
  if (dash == std::string_view::npos) return range_kind::none;
  auto number = [](std::string_view s, std::uint64_t& v) {
    if (s.empty() || s.size() > 19 || s.find_first_not_of("0123456789") != std::string_view::npos) return false;
    v = std::stoull(std::string(s));
    return true;
  };
  std::uint64_t a = 0, b = 0;
  const bool has_a = number(spec.substr(0, dash), a), has_b = number(spec.substr(dash + 1), b);
  if (!has_a && !has_b) return range_kind::none;
  if (!has_a) {  // suffix: the last b bytes
    if (b == 0 || size == 0) return range_kind::unsatisfiable;
    out = {size - std::min(b, size), size - 1};
    return range_kind::ok;
  }
  if (a >= size) return range_kind::unsatisfiable;
  if (has_b && b < a) return range_kind::none;  // invalid: ignored, as RFC 9110 §14.2 allows
  out = {a, has_b ? std::min(b, size - 1) : size - 1};
  return range_kind::ok;
}

// A request the server answers with an error status and then closes.
struct bad_request {
  unsigned status;
  std::string why;
};

std::size_t field_count(const bhttp::request<bhttp::string_body>& req) {
  return static_cast<std::size_t>(std::distance(req.begin(), req.end()));
}

struct fd_closer {
  const int& fd;  // by reference: a moved-out descriptor is -1 by then
  ~fd_closer() {
    if (fd >= 0) ::close(fd);
  }
};

// Reads the reply's file slice into its body and closes the file.
void load_small_file(reply& r) {
  r.body.resize(r.length);
  const auto n = ::pread(r.fd, r.body.data(), r.length, static_cast<off_t>(r.offset));
  ::close(r.fd);
  r.fd = -1;
  if (n != static_cast<ssize_t>(r.length)) throw core::error(errc::local_failure, "read", "file", "short read");
}

class server {
 public:
  explicit server(const serve_args& args) : args_(args) {
    if (!mock()) {
      std::error_code ec;
      root_ = fs::canonical(args.dir, ec);
      if (ec || !fs::is_directory(root_))
        throw core::error(errc::local_failure, "serve", args.dir, "not a directory");
      root_fd_ = ::open(root_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
      if (root_fd_ < 0) throw core::error(errc::local_failure, "serve", args.dir, std::strerror(errno));
    }
    if (args.body && args.body->starts_with('@')) {
      std::ifstream f(args.body->substr(1), std::ios::binary);
      if (!f) throw core::error(errc::local_failure, "open", args.body->substr(1), std::strerror(errno));
      std::stringstream ss;
      ss << f.rdbuf();
      mock_body_ = ss.str();
    } else if (args.body) {
      mock_body_ = *args.body;
    }
    add_headers(extra_, args.headers);
  }

  ~server() {
    if (root_fd_ >= 0) ::close(root_fd_);
  }
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  bool mock() const { return args_.status || args_.body; }

  awaitable<void> connection(core::connection conn) {
    // Responses leave in one or two writes; Nagle would hold the second
    // (a file after its head) for the client's delayed ACK, ~40 ms.
    int one = 1;
    ::setsockopt(conn.native_handle(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);  // fails harmlessly on Unix sockets
    beast::flat_buffer buffer;
    for (;;) {
      parser_type parser;
      parser.header_limit(static_cast<std::uint32_t>(args_.max_header_size));
      parser.body_limit(args_.max_body);
      const auto start = clock::now();
      reply r;
      // The head must arrive within --header-timeout: also the keep-alive
      // idle time, so a silent or slow client cannot hold a connection.
      bool got = false;
      try {
        got = co_await core::with_timeout(read_head(conn, buffer, parser), args_.header_timeout, "header", conn.peer());
      } catch (const bad_request& bad) {
        refuse(r, bad.status, bad.why);
      } catch (const core::error& e) {
        if (e.code() != errc::timed_out) throw;
        core::log::info("{}: no complete request head within {}; closing", conn.peer(),
                        core::format_duration(args_.header_timeout));
        co_return;
      }
      if (!got && r.status == 200) co_return;  // the client closed between requests
      if (r.status == 200 && field_count(parser.get()) > args_.max_headers)
        refuse(r, 431, fmt::format("more than {} header fields", args_.max_headers));
      if (r.status == 200) co_await read_body(conn, buffer, parser, r);
      if (r.status == 200) {
        if (args_.delay) co_await core::sleep_for(*args_.delay);
        respond(parser.get(), r);
      }
      const bool keep_alive = !r.close && parser.is_header_done() && parser.keep_alive();
      const bool head = parser.is_header_done() && parser.get().method() == bhttp::verb::head;
      co_await send(conn, r, keep_alive, head);
      log_access(conn, parser, r, start, head);
      if (!keep_alive) {
        co_await conn.shutdown_send();
        co_return;
      }
    }
  }

 private:
  // False when the connection ended cleanly before a request began.
  awaitable<bool> read_head(core::connection& conn, beast::flat_buffer& buffer, parser_type& parser) {
    for (;;) {
      if (buffer.size() > 0) {
        beast::error_code ec;
        const auto used = parser.put(buffer.data(), ec);
        buffer.consume(used);
        // Beast checks a declared Content-Length against the body limit as
        // the head completes.
        if (ec == bhttp::error::body_limit) throw bad_request{413, "body over --max-body"};
        if (ec == bhttp::error::header_limit) throw bad_request{431, "request head over --max-header-size"};
        if (parser.is_header_done()) co_return true;
        if (ec && ec != bhttp::error::need_more) throw bad_request{400, ec.message()};
        if (!ec && used > 0) continue;
      }
      const auto n = co_await conn.read_some(buffer.prepare(read_chunk));
      buffer.commit(n);
      if (n == 0) {
        if (buffer.size() == 0 && !parser.got_some()) co_return false;
        throw core::error(errc::protocol, "request", conn.peer(), "the connection ended inside the request head");
      }
    }
  }

  awaitable<void> read_body(core::connection& conn, beast::flat_buffer& buffer, parser_type& parser, reply& r) {
    const auto& msg = parser.get();
    if (!parser.is_done() && msg.count(bhttp::field::expect) &&
        beast::iequals(msg[bhttp::field::expect], "100-continue")) {
      const auto length = parser.content_length();
      if (length && *length > args_.max_body) {
        refuse(r, 413, "body over --max-body");
        co_return;
      }
      co_await conn.write(boost::asio::buffer(std::string_view("HTTP/1.1 100 Continue\r\n\r\n")));
    }
    while (!parser.is_done()) {
      if (buffer.size() > 0) {
        beast::error_code ec;
        const auto used = parser.put(buffer.data(), ec);
        buffer.consume(used);
        if (ec == bhttp::error::body_limit) {
          refuse(r, 413, "body over --max-body");
          co_return;
        }
        if (ec && ec != bhttp::error::need_more) {
          refuse(r, 400, ec.message());
          co_return;
        }
        if (parser.is_done()) break;
        if (!ec && used > 0) continue;
      }
      const auto n = co_await core::with_timeout(conn.read_some(buffer.prepare(read_chunk)), args_.header_timeout, "body",
                                                 conn.peer());
      buffer.commit(n);
      if (n == 0) {
        beast::error_code ec;
        parser.put_eof(ec);
        if (ec) throw core::error(errc::protocol, "request", conn.peer(), "the connection ended inside the body");
      }
    }
  }

  void refuse(reply& r, unsigned status, std::string why) {
    text_reply(r, status, fmt::format("{} {}\n", status, bhttp::obsolete_reason(static_cast<bhttp::status>(status))));
    r.close = true;  // after a malformed or oversized request the stream cannot be trusted
    r.note = std::move(why);
  }

  void respond(const bhttp::request<bhttp::string_body>& req, reply& r) {
    for (const auto& f : extra_) r.headers.insert(f.name_string(), f.value());
    if (mock()) {
      r.status = args_.status.value_or(200);
      r.body = mock_body_;
      if (!r.headers.count(bhttp::field::content_type))
        r.headers.set(bhttp::field::content_type, "text/plain; charset=utf-8");
    } else if (args_.echo) {
      echo(req, r);
    } else {
      serve_static(req, r);
    }
  }

  void echo(const bhttp::request<bhttp::string_body>& req, reply& r) {
    const std::string target(req.target());
    const auto q = target.find('?');
    boost::json::object headers;
    for (const auto& f : req) {
      std::string name(f.name_string());
      std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
      auto& slot = headers[name];
      if (slot.is_string()) slot = std::string(slot.as_string()) + ", " + std::string(f.value());
      else slot = std::string(f.value());
    }
    boost::json::object o{{"method", std::string(req.method_string())},
                          {"path", target.substr(0, q)},
                          {"query", q == std::string::npos ? std::string() : target.substr(q + 1)},
                          {"headers", std::move(headers)}};
    core::add_payload(o, req.body(), "body");
    r.body = boost::json::serialize(o) + "\n";
    r.headers.set(bhttp::field::content_type, "application/json");
  }

  void serve_static(const bhttp::request<bhttp::string_body>& req, reply& r) {
    if (req.method() != bhttp::verb::get && req.method() != bhttp::verb::head) {
      text_reply(r, 405, "405 Method Not Allowed\n");
      r.headers.set(bhttp::field::allow, "GET, HEAD");
      return;
    }
    auto where = resolve_target(root_, root_fd_, req.target());
    if (auto* no = std::get_if<refusal>(&where)) {
      text_reply(r, no->status,
                 fmt::format("{} {}\n", no->status, bhttp::obsolete_reason(static_cast<bhttp::status>(no->status))));
      r.note = no->reason;
      return;
    }
    auto found = std::move(std::get<resolved_path>(where));
    const fd_closer closer{found.fd};
    if (found.is_directory) {
      if (!found.url_path.ends_with('/')) {  // relative links in the listing need the slash
        r.status = 301;
        r.headers.set(bhttp::field::location, url_escape(found.url_path + "/"));
        return;
      }
      auto index = open_inside(root_, root_fd_, found.relative / "index.html", found.url_path + "index.html");
      auto* page = std::get_if<resolved_path>(&index);
      if (!page || page->is_directory) {
        if (page) ::close(page->fd);
        listing(req, found, r);
        return;
      }
      const fd_closer index_closer{page->fd};
      send_file(req, page->file, std::exchange(page->fd, -1), r);
      return;
    }
    send_file(req, found.file, std::exchange(found.fd, -1), r);
  }

  void listing(const bhttp::request<bhttp::string_body>& req, const resolved_path& dir, reply& r) {
    struct entry {
      std::string name;
      bool directory;
      std::uint64_t size;
      std::int64_t mtime;
    };
    std::vector<entry> entries;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir.file, ec)) {
      struct stat st {};
      if (::stat(e.path().c_str(), &st) != 0) continue;
      entries.push_back({e.path().filename().string(), S_ISDIR(st.st_mode), static_cast<std::uint64_t>(st.st_size),
                         static_cast<std::int64_t>(st.st_mtime)});
    }
    std::sort(entries.begin(), entries.end(), [](const entry& a, const entry& b) { return a.name < b.name; });
    const std::string accept(req[bhttp::field::accept]);
    if (accept.find("application/json") != std::string::npos) {
      boost::json::array list;
      for (const auto& e : entries)
        list.push_back(boost::json::object{{"name", e.name},
                                           {"type", e.directory ? "directory" : "file"},
                                           {"size", e.size},
                                           {"mtime", e.mtime}});
      r.body = boost::json::serialize(list) + "\n";
      r.headers.set(bhttp::field::content_type, "application/json");
      return;
    }
    std::string html = fmt::format(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Index of {0}</title></head>\n"
        "<body><h1>Index of {0}</h1>\n<ul>\n",
        html_escape(dir.url_path));
    if (dir.url_path != "/") html += "<li><a href=\"../\">../</a></li>\n";
    for (const auto& e : entries) {
      const auto name = e.name + (e.directory ? "/" : "");
      html += fmt::format("<li><a href=\"{}\">{}</a>{}</li>\n", url_escape(name), html_escape(name),
                          e.directory ? "" : fmt::format(" ({} bytes)", e.size));
    }
    r.body = html + "</ul></body></html>\n";
    r.headers.set(bhttp::field::content_type, "text/html; charset=utf-8");
  }

  // Takes ownership of `fd`.
  void send_file(const bhttp::request<bhttp::string_body>& req, const fs::path& path, int fd, reply& r) {
    struct stat st {};
    if (fd < 0 || ::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      if (fd >= 0) ::close(fd);
      text_reply(r, 403, "403 Forbidden\n");
      r.note = "not a readable regular file";
      return;
    }
    const auto size = static_cast<std::uint64_t>(st.st_size);
    // Both validators, as nginx does: a strong ETag from mtime and size.
    const auto etag = fmt::format("\"{:x}-{:x}\"", static_cast<std::uint64_t>(st.st_mtime), size);
    r.headers.set(bhttp::field::etag, etag);
    r.headers.set(bhttp::field::last_modified, http_date(st.st_mtime));
    r.headers.set(bhttp::field::accept_ranges, "bytes");
    r.headers.set(bhttp::field::content_type, mime_type_for(path.native()));
    if (not_modified(req, etag, st.st_mtime)) {
      ::close(fd);
      r.status = 304;
      r.headers.erase(bhttp::field::content_type);
      return;
    }
    r.fd = fd;
    r.length = size;
    if (req.count(bhttp::field::range)) {
      byte_range range{};
      switch (parse_range(req[bhttp::field::range], size, range)) {
        case range_kind::ok:
          r.status = 206;
          r.offset = range.first;
          r.length = range.last - range.first + 1;
          r.headers.set(bhttp::field::content_range, fmt::format("bytes {}-{}/{}", range.first, range.last, size));
          break;
        case range_kind::unsatisfiable:
          ::close(r.fd);
          r.fd = -1;
          text_reply(r, 416, "416 Range Not Satisfiable\n");
          r.headers.set(bhttp::field::content_range, fmt::format("bytes */{}", size));
          break;
        case range_kind::none:
          break;
      }
    }
  }

  // RFC 9110 §13.1: If-None-Match wins over If-Modified-Since.
  static bool not_modified(const bhttp::request<bhttp::string_body>& req, const std::string& etag, std::time_t mtime) {
    if (req.count(bhttp::field::if_none_match)) {
      const std::string want(req[bhttp::field::if_none_match]);
      return want == "*" || want.find(etag) != std::string::npos;
    }
    if (req.count(bhttp::field::if_modified_since)) {
      const auto since = parse_http_date(req[bhttp::field::if_modified_since]);
      return since && mtime <= *since;
    }
    return false;
  }

  awaitable<void> send(core::connection& conn, reply& r, bool keep_alive, bool head) {
    bhttp::response<bhttp::empty_body> msg{static_cast<bhttp::status>(r.status), 11};
    msg.set(bhttp::field::server, "nettool/" NETTOOL_VERSION);
    msg.set(bhttp::field::date, date_.now());
    for (const auto& f : r.headers) msg.set(f.name_string(), f.value());
    const bool bodiless = r.status == 304 || r.status == 204 || r.status < 200;
    if (!bodiless) msg.content_length(r.body_size());
    msg.keep_alive(keep_alive);
    bhttp::response_serializer<bhttp::empty_body> serializer{msg};
    std::string out;
    beast::error_code ec;
    while (!serializer.is_done()) {
      serializer.next(ec, [&](beast::error_code&, const auto& buffers) {
        for (const auto b : beast::buffers_range_ref(buffers))
          out.append(static_cast<const char*>(b.data()), b.size());
        serializer.consume(beast::buffer_bytes(buffers));
      });
    }
    // A small file joins its head: one write, one packet.
    if (!head && !bodiless && r.fd >= 0 && r.length <= small_file) load_small_file(r);
    if (!head && !bodiless && r.fd < 0) out += r.body;
    if (!head && !bodiless && r.fd >= 0)
      co_await conn.write_file(r.fd, r.offset, r.length, "file", boost::asio::buffer(out));
    else
      co_await conn.write(boost::asio::buffer(out));
  }

  void log_access(const core::connection& conn, const parser_type& parser, const reply& r, clock::time_point start,
                  bool head) {
    if (!core::log::enabled(core::log::level::warn)) return;  // -q
    const auto now = std::chrono::system_clock::now();
    const auto t = std::chrono::system_clock::to_time_t(now);
    std::tm tm{};
    ::gmtime_r(&t, &tm);
    char stamp[32];
    std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
    std::string line;
    if (parser.is_header_done())
      line = fmt::format("{}.{:03d}Z {} \"{} {}\" {} {} {}", stamp, ms, conn.peer(),
                         std::string(parser.get().method_string()), std::string(parser.get().target()), r.status,
                         head ? 0 : r.body_size(), core::format_duration(clock::now() - start));
    else
      line = fmt::format("{}.{:03d}Z {} \"-\" {} 0 {}", stamp, ms, conn.peer(), r.status,
                         core::format_duration(clock::now() - start));
    if (!r.note.empty()) line += " (" + r.note + ")";
    core::log::notice("{}", line);
  }

  // The Date header changes once a second; formatting it per response is waste.
  struct date_cache {
    std::time_t second = 0;
    std::string text;
    const std::string& now() {
      const auto t = std::time(nullptr);
      if (t != second) {
        second = t;
        text = http_date(t);
      }
      return text;
    }
  };

  const serve_args& args_;
  date_cache date_;
  fs::path root_;
  int root_fd_ = -1;
  std::string mock_body_;
  bhttp::fields extra_;
};

}  // namespace

awaitable<int> run_serve(core::run_context& ctx, const serve_args& args) {
  server srv(args);
  auto options = args.listen;
  if (options.family == AF_INET6 && options.bind == "127.0.0.1") options.bind = "::1";
  core::serve_options serving;
  serving.keep_open = true;
  serving.max_conns = options.max_conns;
  serving.handshake_timeout = args.header_timeout;
  if (args.tls.enabled || !args.tls.cert.empty()) serving.tls = core::make_server_context(args.tls);
  core::listener listener(ctx.executor(), options, ctx.out(), ctx.json());
  co_await core::serve(listener, serving, ctx.connections(),
                       [&srv](core::connection conn) { return srv.connection(std::move(conn)); });
  co_return 0;
}

}  // namespace nettool::http
