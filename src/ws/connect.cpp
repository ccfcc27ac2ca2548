// ws connect: stdin lines (or --send) out as messages, received messages
// out on stdout, a Close handshake that loses nothing in flight.
#include "ws.hpp"

#include "nettool/core/expect.hpp"
#include "nettool/core/framing.hpp"
#include "nettool/core/log.hpp"
#include "nettool/core/output.hpp"
#include "nettool/core/retry.hpp"
#include "nettool/http/client.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <boost/url/parse.hpp>

#include <random>

namespace nettool::ws {
namespace {

namespace websocket = beast::websocket;
namespace urls = boost::urls;
using clock = std::chrono::steady_clock;
using core::errc;

constexpr auto use = asio::as_tuple(asio::use_awaitable);
// The phase of a handshake answered with a transient status (503 …):
// retried as http's requests are (SPEC §1), still exit 7 when retries run out.
constexpr const char* transient_status_phase = "status";
// The phase of --timeout with --count: the count not reached is exit 9,
// while a timeout inside (the handshake's) stays 124.
constexpr const char* count_phase = "count";

std::string target_of(const urls::url_view& url) {
  std::string target(url.encoded_path());
  if (target.empty()) target = "/";
  if (url.has_query()) target += "?" + std::string(url.encoded_query());
  return target;
}


// What the verb keeps across reconnects: what was sent is never sent again,
// what was received counts toward --count.
struct progress {
  std::uint64_t received = 0;
  bool input_ended = false;
};

// One connection's life, from the handshake to the close.
class session {
 public:
  session(core::run_context& ctx, const connect_args& args, std::unique_ptr<stream> ws,
          core::message_source& source, progress& done, std::optional<core::expectation>& expect)
      : ctx_(ctx), args_(args), ws_(std::move(ws)), source_(source), done_(done), expect_(expect),
        where_(args.client.url) {}

  // With --reconnect: the session ended against our will — the connection
  // dropped, or the peer closed while we still had something to send or
  // to wait for.
  bool reconnectable() const noexcept { return dropped_ || (peer_closed_ && !closed_by_us_); }

  // The exit code once the session ended; throws core::error on failures.
  awaitable<int> run() {
    ws_->control_callback([this](websocket::frame_type kind, beast::string_view payload) { on_control(kind, payload); });
    last_activity_ = clock::now();
    auto reading = read_messages();
    auto rest = sending_side();
    const auto first = co_await core::first_of(std::move(reading), std::move(rest));
    if (first == 1) {
      core::log::warn("no Close from {} within {} of ours; closing", where_, core::format_duration(args_.close_grace));
      co_return 0;
    }
    if (stop_ != stop_reason::peer_closed) {  // --count reached or --expect matched: our Close
      auto closing = close_and_drain();
      co_await std::move(closing);
    }
    co_return outcome();
  }

 private:
  enum class stop_reason { none, peer_closed, count_reached, matched };
  // The peer's Close arrived (also after ours, while draining).
  bool peer_closed_ = false;
  bool closed_by_us_ = false;  // our Close went out: the end of input, --count, --expect
  bool dropped_ = false;       // the connection ended without a Close

  awaitable<void> read_messages() {
    beast::flat_buffer buffer;
    for (;;) {
      auto [ec, n] = co_await ws_->async_read(buffer, use);
      if (ec == websocket::error::closed) {
        stop_ = stop_reason::peer_closed;
        peer_closed_ = true;
        co_return;
      }
      if (ec == asio::error::eof || ec == asio::error::connection_reset || ec == asio::error::broken_pipe)
        dropped_ = true;
      if (ec) throw failure(ec, core::phase::read, where_);
      last_activity_ = clock::now();
      deliver(buffer, ws_->got_text());
      buffer.consume(buffer.size());
      ++done_.received;
      if (stop_ != stop_reason::none) co_return;
      if (args_.messages.count && done_.received >= *args_.messages.count) {
        stop_ = stop_reason::count_reached;
        co_return;
      }
    }
  }

  void deliver(const beast::flat_buffer& buffer, bool text) {
    const auto bytes = beast::buffers_to_string(buffer.data());
    if (ctx_.json()) {
      ctx_.out().line(core::to_json(message_event(text ? "text" : "binary", bytes)));
    } else if (args_.messages.binary) {
      ctx_.out().write(bytes);
    } else {
      ctx_.out().line(bytes);
    }
    if (expect_ && expect_->message(bytes)) stop_ = stop_reason::matched;
  }

