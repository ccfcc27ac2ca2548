// ws serve: http serve's loop with an upgrade handler; each WebSocket is
// an echo, or a member of a chat room (--broadcast).
#include "ws.hpp"

#include "nettool/core/log.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/rfc7230.hpp>
#include <boost/beast/websocket/stream.hpp>

#include <deque>
#include <set>

namespace nettool::ws {
namespace {

namespace websocket = beast::websocket;
namespace bhttp = beast::http;
using core::errc;

constexpr auto use = asio::as_tuple(asio::use_awaitable);

struct message {
  std::string bytes;
  bool text = true;
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
  // A session stuck in a write gets no frame through: it is cut off.
  void close(websocket::close_code code, std::string reason) {
    if (closing_) return;
    closing_ = true;
    queue_.clear();
    wake_.cancel();
    if (writing_) {
      core::log::info("{}: closing ({}) while a write waits: cut off", peer_, static_cast<unsigned>(code));
      ws_->next_layer().conn().close();
      return;
    }
    asio::co_spawn(ws_->get_executor(), close_handshake(shared_from_this(), code, std::move(reason)), asio::detached);
  }

  // --broadcast: queues `m` for this member's writer; past --max-queue the
  // member is closed with 1008 and the others never wait for it.
  void offer(const std::shared_ptr<const message>& m) {
    if (closing_) return;
    if (queued_ + m->bytes.size() > args_.max_queue) {
      core::log::notice("{}: more than {} bytes queued for it: closing with 1008", peer_, args_.max_queue);
      close(websocket::close_code::policy_error, "too slow: queue full");
      return;
    }
    queued_ += m->bytes.size();
    queue_.push_back(m);
    wake_.cancel();
  }

  // Sends queued messages; once closing, only waits (the reader sees the
  // Close handshake end, and ends the session).
  awaitable<void> write_queue() {
    for (;;) {
      while (queue_.empty() || closing_) {
        wake_.expires_at(asio::steady_timer::time_point::max());
        co_await wake_.async_wait(use);  // cancelled by offer() and close() alike
        co_await core::throw_if_cancelled();
      }
      const auto m = queue_.front();
      queue_.pop_front();
      queued_ -= m->bytes.size();
      co_await write(*m);
    }
  }

  // One message out, within --send-timeout (a client that stops reading
  // cannot hold the server's memory or a write forever).
  awaitable<void> write(const message& m) {
    writing_ = true;
    ws_->text(m.text);
    auto sending = write_bounded(m);
    try {
      co_await core::with_timeout(std::move(sending), args_.http.send_timeout, "write", peer_);
    } catch (...) {
      writing_ = false;
      throw;
    }
    writing_ = false;
  }

  bool closing() const noexcept { return closing_; }

 private:
  awaitable<void> write_bounded(const message& m) {
    auto [ec, n] = co_await ws_->async_write(asio::buffer(m.bytes), use);
    if (ec) throw failure(ec, "write", peer_);
  }

  static awaitable<void> close_handshake(std::shared_ptr<session> self, websocket::close_code code, std::string reason) {
    auto [ec] = co_await self->ws_->async_close(websocket::close_reason(code, reason), use);
    if (ec) core::log::debug("{}: close: {}", self->peer_, ec.message());
  }

  std::unique_ptr<stream> ws_;
  const serve_args& args_;
  std::string peer_;
  std::deque<std::shared_ptr<const message>> queue_;
  std::uint64_t queued_ = 0;
  asio::steady_timer wake_;
  bool writing_ = false;
  bool closing_ = false;
};

class server : public std::enable_shared_from_this<server> {
 public:
  explicit server(serve_args args) : args_(std::move(args)) {}

  http::upgrade_hooks hooks() {
    http::upgrade_hooks h;
    h.protocol = "websocket";
    h.plain_reply = "426 Upgrade Required: this is a WebSocket server (try: nettool ws connect ws://HOST:PORT/)\n";
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
    auto s = std::make_shared<session>(std::move(ws), args_);
    sessions_.insert(s);
    if (stopping_) s->close(websocket::close_code::going_away, "server stopping");
    try {
      auto running = args_.broadcast ? chat(s) : echo(s);
      co_await std::move(running);
    } catch (const core::error& e) {
      core::log::info("{}: {}", peer, e.describe());
    }
    sessions_.erase(s);
    const auto& reason = s->ws().reason();
    core::log::info("{}: closed ({})", peer, static_cast<unsigned>(reason.code));
  }

  void configure(stream& ws, const std::string& subprotocol) const {
    websocket::stream_base::timeout limits{};
    limits.handshake_timeout = args_.http.header_timeout;  // also bounds the Close handshake
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

  // Reads until the client's Close (which Beast answers with its code).
  template <class OnMessage>
  awaitable<void> read_messages(session& s, OnMessage on_message) {
    beast::flat_buffer buffer;
    for (;;) {
      auto [ec, n] = co_await s.ws().async_read(buffer, use);
      if (ec == websocket::error::closed || (ec && s.closing())) co_return;
      if (ec) throw failure(ec, "read", s.peer());
      message m{beast::buffers_to_string(buffer.data()), s.ws().got_text()};
      buffer.consume(buffer.size());
      co_await on_message(std::move(m));
    }
  }

  awaitable<void> echo(std::shared_ptr<session> s) {
    auto reading = read_messages(*s, [s](message m) -> awaitable<void> { co_await s->write(m); });
    co_await std::move(reading);
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

  void stop() {
    stopping_ = true;
    for (const auto& s : sessions_) s->close(websocket::close_code::going_away, "server stopping");
  }

  const serve_args args_;
  std::set<std::shared_ptr<session>> sessions_;
  bool stopping_ = false;
};

}  // namespace

awaitable<int> run_serve(core::run_context& ctx, const serve_args& args) {
  const auto srv = std::make_shared<server>(args);
  auto task = http::run_serve(ctx, args.http, srv->hooks());
  co_return co_await std::move(task);
}

}  // namespace nettool::ws
