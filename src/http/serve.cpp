// http serve: static files (listing, ranges, validators), --echo, mock
// replies, with limits that keep one client from holding the server.
#include "http.hpp"

#include "mime.hpp"
#include "range.hpp"
#include "static_files.hpp"

#include "nettool/core/log.hpp"
#include "nettool/core/output.hpp"

#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/rfc7230.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/core/buffers_range.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/asio/post.hpp>
#include <boost/json/serialize.hpp>

#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <ctime>
#include <map>
#include <fstream>
#include <sstream>
#include <unordered_set>

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
  if (n != static_cast<ssize_t>(r.length)) throw core::error(errc::local_failure, core::phase::read, "file", "short read");
}

// Shared by every connection coroutine (each holds a reference through
// shared_from_this): they outlive run_serve's frame during a stop's grace
// period.
class server : public std::enable_shared_from_this<server> {
 public:
  explicit server(serve_args args, upgrade_hooks hooks = {}, request_hooks answers = {})
      : args_(std::move(args)), hooks_(std::move(hooks)), answers_(std::move(answers)) {
    if (!mock() && !hooks_.take && !answers_.respond) {
      std::error_code ec;
      root_ = fs::canonical(args_.dir, ec);
      if (ec || !fs::is_directory(root_))
        throw core::error(errc::local_failure, "serve", args_.dir, "not a directory");
      root_fd_ = ::open(root_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
      if (root_fd_ < 0) throw core::error(errc::local_failure, "serve", args_.dir, std::strerror(errno));
    }
    if (args_.body && args_.body->starts_with('@')) {
      std::ifstream f(args_.body->substr(1), std::ios::binary);
      if (!f) throw core::error(errc::local_failure, "open", args_.body->substr(1), std::strerror(errno));
      std::stringstream ss;
      ss << f.rdbuf();
      mock_body_ = ss.str();
    } else if (args_.body) {
      mock_body_ = *args_.body;
    }
    add_headers(extra_, args_.headers);
  }

  ~server() {
    if (root_fd_ >= 0) ::close(root_fd_);
  }
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  bool mock() const { return args_.status || args_.body; }

  // SIGINT/SIGTERM: requests in progress are answered with Connection:
  // close; connections waiting for their next request are closed now.
  void stop() {
    stopping_ = true;
    if (hooks_.stop) hooks_.stop();
    for (auto* conn : idle_) {
      boost::system::error_code ignored;
      conn->socket().cancel(ignored);
    }
  }

  // A connection's requests, then, if one asked to switch protocols, the
  // upgrade handler. The HTTP loop's frame (its parser, buffer and reply)
  // is gone before the handler runs: a WebSocket held for hours does not
  // keep it.
  awaitable<void> connection(core::connection conn) {
    const auto self = shared_from_this();
    std::unique_ptr<upgrade> taken;  // not in this frame, which lives as long as the handler runs
    {
      auto serving = requests(std::move(conn), taken);
      co_await std::move(serving);
    }
    if (!taken) co_return;
    auto taking = hooks_.take(std::move(*taken));  // named: g++ 12 and co_await temporaries
    taken.reset();
    co_await std::move(taking);
  }

 private:
  // Requests until the client or the server ends the connection, or until
  // an admitted upgrade request, which goes into `taken`.
  awaitable<void> requests(core::connection conn, std::unique_ptr<upgrade>& taken) {
    // Responses leave in one or two writes; Nagle would hold the second
    // (a file after its head) for the client's delayed ACK, ~40 ms.
    int one = 1;
    ::setsockopt(conn.native_handle(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);  // fails harmlessly on Unix sockets
    conn.set_write_stall_limit(args_.send_timeout);
    // --header-timeout: past it, the head's read is cancelled.
    core::lazy_deadline head_deadline(conn.socket().get_executor(), [&conn] {
      boost::system::error_code ignored;
      conn.socket().cancel(ignored);
    });
    beast::flat_buffer buffer;
    while (!stopping_) {
      parser_type parser;
      parser.header_limit(static_cast<std::uint32_t>(args_.max_header_size));
      parser.body_limit(args_.max_body);
      const auto start = clock::now();
      reply r;
      // The head must arrive within --header-timeout: also the keep-alive
      // idle time, so a silent or slow client cannot hold a connection.
      bool got = false;
      try {
        const idle_mark idle(*this, conn, buffer.size() == 0);
        head_deadline.arm(args_.header_timeout);
        got = co_await read_head(conn, buffer, parser, head_deadline);
        head_deadline.disarm();
      } catch (const bad_request& bad) {
        head_deadline.disarm();
        refuse(r, bad.status, bad.why);
      } catch (const core::error& e) {
        if (stopping_ && buffer.size() == 0 && !parser.got_some()) co_return;  // closed by stop()
        if (!head_deadline.expired()) throw;
        core::log::info("{}: no complete request head within {}; closing", conn.peer(),
                        core::format_duration(args_.header_timeout));
        co_return;
      }
      if (!got && r.status == 200) co_return;  // the client closed between requests
      if (r.status == 200) check_head(parser.get(), r);
      if (r.status == 200 && hooks_.take) {
        if (auto no = hooks_.admit ? hooks_.admit(parser.get()) : std::nullopt) {
          text_reply(r, no->status, fmt::format("{} {}\n", no->status, bhttp::obsolete_reason(static_cast<bhttp::status>(no->status))));
          r.note = std::move(no->reason);
        } else if (asks_upgrade(parser.get())) {
          log_access(conn, parser, r, start, false, 101);
          taken = std::make_unique<upgrade>(upgrade{parser.release(), std::move(conn), beast::buffers_to_string(buffer.data())});
          co_return;
        }
      }
      if (r.status == 200) co_await read_body(conn, buffer, parser, r);
      if (r.status == 200 && field_count(parser.get()) > args_.max_headers)  // trailers count too
        refuse(r, 431, fmt::format("more than {} header fields", args_.max_headers));
      if (r.status == 200) {
        if (args_.delay) co_await core::sleep_for(*args_.delay);
        if (answers_.respond) co_await answer(parser.get(), conn.peer(), r);
        else respond(parser.get(), r);
      }
      const bool keep_alive = !r.close && !stopping_ && parser.is_header_done() && parser.keep_alive();
      const bool head = parser.is_header_done() && parser.get().method() == bhttp::verb::head;
      co_await send(conn, r, keep_alive, head);
      log_access(conn, parser, r, start, head);
      if (!keep_alive && r.close) {
        co_await core::linger_close(conn);  // the refused request's rest may be unread
        co_return;
      }
      if (!keep_alive) {
        co_await conn.shutdown_send();
        co_return;
      }
    }
    // Stopped while a kept-alive response went out: close as after a
    // refusal, so pipelined requests left unread cannot reset it away.
    co_await core::linger_close(conn, std::chrono::milliseconds(500));
  }

  // False when the connection ended cleanly before a request began.
  awaitable<bool> read_head(core::connection& conn, beast::flat_buffer& buffer, parser_type& parser,
                            const core::lazy_deadline& deadline) {
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
      // A read that completed at once, queued behind the deadline's
      // expiry, had nothing left to cancel: the next one must not begin.
      if (deadline.expired()) throw core::error(errc::timed_out, "header", conn.peer());
      const auto n = co_await conn.read_some(buffer.prepare(read_chunk));
      buffer.commit(n);
      if (n == 0) {
        if (buffer.size() == 0 && !parser.got_some()) co_return false;
        throw core::error(errc::protocol, "request", conn.peer(), "the connection ended inside the request head");
      }
    }
  }

  // Registers a connection as waiting for its next request while in scope.
  struct idle_mark {
    server& srv;
    core::connection* conn;
    idle_mark(server& s, core::connection& c, bool idle) : srv(s), conn(idle ? &c : nullptr) {
      if (conn) srv.idle_.insert(conn);
    }
    ~idle_mark() {
      if (conn) srv.idle_.erase(conn);
    }
    idle_mark(const idle_mark&) = delete;
    idle_mark& operator=(const idle_mark&) = delete;
  };

  // RFC 9112 §6.1 and §6.3: a request's framing must be unambiguous, or a
  // proxy in front of us and we would split the stream differently
  // (request smuggling). Beast takes a Transfer-Encoding that does not end
  // in "chunked" as no body and believes a Content-Length after it.
  void check_head(const bhttp::request<bhttp::string_body>& req, reply& r) {
    if (!req.count(bhttp::field::transfer_encoding)) return;
    std::string_view last;
    const auto [first, end] = req.equal_range(bhttp::field::transfer_encoding);
    for (auto field = first; field != end; ++field)
      for (const auto coding : bhttp::token_list(field->value())) last = coding;
    if (!beast::iequals(last, "chunked"))
      refuse(r, 400, "Transfer-Encoding does not end in chunked");
    else if (req.count(bhttp::field::content_length))
      refuse(r, 400, "both Transfer-Encoding and Content-Length");
    else if (req.version() < 11)
      refuse(r, 400, "Transfer-Encoding in an HTTP/1.0 request");
  }

  awaitable<void> read_body(core::connection& conn, beast::flat_buffer& buffer, parser_type& parser, reply& r) {
    const auto& msg = parser.get();
    const auto deadline = clock::now() + args_.body_timeout;
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
        // Body bytes are taken as they come; what stays is an unfinished
        // chunk header (extensions) or trailer section: bounded like a head.
        if (buffer.size() >= args_.max_header_size) {
          refuse(r, 400, "chunk header or trailers over --max-header-size");
          co_return;
        }
      }
      const auto left = deadline - clock::now();
      std::size_t n = 0;
      try {
        if (left <= clock::duration::zero()) throw core::error(errc::timed_out, "body");
        n = co_await core::with_timeout(conn.read_some(buffer.prepare(read_chunk)), left, "body", conn.peer());
      } catch (const core::error& e) {
        if (e.code() != errc::timed_out) throw;
        refuse(r, 408, fmt::format("no complete body within --body-timeout {}", core::format_duration(args_.body_timeout)));
        co_return;
      }
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
    if (auto own = answers_.refused ? answers_.refused(status, why) : std::nullopt) {
      r.status = own->status;
      r.headers = std::move(own->headers);
      r.body = std::move(own->body);
    }
    r.close = true;  // after a malformed or oversized request the stream cannot be trusted
    r.note = std::move(why);
  }