  // Sends every message, then (without --count) the Close, then waits for
  // the reader to see the peer's Close: returning means the grace ran out.
  awaitable<void> sending_side() {
    auto sending = send_messages();
    auto watching = watch();
    co_await core::first_of(std::move(sending), std::move(watching));
    if (args_.messages.count) {  // SPEC: with --count, Close after the Nth message instead
      auto waiting = watch();
      co_await std::move(waiting);
    }
    const auto closing = co_await our_close();
    if (closing == close_outcome::failing) {
      // Beast is answering the peer's Close or a bad frame and tearing the
      // connection down (bounded by the core's lingering close): the reader
      // ends the session with the reason.
      auto waiting = core::sleep_for(args_.close_grace + std::chrono::seconds(3));
      co_await std::move(waiting);
    }
    auto waiting = core::sleep_for(args_.close_grace);
    co_await std::move(waiting);
    if (closing == close_outcome::stuck)
      throw core::error(errc::protocol, "close", where_,
                        fmt::format("our Close could not be sent within {}: the peer takes no bytes",
                                    core::format_duration(args_.close_grace)));
  }

  enum class close_outcome { sent, failing, stuck };

  // Sends our Close, within the grace: `failing` when Beast is already
  // closing (it answered the peer's Close or a bad frame), `stuck` when a
  // frame write was cut off or the peer takes no bytes.
  awaitable<close_outcome> our_close() {
    if (!ws_->is_open()) co_return close_outcome::failing;
    bool sent = false;
    auto sending = send_close(sent);
    try {
      auto bounded = core::with_timeout(std::move(sending), args_.close_grace, "close", where_);
      co_await std::move(bounded);
    } catch (const core::error& e) {
      core::log::debug("{}", e.describe());
      co_return close_outcome::stuck;
    }
    if (!sent) co_return ws_->is_open() ? close_outcome::stuck : close_outcome::failing;
    closed_by_us_ = true;
    core::log::debug("{}: Close {} sent", where_, args_.close_code);
    co_return close_outcome::sent;
  }

  awaitable<void> send_close(bool& sent) {
    sent = co_await ws_->next_layer().send_close(args_.close_code, args_.close_reason);
  }

  awaitable<void> send_messages() {
    if (done_.input_ended) co_return;
    for (;;) {
      auto next = co_await source_.next();
      if (!next) break;
      ws_->text(!args_.messages.binary);
      auto [ec, n] = co_await ws_->async_write(asio::buffer(next->data(), next->size()), use);
      if (ec) {
        // The reader usually knows why (a Close, a bad frame it answered
        // with 1007): give it the grace period to say so first.
        auto waiting = core::sleep_for(args_.close_grace);
        co_await std::move(waiting);
        throw failure(ec, core::phase::write, where_);
      }
      last_activity_ = clock::now();
    }
    done_.input_ended = true;
  }

  // Pings (--ping-interval) and the idle and pong deadlines; never returns.
  awaitable<void> watch() {
    const auto tick = std::min(args_.ping_interval.value_or(std::chrono::hours(1)),
                               args_.client.timeouts.idle_timeout.value_or(std::chrono::hours(1)));
    auto next_ping = clock::now() + args_.ping_interval.value_or(std::chrono::hours(24 * 365));
    for (;;) {
      auto pause = core::sleep_for(std::min<core::duration>(tick, std::chrono::milliseconds(100) + tick / 10));
      co_await std::move(pause);
      const auto now = clock::now();
      if (args_.client.timeouts.idle_timeout && now - last_activity_ >= *args_.client.timeouts.idle_timeout)
        throw core::error(errc::timed_out, "idle", where_,
                          fmt::format("nothing moved for {}", core::format_duration(*args_.client.timeouts.idle_timeout)));
      if (ping_sent_ && args_.ping_timeout && now - *ping_sent_ >= *args_.ping_timeout)
        throw core::error(errc::timed_out, "ping", where_,
                          fmt::format("no pong within {}", core::format_duration(*args_.ping_timeout)));
      if (args_.ping_interval && now >= next_ping && !ws_->next_layer().close_sent()) {
        next_ping = now + *args_.ping_interval;
        if (!ping_sent_) ping_sent_ = now;
        auto [ec] = co_await ws_->async_ping({}, use);
        if (ec) throw failure(ec, "ping", where_);
      }
    }
  }

  void on_control(websocket::frame_type kind, beast::string_view payload) {
    last_activity_ = clock::now();
    if (kind == websocket::frame_type::pong && ping_sent_) {
      core::log::info("{}: pong after {}", where_, core::format_duration(clock::now() - *ping_sent_));
      ping_sent_.reset();
    }
    if (!ctx_.json() || kind == websocket::frame_type::close) return;  // the close event comes with the outcome
    ctx_.out().line(core::to_json(message_event(kind == websocket::frame_type::ping ? "ping" : "pong", payload)));
  }

