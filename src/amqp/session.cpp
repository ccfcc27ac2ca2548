#include "session.hpp"

#include "properties.hpp"

#include "nettool/core/connect.hpp"
#include "nettool/core/error.hpp"
#include "nettool/core/exec.hpp"
#include "nettool/core/log.hpp"
#include "nettool/core/output.hpp"
#include "nettool/core/retry.hpp"

#include <amqp_tcp_socket.h>

#include <fmt/format.h>
#include <boost/asio/post.hpp>

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <future>

namespace nettool::amqp {

namespace asio = core::asio;
namespace {

using clock = std::chrono::steady_clock;

timeval to_timeval(core::duration d) {
  if (d < core::duration::zero()) d = core::duration::zero();
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(d).count();
  return timeval{static_cast<time_t>(us / 1000000), static_cast<suseconds_t>(us % 1000000)};
}

// "404 NOT_FOUND - no queue 'x' in vhost '/'": the broker's own words.
std::string reply_text(std::uint16_t code, amqp_bytes_t text) {
  return fmt::format("{} {}", code, core::printable(amqp::text(text), true));
}

// 320 CONNECTION_FORCED: the broker is shutting down (or an operator closed
// us): the connection is lost, as SPEC's transient "connection lost", not
// a refusal of what we asked for.
constexpr std::uint16_t connection_forced = 320;

core::errc close_kind(std::uint16_t code) {
  return code == connection_forced ? core::errc::connect_failed : core::errc::peer_error;
}

bool is_connection_lost(int status) {
  return status == AMQP_STATUS_CONNECTION_CLOSED || status == AMQP_STATUS_SOCKET_ERROR ||
         status == AMQP_STATUS_SOCKET_CLOSED || status == AMQP_STATUS_HEARTBEAT_TIMEOUT;
}

}  // namespace

amqp_bytes_t bytes(const std::string& s) { return amqp_bytes_t{s.size(), const_cast<char*>(s.data())}; }
std::string text(amqp_bytes_t b) {
  return b.len ? std::string(static_cast<const char*>(b.bytes), b.len) : std::string();
}

bool is_lost_connection(const core::error& e) {
  return e.code() == core::errc::connect_failed || core::is_transient(e) ||
         (e.code() == core::errc::timed_out && e.phase() == core::phase::connect);
}

void check_status(int status, const std::string& phase) {
  if (status == AMQP_STATUS_OK) return;
  const std::string what = amqp_error_string2(status);
  if (status == AMQP_STATUS_TIMEOUT) throw core::error(core::errc::timed_out, phase, {}, what);
  if (is_connection_lost(status))
    throw core::error(core::errc::connect_failed, phase, {}, "the connection was lost (" + what + ")");
  if (status == AMQP_STATUS_BAD_AMQP_DATA || status == AMQP_STATUS_UNEXPECTED_STATE ||
      status == AMQP_STATUS_INCOMPATIBLE_AMQP_VERSION || status == AMQP_STATUS_UNKNOWN_CLASS ||
      status == AMQP_STATUS_UNKNOWN_METHOD || status == AMQP_STATUS_WRONG_METHOD)
    throw core::error(core::errc::protocol, phase, {}, what);
  throw core::error(core::errc::failure, phase, {}, what);
}

void throw_reply(const amqp_rpc_reply_t& reply, const std::string& phase) {
  switch (reply.reply_type) {
    case AMQP_RESPONSE_NORMAL:
      break;
    case AMQP_RESPONSE_NONE:
      throw core::error(core::errc::protocol, phase, {}, "the broker sent no reply");
    case AMQP_RESPONSE_LIBRARY_EXCEPTION:
      check_status(reply.library_error, phase);
      break;
    case AMQP_RESPONSE_SERVER_EXCEPTION:
      if (reply.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
        const auto* m = static_cast<const amqp_connection_close_t*>(reply.reply.decoded);
        throw core::error(close_kind(m->reply_code), phase, {},
                          "the broker closed the connection: " + reply_text(m->reply_code, m->reply_text));
      }
      if (reply.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
        const auto* m = static_cast<const amqp_channel_close_t*>(reply.reply.decoded);
        throw core::error(core::errc::peer_error, phase, {},
                          "the broker closed the channel: " + reply_text(m->reply_code, m->reply_text));
      }
      throw core::error(core::errc::protocol, phase, {}, fmt::format("unexpected method 0x{:08x}", reply.reply.id));
  }
  throw core::error(core::errc::failure, phase, {}, "no error");
}

void check_reply(const amqp_rpc_reply_t& reply, const std::string& phase) {
  if (reply.reply_type != AMQP_RESPONSE_NORMAL) throw_reply(reply, phase);
}

session::session(core::run_context& ctx, const client_args& args, bool want_properties)
    : ctx_(ctx),
      args_(args),
      url_(parse_url(url_from_environment(args.url))),
      want_properties_(want_properties),
      inbox_(std::make_shared<inbox_state>(ctx.executor())) {}

session::~session() {
  // Queued after every job still waiting: acks of what was written go first.
  auto closed = std::make_shared<std::promise<void>>();
  auto done = closed->get_future();
  const bool queued = worker_.post([this, closed] {
    close_on_worker(!tls_);
    closed->set_value();
  });
  // The io_context waits here, so the worker gets a bounded time: a broker
  // that takes no bytes (our acks block) or drips a message is cut off.
  if (queued && done.wait_for(std::chrono::seconds(2)) != std::future_status::ready) shut_socket();
  worker_.stop();
  // worker_'s destructor joins the thread.
}

void session::shut_socket() noexcept {
  // Under the lock: the worker forgets the descriptor (under it too) before
  // it closes it, so a number the system has handed out again is never hit.
  std::lock_guard lock(fd_mutex_);
  if (fd_ >= 0) ::shutdown(fd_, SHUT_RDWR);
}

void session::forget_socket() noexcept {
  std::lock_guard lock(fd_mutex_);
  fd_ = -1;
}

bool session::close_on_worker(bool handshake) noexcept {
  if (!conn_) return true;
  bool clean = true;
  if (open_ && handshake) {
    // Bounded: a broker that does not answer our close costs 2 s at most.
    const timeval limit{2, 0};
    amqp_set_rpc_timeout(conn_, &limit);
    clean = amqp_channel_close(conn_, 1, AMQP_REPLY_SUCCESS).reply_type == AMQP_RESPONSE_NORMAL;
    clean = amqp_connection_close(conn_, AMQP_REPLY_SUCCESS).reply_type == AMQP_RESPONSE_NORMAL && clean;
  }
  open_ = false;
  forget_socket();
  amqp_destroy_connection(conn_);  // closes the socket
  conn_ = nullptr;
  return clean;
}

awaitable<void> session::close() {
  // A posted job (an ack) that failed ends the verb with its error: what
  // it should have told the broker may not have reached it.
  std::function<void()> job = [this] {
    if (failure_) std::rethrow_exception(failure_);
    if (!close_on_worker(true))
      throw core::error(core::errc::connect_failed, "close", url_.shown,
                        "the broker did not answer our close: what we sent last may not have reached it");
  };
  std::function<void()> cancel = [this] { shut_socket(); };
  auto op = worker_.call(std::move(job), std::move(cancel));
  co_await std::move(op);
}

awaitable<void> session::open() {
  const auto deadline = clock::now() + args_.timeouts.connect_timeout;
  core::connect_options options = args_.connect;
  options.connect_timeout = args_.timeouts.connect_timeout;
  // As rabbitmq-c's own sockets: AMQP writes small frames one after another
  // (tune-ok then connection.open; a publish's last frame), and Nagle's
  // algorithm would hold each second one for the broker's delayed ACK, 40 ms.
  options.nodelay = true;
  options.servername = args_.tls.servername;
  const core::target to{url_.host, url_.port, {}};
  core::tls_context_ptr tls;
  if (url_.tls) {
    auto tls_options = args_.tls;
    tls_options.enabled = true;
    tls = core::make_client_context(tls_options);
  }
  // One attempt is the connection and the AMQP handshake: a peer that
  // drops us before the handshake is as transient as a refused connect.
  auto attempt = [&]() -> awaitable<int> {
    auto connection = co_await core::connect(to, options, tls);
    co_await handshake(std::move(connection), deadline);
    co_return 0;
  };
  co_await core::with_retries<int>(args_.timeouts.retry, attempt);
  core::log::info("logged in to vhost '{}' as {}", url_.vhost, url_.user);
}

awaitable<void> session::handshake(core::connection connection, clock::time_point deadline) {
  // rabbitmq-c takes the socket over: it polls and closes it from now on.
  // Under amqps:// the core made the TLS connection (every TLS option as in
  // other protocols), and rabbitmq-c gets a plain socket relayed to it.
  tls_ = url_.tls;
  const int fd = tls_ ? core::plain_socket_for(ctx_.executor(), std::move(connection), ctx_.connections())
                      : connection.socket().release();
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  std::function<void()> job = [this, fd, deadline] {
    conn_ = amqp_new_connection();
    amqp_socket_t* socket = amqp_tcp_socket_new(conn_);
    if (!socket) {
      ::close(fd);
      throw core::error(core::errc::failure, "connect", url_.shown, "rabbitmq-c could not make a socket");
    }
    amqp_tcp_socket_set_sockfd(socket, fd);
    {
      std::lock_guard lock(fd_mutex_);
      fd_ = fd;
    }
    try {
      login(deadline);
    } catch (...) {
      close_on_worker(false);  // a retry starts from a new connection
      throw;
    }
  };
  std::function<void()> cancel = [this] { shut_socket(); };
  auto op = worker_.call(std::move(job), std::move(cancel));
  co_await std::move(op);
}

void session::login(clock::time_point deadline) {
  auto handshake = to_timeval(deadline - clock::now());
  amqp_set_handshake_timeout(conn_, &handshake);
  // RabbitMQ tells a client of a consumer it cancelled (its queue deleted)
  // and of publishing it blocks only when the client says it understands.
  amqp_table_entry_t capabilities[] = {
      {amqp_cstring_bytes("consumer_cancel_notify"), {AMQP_FIELD_KIND_BOOLEAN, {.boolean = 1}}},
      {amqp_cstring_bytes("connection.blocked"), {AMQP_FIELD_KIND_BOOLEAN, {.boolean = 1}}}};
  amqp_table_entry_t client[] = {
      {amqp_cstring_bytes("product"), {AMQP_FIELD_KIND_UTF8, {.bytes = amqp_cstring_bytes("nettool")}}},
      {amqp_cstring_bytes("capabilities"), {AMQP_FIELD_KIND_TABLE, {.table = {2, capabilities}}}}};
  const amqp_table_t properties{2, client};
  const auto reply =
      amqp_login_with_properties(conn_, url_.vhost.c_str(), 0, url_.frame_max, url_.heartbeat, &properties,
                                 AMQP_SASL_METHOD_PLAIN, url_.user.c_str(), url_.password.c_str());
  if (reply.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION && reply.library_error == AMQP_STATUS_TIMEOUT)
    throw core::error(core::errc::timed_out, core::phase::connect, url_.shown,
                      "the broker did not finish the AMQP handshake within --connect-timeout");
  if (reply.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION && is_connection_lost(reply.library_error))
    // Before the broker said anything: a peer that is not (yet) a broker.
    throw core::error(core::errc::connect_failed, core::phase::connect, url_.shown,
                      "the peer closed the connection during the AMQP handshake (" +
                          std::string(amqp_error_string2(reply.library_error)) + ")");
  check_reply(reply, "login");
  open_ = true;
  amqp_channel_open(conn_, 1);
  check_reply(amqp_get_rpc_reply(conn_), "channel");
  // RPCs after the handshake (declare, confirm.select, qos) are awaited
  // calls, bounded by the verb's --timeout (which shuts the socket down).
  amqp_set_rpc_timeout(conn_, nullptr);
  heartbeat_ = amqp_get_heartbeat(conn_);  // what was negotiated: the lower of ours and the broker's
  // Between jobs the worker reads what comes (confirms, deliveries) and
  // keeps heartbeats going, also while a verb waits for its stdin.
  worker_.set_idle([this](int wake_fd) { idle(wake_fd); });
}

awaitable<void> session::call(std::function<void(amqp_connection_state_t)> job) {
  std::function<void()> run = [this, job = std::move(job)] {
    if (failure_) std::rethrow_exception(failure_);
    if (!conn_) throw core::error(core::errc::failure, "amqp", {}, "not connected");
    try {
      job(conn_);
    } catch (...) {
      // The connection is not used again (a failed publish may have left
      // half a message on it), and the worker stops reading: what the io
      // side reads of its counts from now on no longer changes.
      open_ = false;
      failure_ = std::current_exception();
      throw;
    }
  };
  std::function<void()> cancel = [this] { shut_socket(); };
  auto op = worker_.call(std::move(run), std::move(cancel));
  co_await std::move(op);
}

void session::post(std::function<void(amqp_connection_state_t)> job) {
  worker_.post([this, job = std::move(job)] {
    if (!conn_ || !open_) return;
    try {
      job(conn_);
    } catch (...) {
      open_ = false;
      failure_ = std::current_exception();
      fail_deliveries(failure_);
    }
  });
}

// --- frames the broker sends on its own -----------------------------------

bool session::read_frame(amqp_frame_t& frame, const timeval* timeout) {
  const int status = amqp_simple_wait_frame_noblock(conn_, &frame, const_cast<timeval*>(timeout));
  if (status == AMQP_STATUS_TIMEOUT) return false;
  if (status != AMQP_STATUS_OK) {
    open_ = false;
    check_status(status, "read");
  }
  return true;
}

void session::read_content(message& into) {
  // The frames of one message follow each other: the whole message has a
  // minute (a broker that drips one is cut off).
  const auto deadline = clock::now() + std::chrono::seconds(60);
  amqp_frame_t frame;
  auto next = [&](const char* what) {
    const auto left = to_timeval(deadline - clock::now());
    if (!read_frame(frame, &left))
      throw core::error(core::errc::timed_out, "read", {}, std::string("a message's ") + what + " stalled");
    // A close instead of the rest: the broker's words, exit 7.
    if (frame.frame_type == AMQP_FRAME_METHOD) {
      dispatch(frame);
      throw core::error(core::errc::protocol, "read", {}, std::string("a method frame instead of a message's ") + what);
    }
  };
  next("content header");
  if (frame.frame_type != AMQP_FRAME_HEADER || frame.channel != 1)
    throw core::error(core::errc::protocol, "read", {}, "expected a content header");
  const std::uint64_t size = frame.payload.properties.body_size;
  if (size > max_body)
    throw core::error(core::errc::protocol, "read", {},
                      fmt::format("a message of {} bytes announced (at most {} are accepted)", size, max_body));
  const auto& props = *static_cast<const amqp_basic_properties_t*>(frame.payload.properties.decoded);
  if (want_properties_) into.properties = properties_to_json(props);
  into.stream_offset = stream_offset_of(props);
  into.body.clear();
  into.body.reserve(static_cast<std::size_t>(size));
  while (into.body.size() < size) {
    next("body");
    if (frame.frame_type != AMQP_FRAME_BODY || frame.channel != 1)
      throw core::error(core::errc::protocol, "read", {}, "expected a content body frame");
    const auto& part = frame.payload.body_fragment;
    if (into.body.size() + part.len > size)
      throw core::error(core::errc::protocol, "read", {}, "a body longer than its header said");
    into.body.append(static_cast<const char*>(part.bytes), part.len);
    // Each frame's memory comes from the channel's pool: given back at once,
    // so a body in many small frames costs its size, not its frames.
    if (!amqp_frames_enqueued(conn_)) amqp_maybe_release_buffers_on_channel(conn_, 1);
  }
}

void session::dispatch(const amqp_frame_t& frame) {
  if (frame.frame_type != AMQP_FRAME_METHOD) {
    if (frame.frame_type == AMQP_FRAME_HEARTBEAT) return;
    throw core::error(core::errc::protocol, "read", {}, "content outside a message");
  }
  const auto id = frame.payload.method.id;
  const void* decoded = frame.payload.method.decoded;
  switch (id) {
    case AMQP_BASIC_DELIVER_METHOD: {
      const auto* m = static_cast<const amqp_basic_deliver_t*>(decoded);
      message msg;
      msg.exchange = text(m->exchange);
      msg.routing_key = text(m->routing_key);
      msg.delivery_tag = m->delivery_tag;
      msg.redelivered = m->redelivered;
      read_content(msg);
      pending_bytes_ += msg.body.size();
      pending_.push_back(std::move(msg));
      return;
    }
    case AMQP_BASIC_ACK_METHOD:
    case AMQP_BASIC_NACK_METHOD: {
      std::uint64_t tag;
      bool multiple;
      if (id == AMQP_BASIC_ACK_METHOD) {
        const auto* m = static_cast<const amqp_basic_ack_t*>(decoded);
        tag = m->delivery_tag;
        multiple = m->multiple;
      } else {
        const auto* m = static_cast<const amqp_basic_nack_t*>(decoded);
        tag = m->delivery_tag;
        multiple = m->multiple;
      }
      const std::uint8_t state = id == AMQP_BASIC_ACK_METHOD ? 1 : 2;
      if (tag < confirm_base_ || tag >= confirm_base_ + confirm_window_.size())
        throw core::error(core::errc::protocol, "confirm", {},
                          fmt::format("a confirm for unknown delivery tag {}", tag));
      const auto last = static_cast<std::size_t>(tag - confirm_base_);
      for (std::size_t i = multiple ? 0 : last; i <= last; ++i)
        if (confirm_window_[i] == 0) confirm_window_[i] = state;
      while (!confirm_window_.empty() && confirm_window_.front() != 0) {
        (confirm_window_.front() == 1 ? confirms_.acked : confirms_.nacked) += 1;
        confirm_window_.pop_front();
        ++confirm_base_;
      }
      // The first few by number; the total is in the verb's error.
      if (state == 2 && ++nack_reports_ <= 3)
        core::log::warn("the broker nacked message {}{}", tag, multiple ? " and those before it" : "");
      return;
    }
    case AMQP_BASIC_RETURN_METHOD: {
      const auto* m = static_cast<const amqp_basic_return_t*>(decoded);
      const auto why = reply_text(m->reply_code, m->reply_text);
      message returned;
      read_content(returned);
      ++confirms_.returned;
      if (reading_) {
        // An rpc request no queue took: its reply will never come.
        fail_deliveries(std::make_exception_ptr(core::error(
            core::errc::peer_error, "publish", {}, "the broker returned the request as unroutable (" + why + ")")));
        return;
      }
      if (confirms_.returned <= 3)
        core::log::warn("the broker returned a message ({}): exchange '{}', routing key '{}'", why,
                        core::printable(text(m->exchange)), core::printable(text(m->routing_key)));
      return;
    }
    case AMQP_CHANNEL_CLOSE_METHOD: {
      const auto* m = static_cast<const amqp_channel_close_t*>(decoded);
      const auto why = reply_text(m->reply_code, m->reply_text);
      amqp_channel_close_ok_t ok{};
      amqp_send_method(conn_, 1, AMQP_CHANNEL_CLOSE_OK_METHOD, &ok);
      // The connection is closed later, bounded (close_on_worker); no RPC here.
      open_ = false;
      throw core::error(core::errc::peer_error, "channel", {}, "the broker closed the channel: " + why);
    }
    case AMQP_CONNECTION_CLOSE_METHOD: {
      const auto* m = static_cast<const amqp_connection_close_t*>(decoded);
      const auto why = reply_text(m->reply_code, m->reply_text);
      amqp_connection_close_ok_t ok{};
      amqp_send_method(conn_, 0, AMQP_CONNECTION_CLOSE_OK_METHOD, &ok);
      open_ = false;
      throw core::error(close_kind(m->reply_code), "connection", {}, "the broker closed the connection: " + why);
    }
    case AMQP_BASIC_CANCEL_METHOD:
      throw core::error(core::errc::peer_error, "consume", {},
                        "the broker cancelled the consumer (the queue was deleted, or its node went down)");
    case AMQP_CONNECTION_BLOCKED_METHOD: {
      const auto* m = static_cast<const amqp_connection_blocked_t*>(decoded);
      core::log::warn("the broker blocks publishing on this connection: {}", core::printable(text(m->reason)));
      return;
    }
    case AMQP_CONNECTION_UNBLOCKED_METHOD:
      core::log::info("the broker unblocked publishing");
      return;
    default:
      core::log::debug("ignored AMQP method 0x{:08x} on channel {}", id, frame.channel);
  }
}

void session::drain() {
  const timeval now{0, 0};
  amqp_frame_t frame;
  while (read_frame(frame, &now)) {
    dispatch(frame);
    // Deliveries may come before start_deliveries ran: the bounds hold anyway.
    if (pending_.size() + backlog_.load() >= backlog_limit_.load()) break;
    if (pending_bytes_ + backlog_bytes_.load() >= max_backlog_bytes) break;
  }
  amqp_maybe_release_buffers(conn_);
}

void session::wait_confirms(std::uint64_t limit) {
  amqp_frame_t frame;
  while (confirms_.unconfirmed() > limit) {
    // A frame or the end: a broker that never confirms is bounded by the
    // verb's --timeout (which shuts the socket down) or its heartbeats.
    if (!read_frame(frame, nullptr)) continue;
    dispatch(frame);
    amqp_maybe_release_buffers(conn_);
  }
}

// --- deliveries ----------------------------------------------------------

void session::start_deliveries(std::size_t backlog_limit) {
  backlog_limit_ = std::max<std::size_t>(backlog_limit, 1);
  worker_.post([this] { reading_ = true; });
}

void session::idle(int wake_fd) {
  if (!conn_ || !open_) {
    pollfd p{wake_fd, POLLIN, 0};
    ::poll(&p, 1, -1);
    return;
  }
  try {
    const bool room = backlog_.load() < backlog_limit_.load() && backlog_bytes_.load() < max_backlog_bytes;
    if (room && (amqp_frames_enqueued(conn_) || amqp_data_in_buffer(conn_))) {
      drain();
    } else {
      pollfd p[2] = {{wake_fd, POLLIN, 0}, {fd_, static_cast<short>(room ? POLLIN : 0), 0}};
      // Heartbeats: rabbitmq-c sends ours and checks the broker's while it
      // waits for a frame, so the wait wakes at least every half interval.
      const int ms = heartbeat_ > 0 ? heartbeat_ * 500 : -1;
      const int n = ::poll(p, 2, ms);
      if (n == 0 || (p[1].revents != 0)) {
        if (n == 0) {
          // Lets rabbitmq-c send a heartbeat that is due.
          const timeval brief{0, 1000};
          amqp_frame_t frame;
          if (read_frame(frame, &brief)) dispatch(frame);
        }
        drain();
      }
    }
    if (!pending_.empty()) {
      backlog_ += pending_.size();
      backlog_bytes_ += pending_bytes_;
      pending_bytes_ = 0;
      deliver(std::move(pending_));
      pending_.clear();
    }
  } catch (...) {
    // Nobody may be waiting for deliveries (a publisher between batches):
    // the failure waits in the inbox, and the next call finds the
    // connection closed.
    reading_ = false;
    open_ = false;
    failure_ = std::current_exception();
    if (!pending_.empty()) deliver(std::move(pending_));
    pending_.clear();
    pending_bytes_ = 0;
    fail_deliveries(failure_);
  }
}

void session::deliver(std::vector<message> batch) {
  asio::post(ctx_.executor(), [inbox = inbox_, batch = std::move(batch)]() mutable {
    inbox->items.push_back(inbox_item{std::move(batch), nullptr});
    inbox->bell.try_send(boost::system::error_code{});
  });
}

void session::fail_deliveries(std::exception_ptr e) {
  asio::post(ctx_.executor(), [inbox = inbox_, e] {
    inbox->items.push_back(inbox_item{{}, e});
    inbox->bell.try_send(boost::system::error_code{});
  });
}

awaitable<session::inbox_item> session::next_deliveries() {
  const auto inbox = inbox_;
  while (inbox->items.empty()) {
    auto ring = inbox->bell.async_receive(asio::use_awaitable);
    co_await std::move(ring);
  }
  auto item = std::move(inbox->items.front());
  inbox->items.pop_front();
  co_return item;
}

// A parameter, not a lambda's capture: the frame keeps its own copy.
awaitable<void> session::wait_for_bell(std::shared_ptr<inbox_state> inbox) {
  auto wait = inbox->bell.async_receive(asio::use_awaitable);
  co_await std::move(wait);
}

awaitable<std::optional<session::inbox_item>> session::next_deliveries_within(core::duration limit) {
  const auto inbox = inbox_;
  if (inbox->items.empty()) {
    // Only the bell is raced: a batch stays in the inbox until taken below,
    // so a deadline that comes with it loses nothing.
    auto race = core::wait_at_most(wait_for_bell(inbox), limit);
    co_await std::move(race);
  }
  if (inbox->items.empty()) co_return std::nullopt;
  auto item = std::move(inbox->items.front());
  inbox->items.pop_front();
  co_return item;
}

void session::consumed(const std::vector<message>& batch) {
  std::size_t bytes = 0;
  for (const auto& m : batch) bytes += m.body.size();
  backlog_bytes_ -= bytes;
  backlog_ -= batch.size();
  // The worker may have stopped reading for either bound: let it look again.
  worker_.wake();
}

}  // namespace nettool::amqp
