// ws serve: http serve's loop with an upgrade handler; each WebSocket is
// an echo, or a member of a chat room (--broadcast).
#include "ws.hpp"

#include "nettool/core/events.hpp"
#include "nettool/core/exec.hpp"
#include "nettool/core/framing.hpp"
#include "nettool/core/line_process.hpp"
#include "nettool/core/log.hpp"
#include "nettool/core/output.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/rfc7230.hpp>
#include <boost/beast/websocket/stream.hpp>

#include <array>
#include <deque>
#include <set>

namespace nettool::ws {
namespace {

namespace websocket = beast::websocket;
namespace bhttp = beast::http;
using core::errc;

constexpr auto use = asio::as_tuple(asio::use_awaitable);

// A message as it was read: its buffer moves along, never copied (an echo
// of a 60 MiB message holds 60 MiB, not twice that).
struct message {
  beast::flat_buffer data;
  bool text = true;

  std::size_t size() const { return data.size(); }
  std::string_view view() const {
    const auto b = data.data();
    return {static_cast<const char*>(b.data()), b.size()};
  }
  static message of(std::string_view bytes, bool text) {
    message m;
    const auto n = asio::buffer_copy(m.data.prepare(bytes.size()), asio::buffer(bytes));
    m.data.commit(n);
    m.text = text;
    return m;
  }
};

std::string_view path_of(std::string_view target) { return target.substr(0, target.find('?')); }

// The first subprotocol the client offers that we serve (RFC 6455 §4.2.2).
std::string choose_subprotocol(const bhttp::fields& req, const std::vector<std::string>& ours) {
  for (const auto offered : bhttp::token_list(req[bhttp::field::sec_websocket_protocol]))
    for (const auto& p : ours)
      if (offered == p) return p;
  return {};
}

// One WebSocket client. Shared by its coroutines and the room, so a stop
// or a broadcast never touches a freed session.
class session : public std::enable_shared_from_this<session> {
 public:
  session(std::unique_ptr<stream> ws, const serve_args& args)
      : ws_(std::move(ws)), args_(args), peer_(ws_->next_layer().conn().peer()), wake_(ws_->get_executor()) {}

  stream& ws() noexcept { return *ws_; }
  const std::string& peer() const noexcept { return peer_; }

  // Starts the Close handshake once (stop: 1001; a slow member: 1008).
  // A message being written is finished first (within --send-timeout,
  // which cuts off a client that takes nothing; the idle sweep cuts off
  // one that takes a byte now and then), so the Close frame never lands in
  // the middle of one.
  void close(websocket::close_code code, std::string reason) {
    if (closing_) return;
    closing_ = true;
    closing_since_ = std::chrono::steady_clock::now();
    queue_.reset();
    queued_ = 0;
    wake_.cancel();
    if (writing_) {
      pending_close_.emplace(code, std::move(reason));
      return;
    }
    start_close(code, std::move(reason));
  }

  // --broadcast: queues `m` for this member's writer; past --max-queue the
  // member is closed with 1008 and the others never wait for it.
  // One message alone is never "too much": --max-message-size bounds it.
  void offer(const std::shared_ptr<const message>& m) {
    if (closing_) return;
    if (!queue_empty() && queued_ + queue_cost(*m) > args_.max_queue) {
      core::log::notice("{}: more than {} bytes queued for it: closing with 1008", peer_, args_.max_queue);
      close(websocket::close_code::policy_error, "too slow: queue full");
      return;
    }
    queued_ += queue_cost(*m);
    if (!queue_) queue_ = std::make_unique<std::deque<std::shared_ptr<const message>>>();
    queue_->push_back(m);
    wake_.cancel();
  }

  // Sends queued messages; once closing, only waits (the reader sees the
  // Close handshake end, and ends the session).
  awaitable<void> write_queue() {
    for (;;) {
      while (queue_empty() || closing_) {
        wake_.expires_at(asio::steady_timer::time_point::max());
        co_await wake_.async_wait(use);  // cancelled by offer() and close() alike
        co_await core::throw_if_cancelled();
      }
      const auto m = queue_->front();
      queue_->pop_front();
      queued_ -= queue_cost(*m);
      auto sending = write(*m);
      co_await std::move(sending);
    }
  }