  // A GET with "Connection: upgrade" and the hooks' protocol in Upgrade.
  bool asks_upgrade(const bhttp::request<bhttp::string_body>& req) const {
    return req.method() == bhttp::verb::get && bhttp::token_list(req[bhttp::field::connection]).exists("upgrade") &&
           bhttp::token_list(req[bhttp::field::upgrade]).exists(hooks_.protocol);
  }

  void respond(const bhttp::request<bhttp::string_body>& req, reply& r) {
    for (const auto& f : extra_) r.headers.insert(f.name_string(), f.value());
    if (hooks_.take) {  // a plain request to an upgrade-only server
      text_reply(r, 426, hooks_.plain_reply);
      r.headers.set(bhttp::field::upgrade, hooks_.protocol);  // RFC 9110 §15.5.22
    } else if (mock()) {
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

  awaitable<void> answer(bhttp::request<bhttp::string_body>& req, const std::string& peer, reply& r) {
    auto answering = answers_.respond(req, peer);  // named: g++ 12 and co_await temporaries
    auto text = co_await std::move(answering);
    r.status = text.status;
    for (const auto& f : extra_) r.headers.insert(f.name_string(), f.value());
    for (const auto& f : text.headers) r.headers.set(f.name_string(), f.value());
    r.body = std::move(text.body);
  }

  // Every part stays valid UTF-8 in the JSON: path, query and body become
  // "path_base64" (…) and a header value {"data_base64": …} when they are
  // not UTF-8; repeated headers are joined with ", " as RFC 9110 allows.
  void echo(const bhttp::request<bhttp::string_body>& req, reply& r) {
    const std::string_view target = req.target();
    const auto q = target.find('?');
    std::map<std::string, std::string> joined;
    for (const auto& f : req) {
      std::string name(f.name_string());
      std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
      auto [slot, fresh] = joined.try_emplace(std::move(name), f.value());
      if (!fresh) slot->second += ", " + std::string(f.value());
    }
    boost::json::object headers;
    for (const auto& [name, value] : joined) headers[name] = core::payload_value(value);
    boost::json::object o{{"method", std::string(req.method_string())}};
    core::add_payload(o, target.substr(0, q), "path");
    core::add_payload(o, q == std::string_view::npos ? std::string_view() : target.substr(q + 1), "query");
    o["headers"] = std::move(headers);
    core::add_payload(o, req.body(), "body");
    r.body = core::to_json(o) + "\n";
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
      send_file(req, page->file, std::exchange(page->fd, -1), page->st, r);
      return;
    }
    send_file(req, found.file, std::exchange(found.fd, -1), found.st, r);
  }

  void listing(const bhttp::request<bhttp::string_body>& req, const resolved_path& dir, reply& r) {
    struct entry {
      std::string name;
      const char* type;  // "file", "directory", "symlink" or "other"
      std::uint64_t size;
      std::int64_t mtime;
      bool directory() const { return type == std::string_view("directory"); }
    };
    std::vector<entry> entries;
    // Read through the descriptor openat2 checked, not the path again (a
    // directory swapped for a symlink meanwhile would list outside DIR);
    // entries are fstatat'ed without following: a symlink is listed as
    // itself, its target (maybe outside DIR, which answers 403) never looked at.
    const int listed = ::dup(dir.fd);
    DIR* d = listed >= 0 ? ::fdopendir(listed) : nullptr;
    if (!d && listed >= 0) ::close(listed);
    while (d) {
      const dirent* e = ::readdir(d);
      if (!e) break;
      const std::string_view name = e->d_name;
      if (name == "." || name == "..") continue;
      struct stat st {};
      if (::fstatat(::dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
      const char* type = S_ISREG(st.st_mode) ? "file" : S_ISDIR(st.st_mode) ? "directory" : S_ISLNK(st.st_mode) ? "symlink" : "other";
      entries.push_back({std::string(name), type, static_cast<std::uint64_t>(st.st_size),
                         static_cast<std::int64_t>(st.st_mtime)});
    }
    if (d) ::closedir(d);
    std::sort(entries.begin(), entries.end(), [](const entry& a, const entry& b) { return a.name < b.name; });
    const std::string accept(req[bhttp::field::accept]);
    if (accept.find("application/json") != std::string::npos) {
      boost::json::array list;
      for (const auto& e : entries)
        list.push_back(boost::json::object{{"name", e.name}, {"type", e.type}, {"size", e.size}, {"mtime", e.mtime}});
      r.body = core::to_json(list) + "\n";
      r.headers.set(bhttp::field::content_type, "application/json");
      return;
    }
    std::string html = fmt::format(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Index of {0}</title></head>\n"
        "<body><h1>Index of {0}</h1>\n<ul>\n",
        html_escape(dir.url_path));
    if (dir.url_path != "/") html += "<li><a href=\"../\">../</a></li>\n";
    for (const auto& e : entries) {
      const auto name = e.name + (e.directory() ? "/" : "");
      const auto note = e.type == std::string_view("file") ? fmt::format(" ({} bytes)", e.size)
                        : e.type == std::string_view("symlink") ? std::string(" (symlink)")
                                                                : std::string();
      html += fmt::format("<li><a href=\"{}\">{}</a>{}</li>\n", url_escape(name), html_escape(name), note);
    }
    r.body = html + "</ul></body></html>\n";
    r.headers.set(bhttp::field::content_type, "text/html; charset=utf-8");
  }

  // Takes ownership of `fd`, whose fstat is `st`.
  void send_file(const bhttp::request<bhttp::string_body>& req, const fs::path& path, int fd, const struct stat& st,
                 reply& r) {
    if (fd < 0 || !S_ISREG(st.st_mode)) {
      if (fd >= 0) ::close(fd);
      text_reply(r, 403, "403 Forbidden\n");
      r.note = "not a readable regular file";
      return;
    }
    const auto size = static_cast<std::uint64_t>(st.st_size);
    // Both validators, as nginx does: a strong ETag from mtime and size.
    const auto etag = fmt::format("\"{:x}-{:x}\"", static_cast<std::uint64_t>(st.st_mtime), size);
    r.headers.set(bhttp::field::etag, etag);
    r.headers.set(bhttp::field::last_modified, modified_.of(st.st_mtime));
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
                  bool head, std::optional<unsigned> status = std::nullopt) {
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
                         std::string(parser.get().method_string()), std::string(parser.get().target()), status.value_or(r.status),
                         head ? 0 : r.body_size(), core::format_duration(clock::now() - start));
    else
      line = fmt::format("{}.{:03d}Z {} \"-\" {} 0 {}", stamp, ms, conn.peer(), r.status,
                         core::format_duration(clock::now() - start));
    if (!r.note.empty()) line += " (" + r.note + ")";
    core::log::notice("{}", line);
  }

  // Date changes once a second and a file's Last-Modified not at all, while
  // strftime costs a microsecond each time: the last one is kept.
  struct date_cache {
    std::time_t second = -1;
    std::string text;
    const std::string& of(std::time_t t) {
      if (t != second) {
        second = t;
        text = http_date(t);
      }
      return text;
    }
    const std::string& now() { return of(std::time(nullptr)); }
  };

  const serve_args args_;
  const upgrade_hooks hooks_;
  const request_hooks answers_;
  bool stopping_ = false;
  std::unordered_set<core::connection*> idle_;
  date_cache date_;
  date_cache modified_;
  fs::path root_;
  int root_fd_ = -1;
  std::string mock_body_;
  bhttp::fields extra_;
};

}  // namespace

awaitable<void> serve_one_connection(const serve_args& args, core::connection conn) {
  const auto srv = std::make_shared<server>(args);
  co_await srv->connection(std::move(conn));
}

// Stops the server's copies when run_serve's frame unwinds (SIGINT,
// SIGTERM, --timeout), while their connections may go on for the grace
// period: each copy on its own loop.
struct stop_on_exit {
  std::shared_ptr<server> srv;
  std::vector<std::pair<boost::asio::any_io_executor, std::shared_ptr<server>>> others;
  ~stop_on_exit() {
    srv->stop();
    for (auto& [loop, copy] : others) boost::asio::post(loop, [copy = std::move(copy)] { copy->stop(); });
  }
};

namespace {
awaitable<int> serve_with(core::run_context& ctx, const serve_args& args, std::shared_ptr<server> srv,
                          std::function<std::shared_ptr<server>()> copy = {});
}  // namespace

awaitable<int> run_serve(core::run_context& ctx, const serve_args& args) {
  // Each loop gets a copy of the server of its own (its idle connections,
  // its Date cache): the copies share only what never changes.
  auto task = serve_with(ctx, args, std::make_shared<server>(args), [&args] { return std::make_shared<server>(args); });
  co_return co_await std::move(task);
}

awaitable<int> run_serve(core::run_context& ctx, const serve_args& args, upgrade_hooks hooks) {
  auto task = serve_with(ctx, args, std::make_shared<server>(args, std::move(hooks)));
  co_return co_await std::move(task);
}

awaitable<int> run_serve(core::run_context& ctx, const serve_args& args, request_hooks hooks) {
  auto task = serve_with(ctx, args, std::make_shared<server>(args, upgrade_hooks{}, std::move(hooks)));
  co_return co_await std::move(task);
}

namespace {

core::connection_handler handler_for(std::shared_ptr<server> srv) {
  return [srv = std::move(srv)](core::connection conn) { return srv->connection(std::move(conn)); };
}

// With `copy` and --threads N > 1: N - 1 more loops on threads of their
// own, each with a copy of the server; the listener hands every new
// connection to the loop with the fewest.
awaitable<int> serve_with(core::run_context& ctx, const serve_args& args, std::shared_ptr<server> srv,
                          std::function<std::shared_ptr<server>()> copy) {
  stop_on_exit stopper{std::move(srv), {}};
  auto options = args.listen;
  if (options.family == AF_INET6 && options.bind == "127.0.0.1") options.bind = "::1";
  core::serve_options serving;
  serving.keep_open = true;
  serving.max_conns = options.max_conns;
  serving.handshake_timeout = args.header_timeout;
  if (args.tls.enabled || !args.tls.cert.empty()) serving.tls = core::make_server_context(args.tls);
  core::listener listener(ctx.executor(), options, ctx.out(), ctx.json());
  std::vector<core::serving_loop> more_loops;
  for (std::size_t i = 1; copy && i < args.threads; ++i) {
    const auto loop = ctx.workers().add(true).get_executor();
    auto& [ex, other] = stopper.others.emplace_back(loop, copy());
    more_loops.push_back({ex, handler_for(other)});
  }
  ctx.workers().start();
  // The handler and the task are named: g++ 12 destroys temporaries of a
  // co_await expression twice (GCC PR 100611), and a second release of the
  // lambda's shared_ptr freed the server under its connections at SIGTERM.
  core::connection_handler handler = handler_for(stopper.srv);
  auto task = core::serve(listener, serving, ctx.connections(), std::move(handler), std::move(more_loops));
  co_await std::move(task);
  co_return 0;
}

}  // namespace

}  // namespace nettool::http
