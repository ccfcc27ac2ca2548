// http get|head|delete|options|post|put|patch: curl's client verbs.
#include "http.hpp"

#include "inflate.hpp"
#include "multipart.hpp"

#include "nettool/core/buffer.hpp"
#include "nettool/core/log.hpp"
#include "nettool/core/output.hpp"
#include "nettool/core/progress.hpp"
#include "nettool/core/retry.hpp"

#include <boost/json/serialize.hpp>
#include <boost/url/parse.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <ctime>
#include <functional>

namespace nettool::http {
namespace {

namespace bhttp = beast::http;
using core::errc;
using clock = std::chrono::steady_clock;

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

std::string text(const urls::url& url) { return std::string(url.buffer()); }

bool idempotent(bhttp::verb method) { return method != bhttp::verb::post && method != bhttp::verb::patch; }

bool is_redirect(unsigned status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

std::string status_text(const response_head& head) { return fmt::format("{} {}", head.status, head.reason); }

std::string read_all_stdin() {
  std::string all;
  char chunk[65536];
  for (;;) {
    const auto n = ::read(0, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw core::error(core::error_code(errno, boost::system::system_category()), core::phase::read, "stdin");
    if (n == 0) return all;
    all.append(chunk, static_cast<std::size_t>(n));
  }
}

// Checked before any connection opens: a missing file is a local error.
std::string readable_file(std::string path) {
  if (::access(path.c_str(), R_OK) != 0) throw core::error(errc::local_failure, "open", path, std::strerror(errno));
  return path;
}

request build_request(const request_args& args, const std::string& url) {
  request req;
  req.method = args.method;
  req.url = parse_url(url);
  bhttp::fields defaults;
  if (args.json_body) {
    req.body.add_bytes(*args.json_body);
    defaults.set(bhttp::field::content_type, "application/json");
    defaults.set(bhttp::field::accept, "application/json");
  } else if (!args.form.empty()) {
    std::vector<form_field> fields;
    for (const auto& spec : args.form) {
      fields.push_back(parse_form_field(spec));
      if (!fields.back().file.empty()) readable_file(fields.back().file);
    }
    const auto boundary = random_boundary();
    req.body = multipart_body(fields, boundary);
    defaults.set(bhttp::field::content_type, "multipart/form-data; boundary=" + boundary);
  } else if (args.data) {
    if (*args.data == "@-") req.body.add_bytes(read_all_stdin());
    else if (args.data->starts_with('@')) req.body.add_file(readable_file(args.data->substr(1)));
    else req.body.add_bytes(*args.data);
    defaults.set(bhttp::field::content_type, "application/x-www-form-urlencoded");
  }
  if (args.compressed) defaults.set(bhttp::field::accept_encoding, "deflate, gzip");
  // "user" alone is "user:" (an empty password): Basic needs the colon
  // (RFC 7617). curl would prompt for the password instead.
  if (!args.user.empty())
    defaults.set(bhttp::field::authorization,
                 "Basic " + core::base64_encode(args.user.find(':') == std::string::npos ? args.user + ":" : args.user));
  else if (const auto credentials = basic_credentials(req.url); !credentials.empty())
    defaults.set(bhttp::field::authorization, credentials);
  req.headers = with_headers(defaults, args.headers);
  return req;
}

// The request a redirect asks for (RFC 9110 §15.4, as curl does it): 303
// turns into GET, and so do 301/302 after a POST; credentials never follow
// to another origin.
//
// The Location is the server's word, not the user's: whatever is wrong with
// it (another scheme, no host, a bad port, sheer size) is a protocol error
// (6), found before any name is looked up.
urls::url redirect_target(const request& req, std::string_view location) {
  const auto shown = location.size() > 200 ? std::string(location.substr(0, 200)) + "…" : std::string(location);
  auto bad = [&](std::string_view why) {
    return core::error(errc::protocol, "redirect", text(req.url), fmt::format("Location '{}': {}", shown, why));
  };
  if (location.size() > 8 * 1024) throw bad("longer than 8 KiB");
  auto ref = urls::parse_uri_reference(location);
  urls::url next;
  if (!ref || !urls::resolve(req.url, *ref, next)) throw bad("not a URL");
  if (next.scheme_id() != urls::scheme::http && next.scheme_id() != urls::scheme::https)
    throw bad("only http:// and https:// redirects are followed");
  try {
    return parse_url(std::string_view(next.buffer()));
  } catch (const core::error& e) {
    throw bad(e.reason());
  }
}

request redirected(const request& req, const response_head& head) {
  request out = req;
  out.url = redirect_target(req, head.headers[bhttp::field::location]);
  const bool to_get = (head.status == 303 && req.method != bhttp::verb::head) ||
                      ((head.status == 301 || head.status == 302) && req.method == bhttp::verb::post);
  if (to_get) {
    out.method = bhttp::verb::get;
    out.body = {};
    out.headers.erase(bhttp::field::content_type);
    out.headers.erase(bhttp::field::content_length);
  }
  if (origin_of(out.url) != origin_of(req.url)) {
    out.headers.erase(bhttp::field::authorization);
    out.headers.erase(bhttp::field::cookie);
  }
  core::log::info("{} {} -> {}", head.status, text(req.url), text(out.url));
  return out;
}

std::optional<std::uint64_t> content_length(const response_head& head) {
  const auto it = head.headers.find(bhttp::field::content_length);
  if (it == head.headers.end()) return std::nullopt;
  const std::string value(it->value());
  if (value.empty() || value.find_first_not_of("0123456789") != std::string::npos || value.size() > 18) return std::nullopt;
  return std::stoull(value);
}

double seconds(clock::duration d) { return std::chrono::duration<double>(d).count(); }

struct timing {
  double dns = 0, connect = 0, tls = 0, ttfb = 0, total = 0;
};

timing measure(const core::connect_timing& marks, clock::time_point start, clock::time_point first_byte,
               clock::time_point end) {
  timing t;
  if (marks.start != clock::time_point{}) {  // a new connection was opened
    t.dns = seconds(marks.resolved - marks.start);
    t.connect = seconds(marks.connected - marks.resolved);
    if (marks.tls_done > marks.connected) t.tls = seconds(marks.tls_done - marks.connected);
  }
  t.ttfb = seconds(first_byte - start);
  t.total = seconds(end - start);
  return t;
}

boost::json::object response_json(const request& req, const response_head& head, std::string_view body,
                                   const timing& t, int attempts) {
  boost::json::object headers;
  for (const auto& field : head.headers) {
    auto& slot = headers[lower(field.name_string())];
    // Repeated fields join with ", " (RFC 9110 §5.3).
    if (slot.is_string()) slot = std::string(slot.as_string()) + ", " + std::string(field.value());
    else slot = std::string(field.value());
  }
  boost::json::object o{{"url", text(req.url)}, {"status", head.status}, {"reason", head.reason},
                        {"headers", std::move(headers)}};
  core::add_payload(o, body, "body");
  o["timing"] = {{"dns", t.dns}, {"connect", t.connect}, {"tls", t.tls}, {"ttfb", t.ttfb}, {"total", t.total}};
  o["attempts"] = attempts;
  return o;
}

class request_runner {
 public:
  request_runner(core::run_context& ctx, const request_args& args, core::output& body_out)
      : ctx_(ctx), args_(args), body_out_(body_out), client_(client_options_for(args, marks_)) {}

  awaitable<void> fetch(request req) {
    for (int redirects = 0;; ++redirects) {
      const auto start = clock::now();
      attempts_ = 0;
      marks_ = {};
      const auto head = co_await start_with_retries(client_, req, {args_.timeouts.retry, args_.retry_all}, attempts_);
      const auto first_byte = clock::now();
      if (args_.location && is_redirect(head.status) && head.headers.count(bhttp::field::location)) {
        if (args_.include && !ctx_.json()) body_out_.write(head.interim + head.text());  // each hop, as curl -iL
        co_await client_.skip_body();
        if (redirects >= args_.max_redirects)
          throw core::error(errc::protocol, "redirect", text(req.url),
                            fmt::format("more than {} redirects (--max-redirects)", args_.max_redirects));
        req = redirected(req, head);
        continue;
      }
      co_await deliver(req, head, start, first_byte);
      co_return;
    }
  }

 private:
  static client_options client_options_for(const request_args& args, core::connect_timing& marks) {
    auto o = client_options_from(args.connect, args.timeouts, args.tls, args.unix_socket, args.noproxy);
    o.connect.timing = &marks;
    o.idle_timeout = args.timeouts.idle_timeout;
    return o;
  }

  awaitable<void> deliver(const request& req, const response_head& head, clock::time_point start,
                          clock::time_point first_byte) {
    const bool failed = args_.fail && head.status >= 400;
    const bool to_file = !args_.output_file.empty();
    std::string body;
    std::uint64_t size = 0;
    if (failed) {
      co_await client_.skip_body();
    } else if (ctx_.json() && !to_file) {
      co_await read_body(head, [&](std::string_view piece) { body.append(piece); });
    } else {
      // HEAD shows what it asked for, as curl -I does.
      if (!ctx_.json() && (args_.include || req.method == bhttp::verb::head)) body_out_.write(head.interim + head.text());
      co_await read_body(head, [&](std::string_view piece) {
        size += piece.size();
        body_out_.write(piece);
      });
    }
    const auto t = measure(marks_, start, first_byte, clock::now());
    if (args_.timing)
      core::log::write_line(fmt::format("timing {}: dns {:.6f}s connect {:.6f}s tls {:.6f}s ttfb {:.6f}s total {:.6f}s",
                                        text(req.url), t.dns, t.connect, t.tls, t.ttfb, t.total));
    if (ctx_.json()) {
      auto o = response_json(req, head, body, t, attempts_);
      if (to_file && !failed) {  // -o keeps the body; the event says where it went
        o.erase("body");
        o["body_file"] = args_.output_file;
        o["body_size"] = size;
      }
      ctx_.out().line(core::to_json(o));
    }
    if (failed) throw core::error(errc::peer_error, "response", text(req.url), status_text(head));
  }

  // The body to `sink`, decoded when --compressed asked for an encoding
  // the server used.
  awaitable<void> read_body(const response_head& head, std::function<void(std::string_view)> sink) {
    std::optional<inflater> decoder;
    if (args_.compressed) {
      const auto encoding = lower(head.headers[bhttp::field::content_encoding]);
      if (inflater::supports(encoding)) decoder.emplace(encoding, sink);
    }
    // A download to -o shows its progress (on a terminal only); the size is
    // what travels, compressed or not, as curl counts it.
    std::optional<core::progress> meter;
    if (!args_.output_file.empty()) meter.emplace(args_.output_file, content_length(head));
    core::io_buffer buffer(64 * 1024);
    std::uint64_t received = 0;
    while (const auto n = co_await client_.read_body(buffer.space())) {
      received += n;
      if (decoder) decoder->feed(std::string_view(buffer.data(), n));
      else sink(std::string_view(buffer.data(), n));
      if (meter) meter->update(received);
    }
    if (decoder && received > 0) decoder->finish();
    if (meter) meter->finish();
  }

  core::run_context& ctx_;
  const request_args& args_;
  core::output& body_out_;
  core::connect_timing marks_;
  client client_;
  int attempts_ = 0;
};

int open_output_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw core::error(errc::local_failure, "open", path, std::strerror(errno));
  return fd;
}

}  // namespace

namespace {

// The phase of the error a retryable status becomes inside
// start_with_retries: always transient.
constexpr std::string_view retryable_status_phase = "status";

awaitable<response_head> attempt(client& c, const request& req, const retry_rule& rule, int& attempts) {
  ++attempts;
  auto head = co_await c.start(req);
  if (is_retryable_status(head.status) && attempts <= rule.policy.retries) {
    co_await c.skip_body();
    core::error e(errc::peer_error, std::string(retryable_status_phase), text(req.url), status_text(head));
    if (auto after = retry_after(head.headers)) e.with_retry_after(*after);
    throw e;
  }
  co_return head;
}

bool transient(const client& c, const core::error& e, const request& req, const retry_rule& rule) {
  if (e.phase() == retryable_status_phase) return true;
  const bool may_resend =
      !c.request_sent() || idempotent(req.method) || rule.retry_all || req.headers.count("Idempotency-Key") > 0;
  if (!may_resend) return false;
  if (core::is_transient(e)) return true;
  return e.phase() == core::phase::read && e.code() == boost::asio::error::connection_reset;
}

}  // namespace

awaitable<response_head> start_with_retries(client& c, const request& req, retry_rule rule, int& attempts) {
  attempts = 0;
  co_return co_await core::with_retries<response_head>(
      rule.policy, [&] { return attempt(c, req, rule, attempts); },
      [&](const core::error& e) { return transient(c, e, req, rule); });
}

std::string basic_credentials(const urls::url_view_base& url) {
  if (!url.has_userinfo()) return {};
  return "Basic " + core::base64_encode(std::string(url.user()) + ":" + std::string(url.password()));
}

void add_header(bhttp::fields& fields, std::string_view text) {
  const auto colon = text.find(':');
  if (colon == std::string_view::npos || colon == 0)
    throw core::error(errc::usage, "option", "-H", fmt::format("'{}' is not 'Name: value'", text));
  auto value = text.substr(colon + 1);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  fields.insert(text.substr(0, colon), value);
}

void add_headers(bhttp::fields& fields, const std::vector<std::string>& texts) {
  for (const auto& text : texts) add_header(fields, text);
}

bhttp::fields with_headers(const bhttp::fields& defaults, const std::vector<std::string>& texts) {
  bhttp::fields user;
  add_headers(user, texts);
  bhttp::fields out = defaults;
  for (const auto& field : user) out.erase(field.name_string());
  for (const auto& field : user) out.insert(field.name_string(), field.value());
  return out;
}

client_options client_options_from(const core::connect_options& connect, const core::timeout_options& timeouts,
                                   const core::tls_client_options& tls, const std::string& unix_socket,
                                   const std::optional<std::string>& noproxy) {
  client_options o;
  o.connect = connect;
  o.connect.connect_timeout = timeouts.connect_timeout;
  o.connect.servername = tls.servername;
  o.tls = tls;
  o.unix_socket = unix_socket;
  o.noproxy = noproxy;
  return o;
}

awaitable<int> run_request(core::run_context& ctx, const request_args& args) {
  std::optional<core::output> file;
  if (!args.output_file.empty()) file.emplace(open_output_file(args.output_file));
  struct closer {
    std::optional<core::output>& file;
    ~closer() {
      if (file) ::close(file->fd());
    }
  } close_file{file};
  request_runner runner(ctx, args, file ? *file : ctx.out());
  for (const auto& url : args.urls) {
    auto req = build_request(args, url);
    co_await runner.fetch(std::move(req));
  }
  co_return 0;
}

}  // namespace nettool::http