  // One message out. A client that takes no bytes of it for --send-timeout
  // fails the write (the connection's write stall limit, set by http
  // serve): it cannot hold the server's memory or a write forever, and a
  // write that goes out at once costs no timer.
  awaitable<void> write(const message& m) {
    writing_ = true;
    ws_->text(m.text);
    try {
      auto sending = write_bounded(m);
      co_await std::move(sending);
    } catch (...) {
      writing_ = false;
      throw;
    }
    writing_ = false;
    if (pending_close_) {
      auto [code, reason] = std::move(*pending_close_);
      pending_close_.reset();
      start_close(code, std::move(reason));
    }
  }

  bool closing() const noexcept { return closing_; }

  // What a queued message counts against --max-queue: its bytes and its
  // place in the queue, so a flood of empty messages is bounded too.
  static std::uint64_t queue_cost(const message& m) { return m.size() + 64; }
  bool idle_expired() const noexcept { return idle_expired_; }

  // --idle-timeout, looked at every quarter of it for all clients at once
  // (no timer re-armed per message): a client that has sent nothing for
  // half of it is pinged; one silent for all of it, not even a pong, is
  // closed, and its reader ends.
  void check_idle(core::duration idle_timeout) {
    const auto read = ws_->next_layer().conn().bytes_read();
    if (read != seen_) {
      seen_ = read;
      silent_looks_ = 0;
      return;
    }
    if (closing_) {
      // Beast bounds the Close handshake by --header-timeout once it has
      // begun; a Close waiting for a message still being written (to a
      // client that takes a byte now and then) is bounded here.
      if (writing_ && std::chrono::steady_clock::now() - closing_since_ > args_.http.header_timeout) {
        core::log::info("{}: the last message is still not taken {} after the close began: closing", peer_,
                        core::format_duration(args_.http.header_timeout));
        reset_connection(ws_->next_layer());
      }
      return;
    }
    ++silent_looks_;
    if (silent_looks_ == 2 && !ping_pending_) {  // Beast takes one ping at a time
      ping_pending_ = true;
      ws_->async_ping({}, [self = shared_from_this()](error_code ec) {
        self->ping_pending_ = false;
        if (ec) core::log::debug("{}: ping: {}", self->peer_, ec.message());
      });
    } else if (silent_looks_ >= 4) {
      idle_expired_ = true;
      core::log::info("{}: nothing received for {}, not even a pong: closing", peer_, core::format_duration(idle_timeout));
      beast_close_socket(ws_->next_layer());
    }
  }

 private:
  void start_close(websocket::close_code code, std::string reason) {
    asio::co_spawn(ws_->get_executor(), close_handshake(shared_from_this(), code, std::move(reason)), asio::detached);
  }

  awaitable<void> write_bounded(const message& m) {
    auto [ec, n] = co_await ws_->async_write(m.data.data(), use);
    if (ec) throw failure(ec, core::phase::write, peer_);
  }

  static awaitable<void> close_handshake(std::shared_ptr<session> self, websocket::close_code code, std::string reason) {
    auto [ec] = co_await self->ws_->async_close(websocket::close_reason(code, reason), use);
    if (ec) core::log::debug("{}: close: {}", self->peer_, ec.message());
  }

  std::unique_ptr<stream> ws_;
  const serve_args& args_;
  std::string peer_;
  bool queue_empty() const noexcept { return !queue_ || queue_->empty(); }

  // Made by the first message queued: libstdc++'s deque allocates 576
  // bytes before its first element, for every idle client.
  std::unique_ptr<std::deque<std::shared_ptr<const message>>> queue_;
  std::uint64_t queued_ = 0;
  asio::steady_timer wake_;
  bool writing_ = false;
  bool closing_ = false;
  std::uint64_t seen_ = 0;  // bytes read at the last idle look
  int silent_looks_ = 0;
  bool ping_pending_ = false;
  std::chrono::steady_clock::time_point closing_since_;
  bool idle_expired_ = false;
  std::optional<std::pair<websocket::close_code, std::string>> pending_close_;
};

class server : public std::enable_shared_from_this<server> {
 public:
  server(core::run_context& ctx, serve_args args) : ctx_(ctx), args_(std::move(args)) {}

  http::upgrade_hooks hooks() {
    http::upgrade_hooks h;
    h.protocol = "websocket";
    const bool tls = args_.http.tls.enabled || !args_.http.tls.cert.empty();
    h.plain_reply = fmt::format("426 Upgrade Required: this is a WebSocket server (try: nettool ws connect {}://HOST:PORT/)\n",
                                tls ? "wss" : "ws");
    h.admit = [self = shared_from_this()](const auto& req) { return self->admit(req); };
    h.take = [self = shared_from_this()](http::upgrade u) { return self->take(std::move(u)); };
    h.stop = [self = shared_from_this()] { self->stop(); };
    return h;
  }

