// http wait: poll URLs in parallel until each answers with an expected
// status (and body text), then optionally exec the command after `--`.
#include "http.hpp"

#include "nettool/core/buffer.hpp"
#include "nettool/core/events.hpp"
#include "nettool/core/log.hpp"
#include "nettool/core/process.hpp"

#include <charconv>
#include <map>

namespace nettool::http {
namespace {

namespace bhttp = beast::http;
using clock = std::chrono::steady_clock;

// What --contains can see of a body: enough for any health page.
constexpr std::size_t body_window = 1024 * 1024;

std::optional<unsigned> parse_code(std::string_view s) {
  unsigned v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || end != s.data() + s.size() || v < 100 || v > 599) return std::nullopt;
  return v;
}

class waiter {
 public:
  waiter(core::run_context& ctx, const wait_args& args, std::vector<std::pair<unsigned, unsigned>> wanted)
      : ctx_(ctx), args_(args), wanted_(std::move(wanted)) {}

  awaitable<void> all() {
    std::vector<awaitable<void>> waits;
    for (const auto& url : args_.urls) waits.push_back(one(url));
    co_await core::all_of(std::move(waits));
  }

  // "URL (last: 503 Service Unavailable)" for each URL not ready yet.
  std::string pending() const {
    std::string out;
    for (const auto& [url, last] : last_) out += fmt::format("{}{} (last: {})", out.empty() ? "" : ", ", url, last);
    return out;
  }

 private:
  client_options options_for() const {
    client_options o;
    o.connect = args_.connect;
    o.connect.connect_timeout = std::min(args_.timeouts.connect_timeout, args_.limit);
    o.connect.servername = args_.tls.servername;
    o.tls = args_.tls;
    o.unix_socket = args_.unix_socket;
    o.noproxy = args_.noproxy;
    o.idle_timeout = args_.timeouts.idle_timeout;
    return o;
  }

  bool wanted(unsigned status) const {
    if (wanted_.empty()) return status >= 200 && status < 300;
    for (const auto& [lo, hi] : wanted_)
      if (status >= lo && status <= hi) return true;
    return false;
  }

  awaitable<void> one(const std::string& url) {
    request req;
    req.url = parse_url(url);
    add_headers(req.headers, args_.headers);
    client c(options_for());
    last_[url] = "no answer yet";
    const auto start = clock::now();
    for (int attempt = 1;; ++attempt) {
      try {
        if (co_await ready(c, req, url)) {
          core::report_ready(ctx_, url, clock::now() - start, attempt);
          last_.erase(url);
          co_return;
        }
      } catch (const core::error& e) {
        if (e.code() == core::errc::usage) throw;
        last_[url] = e.describe();
        core::log::debug("{} not ready: {}", url, e.describe());
      }
      co_await core::sleep_for(args_.interval);
    }
  }

  awaitable<bool> ready(client& c, const request& req, const std::string& url) {
    const auto head = co_await c.start(req);
    const auto outcome = fmt::format("{} {}", head.status, head.reason);
    if (!wanted(head.status)) {
      co_await c.skip_body();
      last_[url] = outcome;
      core::log::debug("{} not ready: {}", url, outcome);
      co_return false;
    }
    if (args_.contains.empty()) {
      co_await c.skip_body();
      co_return true;
    }
    std::string body;
    core::io_buffer buffer(64 * 1024);
    while (const auto n = co_await c.read_body(buffer.space()))
      if (body.size() < body_window) body.append(buffer.data(), std::min(n, body_window - body.size()));
    if (body.find(args_.contains) != std::string::npos) co_return true;
    last_[url] = outcome + ", body without '" + args_.contains + "'";
    core::log::debug("{} not ready: {}", url, last_[url]);
    co_return false;
  }

  core::run_context& ctx_;
  const wait_args& args_;
  std::vector<std::pair<unsigned, unsigned>> wanted_;
  std::map<std::string, std::string> last_;  // URLs not ready yet: their last outcome
};

}  // namespace

std::optional<std::vector<std::pair<unsigned, unsigned>>> parse_status_list(std::string_view text) {
  std::vector<std::pair<unsigned, unsigned>> out;
  while (!text.empty()) {
    const auto comma = text.find(',');
    const auto item = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
    const auto dash = item.find('-');
    const auto lo = parse_code(item.substr(0, dash));
    const auto hi = dash == std::string_view::npos ? lo : parse_code(item.substr(dash + 1));
    if (!lo || !hi || *hi < *lo) return std::nullopt;
    out.emplace_back(*lo, *hi);
  }
  if (out.empty()) return std::nullopt;
  return out;
}

awaitable<int> run_wait(core::run_context& ctx, const wait_args& args) {
  std::vector<std::pair<unsigned, unsigned>> wanted;
  if (!args.status.empty()) wanted = *parse_status_list(args.status);
  waiter w(ctx, args, std::move(wanted));
  try {
    co_await core::with_timeout(w.all(), args.limit, core::phase::wait);
  } catch (const core::error& e) {
    if (e.code() != core::errc::timed_out || e.phase() != core::phase::wait) throw;
    throw core::error(core::errc::timed_out, core::phase::wait, {},
                      fmt::format("not ready after {}: {}", core::format_duration(args.limit), w.pending()));
  }
  if (!args.command.empty()) core::exec_replacing(args.command);
  co_return 0;
}

}  // namespace nettool::http