  // Our Close after --count or --expect; what arrives meanwhile is dropped.
  awaitable<void> close_and_drain() {
    const auto closing = co_await our_close();
    if (closing != close_outcome::sent) co_return;
    auto draining = drain();
    try {
      auto bounded = core::with_timeout(std::move(draining), args_.close_grace, "close", where_);
      co_await std::move(bounded);
    } catch (const core::error& e) {
      core::log::warn("{}", e.describe());
    }
  }

  awaitable<void> drain() {
    beast::flat_buffer buffer;
    for (;;) {
      auto [ec, n] = co_await ws_->async_read(buffer, use);
      if (ec == websocket::error::closed) {
        peer_closed_ = true;
        co_return;
      }
      if (ec) co_return;
      buffer.consume(buffer.size());
    }
  }

  int outcome() {
    const auto& reason = ws_->reason();
    const unsigned code = reason.code;
    const std::string text(reason.reason.data(), reason.reason.size());
    if (peer_closed_ && ctx_.json()) ctx_.out().line(core::to_json(close_event(code, text)));
    if (stop_ == stop_reason::matched) return 0;
    const bool normal = code == websocket::close_code::normal || code == websocket::close_code::going_away ||
                        code == websocket::close_code::none;
    if (!normal) {
      const std::string why = text.empty() ? "" : ": " + printable(text);
      throw core::error(errc::peer_error, "close", where_, fmt::format("the peer closed with code {}{}", code, why));
    }
    if (expect_) expect_->fail();
    if (args_.messages.count && done_.received < *args_.messages.count)
      throw core::error(errc::nothing_available, "close", where_,
                        fmt::format("the peer closed after {} of {} messages", done_.received, *args_.messages.count));
    return 0;
  }