 private:
  std::optional<http::refusal> admit(const bhttp::request<bhttp::string_body>& req) const {
    if (!args_.path.empty() && path_of(req.target()) != args_.path)
      return http::refusal{404, fmt::format("not {}", args_.path)};
    if (!args_.origins.empty() && req.count(bhttp::field::origin)) {
      const std::string origin(req[bhttp::field::origin]);
      if (std::find(args_.origins.begin(), args_.origins.end(), origin) == args_.origins.end())
        return http::refusal{403, fmt::format("origin {} not allowed", origin)};
    }
    return std::nullopt;
  }

  awaitable<void> take(http::upgrade u) {
    const auto self = shared_from_this();
    auto ws = std::make_unique<stream>(std::move(u.conn), std::move(u.leftover));
    configure(*ws, choose_subprotocol(u.request, args_.subprotocols));
    const auto peer = ws->next_layer().conn().peer();
    auto [ec] = co_await ws->async_accept(u.request, use);
    if (ec) {
      core::log::info("{}: handshake: {}", peer, ec.message());
      co_return;
    }
    const std::string target(u.request.target());
    u.request = {};  // its fields would be held for the WebSocket's whole life
    auto s = std::make_shared<session>(std::move(ws), args_);
    const membership member(sessions_, s);
    try {
      report_connected(peer, target);
      if (stopping_) s->close(websocket::close_code::going_away, "server stopping");
      auto running = run_session(s, target);
      co_await std::move(running);
    } catch (const core::error& e) {
      core::log::info("{}: {}", peer, e.describe());
      s->close(websocket::close_code::internal_error, "server error");
    }
    report_closed(peer, s->ws().reason());
  }

  // A session is in the room (broadcasts, the stop, the idle sweep) from
  // its handshake until its handler ends, however it ends.
  struct membership {
    membership(std::set<std::shared_ptr<session>>& room, std::shared_ptr<session> s) : room_(room), s_(std::move(s)) {
      room_.insert(s_);
    }
    ~membership() { room_.erase(s_); }
    membership(const membership&) = delete;
    membership& operator=(const membership&) = delete;
    std::set<std::shared_ptr<session>>& room_;
    std::shared_ptr<session> s_;
  };

  // -v logs each WebSocket's end; --json prints both ends as events (the
  // access log already shows the upgrade).
  void report_connected(const std::string& peer, const std::string& target) {
    if (!ctx_.json()) return;
    auto ev = core::peer_event("connected", peer);
    ev["path"] = path_of(target);
    if (const auto q = target.find('?'); q != std::string::npos) ev["query"] = target.substr(q + 1);
    ctx_.out().line(core::to_json(ev));
    ctx_.out().flush();
  }

  void report_closed(const std::string& peer, const websocket::close_reason& why) {
    core::log::info("{}: closed ({})", peer, why.code ? std::to_string(why.code) : std::string("no close code"));
    if (!ctx_.json()) return;
    auto ev = core::peer_event("disconnected", peer);
    if (why.code) ev["code"] = why.code;
    else ev["code"] = nullptr;
    ev["reason"] = std::string_view(why.reason.data(), why.reason.size());  // UTF-8: Beast checks a Close's reason
    ctx_.out().line(core::to_json(ev));
    ctx_.out().flush();
  }

  // The mode's coroutine, returned rather than awaited here: no frame of
  // its own held for the session's life.
  awaitable<void> run_session(std::shared_ptr<session> s, std::string_view target) {
    if (!args_.exec.empty()) {
      auto env = core::remote_environment(s->peer());
      const auto q = target.find('?');
      env.emplace_back("NETTOOL_PATH", std::string(target.substr(0, q)));
      env.emplace_back("NETTOOL_QUERY", q == std::string_view::npos ? std::string() : std::string(target.substr(q + 1)));
      return exec(std::move(s), std::move(env));
    }
    if (args_.stdio) return stdio_member(std::move(s));
    if (args_.broadcast) return chat(std::move(s));
    return echo(std::move(s));
  }