  core::run_context& ctx_;
  const connect_args& args_;
  std::unique_ptr<stream> ws_;
  core::message_source& source_;
  progress& done_;
  std::optional<core::expectation>& expect_;
  std::string where_;
  stop_reason stop_ = stop_reason::none;
  clock::time_point last_activity_;
  std::optional<clock::time_point> ping_sent_;
};

// The decorator's fields: ours first, then -H replacing them ('Name:'
// removes one), as http's client does.
void decorate(websocket::request_type& req, const client_args& args) {
  req.set(beast::http::field::user_agent, "nettool/" NETTOOL_VERSION);
  if (!args.origin.empty()) req.set(beast::http::field::origin, args.origin);
  if (!args.subprotocols.empty()) {
    std::string list;
    for (const auto& p : args.subprotocols) list += (list.empty() ? "" : ", ") + p;
    req.set(beast::http::field::sec_websocket_protocol, list);
  }
  beast::http::fields extra;
  http::add_headers(extra, args.headers);
  for (const auto& f : extra) req.erase(f.name_string());
  for (const auto& f : extra)
    if (!f.value().empty()) req.insert(f.name_string(), f.value());
}

std::string status_line(const websocket::response_type& res) {
  return fmt::format("HTTP/{}.{} {} {}", res.version() / 10, res.version() % 10, res.result_int(),
                     std::string(res.reason()));
}

}  // namespace

http::client_options client_options_for(const client_args& args) {
  return http::client_options_from(args.connect, args.timeouts, args.tls, args.unix_socket, args.noproxy);
}

// Connects through the http client's route and shakes hands: one attempt.
awaitable<std::unique_ptr<stream>> open_stream(http::client& client, const urls::url& url, const client_args& args) {
  auto conn = co_await client.connect(url);
  const auto where = args.url;
  auto ws = std::make_unique<stream>(std::move(conn));
  websocket::stream_base::timeout limits{};
  limits.handshake_timeout = args.timeouts.connect_timeout;
  limits.idle_timeout = websocket::stream_base::none();
  limits.keep_alive_pings = false;
  ws->set_option(limits);
  ws->set_option(websocket::stream_base::decorator([&args](websocket::request_type& req) { decorate(req, args); }));
  if (args.compress) {
    websocket::permessage_deflate pmd;
    pmd.client_enable = true;
    ws->set_option(pmd);
  }
  ws->read_message_max(args.max_message);
  ws->auto_fragment(false);
  ws->write_buffer_bytes(64 * 1024);
  websocket::response_type res;
  auto [ec] = co_await ws->async_handshake(res, url.encoded_host_and_port(), target_of(url), use);
  if (ec == websocket::error::upgrade_declined) {
    const bool transient = http::is_retryable_status(res.result_int());
    core::error e(errc::peer_error, transient ? transient_status_phase : handshake_phase, where,
                  "the server answered " + status_line(res));
    if (auto after = http::retry_after(res.base()); transient && after) e.with_retry_after(*after);
    throw e;
  }
  if (ec) throw failure(ec, handshake_phase, where);
  // RFC 6455 §4.1: a subprotocol or an extension we did not offer fails
  // the connection.
  if (res.count(beast::http::field::sec_websocket_protocol)) {
    const std::string chosen(res[beast::http::field::sec_websocket_protocol]);
    if (std::find(args.subprotocols.begin(), args.subprotocols.end(), chosen) == args.subprotocols.end())
      throw core::error(errc::protocol, handshake_phase, where,
                        fmt::format("the server chose subprotocol '{}', which was not offered", chosen));
  }
  if (!args.compress && !res[beast::http::field::sec_websocket_extensions].empty())
    throw core::error(errc::protocol, handshake_phase, where,
                      fmt::format("the server chose extensions '{}', none were offered",
                                  std::string(res[beast::http::field::sec_websocket_extensions])));
  for (const auto& field : res.base()) core::log::debug("< {}: {}", std::string(field.name_string()), std::string(field.value()));
  core::log::info("{}: WebSocket open{}", where,
                  res.count(beast::http::field::sec_websocket_protocol)
                      ? fmt::format(", subprotocol {}", std::string(res[beast::http::field::sec_websocket_protocol]))
                      : std::string());
  co_return ws;
}

urls::url http_url_for(const std::string& text) {
  if (text.starts_with("ws://")) return http::parse_url("http://" + text.substr(5));
  if (text.starts_with("wss://")) return http::parse_url("https://" + text.substr(6));
  throw core::error(errc::usage, "url", text, "only ws:// and wss:// URLs are supported");
}

awaitable<int> run_connect(core::run_context& ctx, const connect_args& args) {
  const auto url = http_url_for(args.client.url);
  http::client client(client_options_for(args.client));
  core::message_source source(ctx.executor(), args.messages.send, args.messages.binary,
                              static_cast<std::size_t>(args.client.max_message));
  std::optional<core::expectation> expect;
  if (!args.messages.expect.empty()) expect.emplace(args.messages.expect);
  progress done;
  // A handshake answered with a transient status (503 …) is retried as
  // http's requests are; a rejection otherwise is final.
  auto attempt = [&]() { return open_stream(client, url, args.client); };
  auto transient = [](const core::error& e) { return core::is_transient(e) || e.phase() == transient_status_phase; };
  auto whole = [&]() -> awaitable<int> {
    std::optional<std::mt19937_64> rng;
    std::uint64_t received_before = 0;
    for (int drops = 1;; ++drops) {
      auto opening = core::with_retries<std::unique_ptr<stream>>(args.client.timeouts.retry, attempt, transient);
      auto ws = co_await std::move(opening);
      session s(ctx, args, std::move(ws), source, done, expect);
      std::optional<core::error> failed;
      try {
        auto task = s.run();
        const int code = co_await std::move(task);
        if (!args.reconnect || !s.reconnectable()) co_return code;
      } catch (const core::error& e) {
        if (!args.reconnect || !s.reconnectable()) throw;
        failed = e;
      }
      if (done.received > received_before) drops = 1;  // it worked for a while: the backoff starts over
      received_before = done.received;
      // --reconnect: what was sent is not sent again (a message whose
      // write the drop cut off is lost, not repeated).
      if (!rng) rng.emplace(std::random_device{}());
      const auto delay = core::backoff_delay(args.client.timeouts.retry, std::min(drops, 30), std::nullopt, *rng);
      core::log::notice("{}: {}; reconnecting in {}", args.client.url,
                        failed ? failed->reason() : std::string("the peer closed"), core::format_duration(delay));
      auto pause = core::sleep_for(delay);
      co_await std::move(pause);
    }
  };
  if (!args.count_limit) {
    auto task = whole();
    co_return co_await std::move(task);
  }
  try {
    auto task = core::with_timeout(whole(), *args.count_limit, count_phase, args.client.url);
    co_return co_await std::move(task);
  } catch (const core::error& e) {
    if (e.code() != errc::timed_out || e.phase() != count_phase) throw;
  }
  throw core::error(errc::nothing_available, count_phase, args.client.url,
                    fmt::format("{} of {} messages within --timeout {}", done.received, *args.messages.count,
                                core::format_duration(*args.count_limit)));
}

}  // namespace nettool::ws