  void configure(stream& ws, const std::string& subprotocol) const {
    websocket::stream_base::timeout limits{};
    limits.handshake_timeout = args_.http.header_timeout;  // also bounds the Close handshake
    // --idle-timeout is the server's sweep (sweep_idle): Beast's own would
    // re-arm a timer for every message read.
    limits.idle_timeout = websocket::stream_base::none();
    limits.keep_alive_pings = false;
    ws.set_option(limits);
    ws.set_option(websocket::stream_base::decorator([subprotocol](websocket::response_type& res) {
      res.set(bhttp::field::server, "nettool/" NETTOOL_VERSION);
      if (!subprotocol.empty()) res.set(bhttp::field::sec_websocket_protocol, subprotocol);
    }));
    if (args_.compress) {
      websocket::permessage_deflate pmd;
      pmd.server_enable = true;
      ws.set_option(pmd);
    }
    ws.read_message_max(args_.max_message);  // larger: Beast closes with 1009
    ws.auto_fragment(false);
  }

  // The client's next message into `m`; false once the client's Close
  // (which Beast answers with its code) or our own ended the session.
  // The wait for a message's first bytes reads into a small buffer in this
  // frame: a reader waiting on an idle client holds 128 bytes, where
  // Beast's read into a growing buffer would hold 1.5 KiB prepared.
  static awaitable<bool> read_one(session& s, message& m) {
    std::array<char, 128> head;
    auto [ec, n] = co_await s.ws().async_read_some(asio::buffer(head), use);
    if (!read_went_on(s, ec)) co_return false;
    m.data.commit(asio::buffer_copy(m.data.prepare(n), asio::buffer(head.data(), n)));
    if (!s.ws().is_message_done()) {
      auto [rest_ec, rest] = co_await s.ws().async_read(m.data, use);
      if (!read_went_on(s, rest_ec)) co_return false;
    }
    m.text = s.ws().got_text();
    co_return true;
  }

  static bool read_went_on(session& s, error_code ec) {
    if (ec == websocket::error::closed || (ec && (s.closing() || s.idle_expired()))) return false;
    if (ec) throw failure(ec, core::phase::read, s.peer());
    return true;
  }

  // Reads until the end of the session, each message in a buffer of its own.
  template <class OnMessage>
  awaitable<void> read_messages(session& s, OnMessage on_message) {
    for (;;) {
      message m;
      auto reading = read_one(s, m);
      const bool more = co_await std::move(reading);
      if (!more) co_return;
      auto handling = on_message(std::move(m));
      co_await std::move(handling);
    }
  }

  // One buffer for every message of the session, written back before the
  // next is read; given back after a large one.
  static awaitable<void> echo(std::shared_ptr<session> s) {
    message m;
    for (;;) {
      auto reading = read_one(*s, m);
      const bool more = co_await std::move(reading);
      if (!more) co_return;
      auto sending = s->write(m);
      co_await std::move(sending);
      if (m.data.capacity() > 4096) m.data = {};
      else m.data.consume(m.data.size());
    }
  }

  awaitable<void> chat(std::shared_ptr<session> s) {
    auto writing = s->write_queue();
    auto reading = read_messages(*s, [this, s](message m) -> awaitable<void> {
      const auto shared = std::make_shared<const message>(std::move(m));
      for (const auto& other : sessions_)
        if (other != s) other->offer(shared);
      co_return;
    });
    co_await core::first_of(std::move(reading), std::move(writing));
  }

  // --exec: websocketd's contract. Messages go to the command's stdin, one
  // per line; its lines come back as text messages; its exit (once its
  // output is sent) closes with 1000. The client's Close ends its stdin,
  // and after a 2 s grace the command itself.
  awaitable<void> exec(std::shared_ptr<session> s, core::environment env) {
    core::line_process child(s->ws().get_executor(), args_.exec, std::move(env),
                             static_cast<std::size_t>(args_.max_message));
    core::event exited(s->ws().get_executor());
    auto child_side = child_then_close(child, s, exited);
    auto client_side = client_to_child(s, child, exited);
    co_await core::first_of(std::move(client_side), std::move(child_side));
  }

  // The child's life: its lines to the client until it exits, then Close
  // 1000. Never returns by itself: the reader sees the Close end and ends
  // the session (cancelling this ends a child still running).
  awaitable<void> child_then_close(core::line_process& child, std::shared_ptr<session> s, core::event& exited) {
    int status = -1;
    auto running = core::both(child_lifetime(child, status), child_to_client(child, s));
    co_await std::move(running);
    exited.set();
    if (status != 0) core::log::info("{}: --exec exited with {}", s->peer(), status);
    if (s->ws().is_open()) s->close(websocket::close_code::normal, "");
    auto forever = core::sleep_for(std::chrono::hours(24 * 365 * 100));
    co_await std::move(forever);
  }

  static awaitable<void> child_lifetime(core::line_process& child, int& status) { status = co_await child.run(); }

  static awaitable<void> child_to_client(core::line_process& child, std::shared_ptr<session> s) {
    for (;;) {
      auto line = co_await child.receive();
      if (!line) co_return;
      const auto m = message::of(*line, true);  // named: see docs/architecture.md on g++ 12
      co_await s->write(m);
    }
  }

  // The client's messages to the child. When the client has gone, the
  // child reads EOF and has 2 s to finish before it is ended.
  awaitable<void> client_to_child(std::shared_ptr<session> s, core::line_process& child, core::event& exited) {
    try {
      auto reading = read_messages(*s, [&child](message m) -> awaitable<void> { co_await child.send(m.view()); });
      co_await std::move(reading);
    } catch (const core::error& e) {
      core::log::info("{}: {}", s->peer(), e.describe());  // the command stopped reading
    }
    child.close_input();
    if (exited.is_set()) co_return;
    try {
      auto grace = core::with_timeout(exited.wait(), std::chrono::seconds(2), "exec", s->peer());
      co_await std::move(grace);
    } catch (const core::error&) {
      core::log::info("{}: --exec still running 2 s after the client left: ending it", s->peer());
    }
  }

  // --stdio: netcat's mode. Messages from every client go to stdout; each
  // stdin line goes to every client (queued as --broadcast's).
  awaitable<void> stdio_member(std::shared_ptr<session> s) {
    auto writing = s->write_queue();
    auto reading = read_messages(*s, [this](message m) -> awaitable<void> {
      if (ctx_.json()) ctx_.out().line(core::to_json(message_event(m.text ? "text" : "binary", m.view())));
      else ctx_.out().line(m.view());
      co_return;
    });
    co_await core::first_of(std::move(reading), std::move(writing));
  }

 public:
  // Looks at every client four times per --idle-timeout; never returns.
  awaitable<void> sweep_idle() {
    if (args_.idle_timeout <= core::duration::zero()) {  // --idle-timeout 0: no limit
      auto forever = core::sleep_for(std::chrono::hours(24 * 365 * 100));
      co_await std::move(forever);
    }
    for (;;) {
      auto pause = core::sleep_for(args_.idle_timeout / 4);
      co_await std::move(pause);
      for (const auto& s : sessions_) s->check_idle(args_.idle_timeout);
    }
  }

  // --stdio: stdin lines to every client, as long as the server runs.
  awaitable<void> stdin_to_clients() {
    const std::vector<std::string> none;
    core::message_source source(ctx_.executor(), none, false, static_cast<std::size_t>(args_.max_message));
    for (;;) {
      auto line = co_await source.next();
      if (!line) break;
      const auto shared = std::make_shared<const message>(message::of(*line, true));
      for (const auto& member : sessions_) member->offer(shared);
    }
    core::log::info("stdin ended; clients stay connected");
    auto forever = core::sleep_for(std::chrono::hours(24 * 365 * 100));
    co_await std::move(forever);
  }

 private:
  void stop() {
    stopping_ = true;
    for (const auto& s : sessions_) s->close(websocket::close_code::going_away, "server stopping");
  }

  core::run_context& ctx_;
  const serve_args args_;
  std::set<std::shared_ptr<session>> sessions_;
  bool stopping_ = false;
};

}  // namespace

awaitable<int> run_serve(core::run_context& ctx, const serve_args& args) {
  const auto srv = std::make_shared<server>(ctx, args);
  auto serving = http::run_serve(ctx, args.http, srv->hooks());
  // The server ends as always (a signal, --timeout); the idle sweep and
  // the stdin reader never do.
  int status = 0;
  auto serve_and_keep = [&]() -> awaitable<void> { status = co_await std::move(serving); };
  auto task = serve_and_keep();
  auto sweeping = srv->sweep_idle();
  if (!args.stdio) {
    co_await core::first_of(std::move(task), std::move(sweeping));
    co_return status;
  }
  auto reading = srv->stdin_to_clients();
  auto sweep_and_read = core::first_of(std::move(sweeping), std::move(reading));
  auto others = [&]() -> awaitable<void> { co_await std::move(sweep_and_read); };
  auto rest = others();
  co_await core::first_of(std::move(task), std::move(rest));
  co_return status;
}

}  // namespace nettool::ws
