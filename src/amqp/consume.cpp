// amqp consume and amqp get: each message written (and flushed) to stdout
// before it is acked, so a message is either in our output or still the
// broker's (redelivered to the next consumer).
#include "session.hpp"

#include "nettool/core/error.hpp"
#include "nettool/core/log.hpp"
#include "nettool/core/output.hpp"
#include "nettool/core/process.hpp"
#include "nettool/core/retry.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/channel.hpp>

#include <boost/json.hpp>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <ctime>
#include <limits>
#include <random>
#include <set>
#include <utility>

namespace nettool::amqp {
namespace {

// SPEC §1's message event plus what AMQP says about the message.
void print(core::run_context& ctx, const message& m) {
  auto& out = ctx.out();
  if (!ctx.json()) {
    // A large body goes out as it is, not copied into the buffer first.
    if (m.body.size() >= 64 * 1024)
      out.write(m.body);
    else
      out.buffer(m.body);
    out.buffer("\n");
    return;
  }
  boost::json::object event{{"event", "message"}};
  core::add_payload(event, m.body);
  event["exchange"] = m.exchange;
  event["routing_key"] = m.routing_key;
  event["delivery_tag"] = m.delivery_tag;
  event["redelivered"] = m.redelivered;
  event["properties"] = m.properties;
  out.buffer(core::to_json(event));
  out.buffer("\n");
}

// Where a stream queue's consumer stands (its deliveries carry
// x-stream-offset): a new subscription after a lost connection starts at
// the first message not handled, not at --offset again. A message given to
// an --exec command counts as handled once the command ended; those that
// ended after one that did not come again on the new subscription, and are
// skipped then (acked, not run twice, not counted twice).
class stream_position {
 public:
  void started(const message& m) {
    if (!m.stream_offset) return;
    running_.insert(*m.stream_offset);
    end_ = std::max(end_.value_or(0), *m.stream_offset + 1);
  }
  void finished(const message& m) {
    if (!m.stream_offset) return;
    running_.erase(*m.stream_offset);
    if (!running_.empty() && *m.stream_offset > *running_.begin()) done_.insert(*m.stream_offset);
    // A later subscription starts at resume(); this one, replaying after a
    // reconnect, has yet to deliver what lies at next_ and above.
    forget_below(std::min(resume().value_or(0), next_));
  }
  // A new subscription's first delivery: what lies before it is no longer
  // in the stream (retention), so it is not waited for.
  void first_delivery(const message& m) {
    if (!m.stream_offset) return;
    running_.erase(running_.begin(), running_.lower_bound(*m.stream_offset));
    forget_below(*m.stream_offset);
  }
  // Each delivery, in stream order: true when it was handled before the
  // connection was lost and is delivered again.
  bool already_done(const message& m) {
    if (!m.stream_offset) return false;
    next_ = *m.stream_offset + 1;
    return done_.erase(*m.stream_offset) > 0;
  }
  std::optional<std::int64_t> resume() const {
    if (!running_.empty()) return *running_.begin();
    return end_;
  }

 private:
  void forget_below(std::int64_t offset) { done_.erase(done_.begin(), done_.lower_bound(offset)); }

  std::set<std::int64_t> running_;
  std::set<std::int64_t> done_;      // finished, above the first one running
  std::optional<std::int64_t> end_;  // after the last one started
  // After the current subscription's last delivery (none yet: no bound).
  std::int64_t next_ = std::numeric_limits<std::int64_t>::max();
};

// Cancelled before the last ack: with the prefetch at --count, the broker
// has then sent nothing that was not handled.
void stop_consuming(session& s, const std::string& consumer_tag) {
  s.post([consumer_tag](amqp_connection_state_t conn) {
    // nowait: nothing to wait for (a broker that never answers cannot hold
    // us), and the frames after it are handled in order.
    amqp_basic_cancel_t cancel{};
    cancel.consumer_tag = bytes(consumer_tag);
    cancel.nowait = 1;
    check_status(amqp_send_method(conn, 1, AMQP_BASIC_CANCEL_METHOD, &cancel), "cancel");
  });
}

// Each message on a line; acked (all up to the last, at once) after the
// batch was written and flushed.
awaitable<void> print_each(core::run_context& ctx, session& s, const consume_args& args,
                           const std::string& consumer_tag, std::uint64_t& handled, stream_position& position) {
  const bool no_ack = args.no_ack;
  for (;;) {
    auto next = s.next_deliveries();
    auto item = co_await std::move(next);
    std::uint64_t last_tag = 0;
    std::size_t buffered = 0;
    for (const auto& m : item.messages) {
      if (args.count && handled == *args.count) break;  // left unacked: the broker requeues them at close
      print(ctx, m);
      position.started(m);
      position.finished(m);
      ++handled;
      last_tag = m.delivery_tag;
      // Many small messages, one write; large ones are not copied twice.
      buffered += m.body.size();
      if (buffered >= 256 * 1024) {
        ctx.out().flush();
        buffered = 0;
      }
    }
    ctx.out().flush();
    const bool done = args.count && handled == *args.count;
    if (done) stop_consuming(s, consumer_tag);
    // Written and flushed: now the broker may forget them.
    if (!no_ack && last_tag != 0)
      s.post([last_tag](amqp_connection_state_t conn) { check_status(amqp_basic_ack(conn, 1, last_tag, 1), "ack"); });
    s.consumed(item.messages);
    if (item.failure) std::rethrow_exception(item.failure);
    if (done) break;
  }
}

}  // namespace

// --offset first|last|next|N|TIMESTAMP as x-stream-offset's value.
amqp_field_value_t stream_offset(const std::string& text) {
  amqp_field_value_t v{};
  if (text.empty()) return v;
  if (text == "first" || text == "last" || text == "next") {
    v.kind = AMQP_FIELD_KIND_UTF8;
    v.value.bytes = amqp_cstring_bytes(text == "first" ? "first" : text == "last" ? "last" : "next");
    return v;
  }
  std::uint64_t n = 0;
  const auto* end = text.data() + text.size();
  if (const auto [p, ec] = std::from_chars(text.data(), end, n); ec == std::errc() && p == end) {
    v.kind = AMQP_FIELD_KIND_I64;
    v.value.i64 = static_cast<std::int64_t>(n);
    return v;
  }
  // An ISO 8601 UTC time, to the second: messages from then on.
  std::tm tm{};
  char zone = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%c", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
                  &tm.tm_min, &tm.tm_sec, &zone) == 7 &&
      zone == 'Z' && text.size() == 20) {
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    v.kind = AMQP_FIELD_KIND_TIMESTAMP;
    v.value.u64 = static_cast<std::uint64_t>(::timegm(&tm));
    return v;
  }
  throw core::error(core::errc::usage, "--offset", text,
                    "expected first, last, next, an offset (0, 1, …) or a UTC time such as 2026-12-01T08:00:00Z");
}

namespace {

// NETTOOL_AMQP_* for --exec: where the message came from and its properties
// (NETTOOL_AMQP_CONTENT_TYPE, …; headers as JSON in NETTOOL_AMQP_HEADERS).
core::environment message_environment(const message& m) {
  core::environment env{{"NETTOOL_AMQP_EXCHANGE", m.exchange},
                        {"NETTOOL_AMQP_ROUTING_KEY", m.routing_key},
                        {"NETTOOL_AMQP_DELIVERY_TAG", std::to_string(m.delivery_tag)},
                        {"NETTOOL_AMQP_REDELIVERED", m.redelivered ? "1" : "0"}};
  for (const auto& [key, value] : m.properties) {
    std::string name = "NETTOOL_AMQP_";
    for (const char c : key) name += c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (value.is_string())
      env.emplace_back(std::move(name), std::string(value.get_string()));
    else
      env.emplace_back(std::move(name), core::to_json(value));
  }
  return env;
}

// --exec: --concurrency commands at a time, one message each on its stdin;
// its output is printed whole once it exits, then the message is acked
// (exit 0) or rejected (dead-lettered, or --requeue'd).
awaitable<void> exec_each(core::run_context& ctx, session& s, const consume_args& args, const std::string& consumer_tag,
                          std::uint64_t& handled, stream_position& position) {
  namespace asio = core::asio;
  using task_channel = asio::experimental::channel<void(boost::system::error_code, message)>;
  task_channel tasks(ctx.executor(), 0);
  std::uint64_t rejected = 0;
  const bool requeue = args.requeue;

  auto feed = [&]() -> awaitable<void> {
    // Settled in earlier sessions (--reconnect) count toward --count too.
    const std::uint64_t remaining = args.count ? *args.count - std::min(*args.count, handled) : 0;
    std::uint64_t given = 0;
    bool first = true;
    for (;;) {
      auto next = s.next_deliveries();
      auto item = co_await std::move(next);
      s.consumed(item.messages);  // before they move: the prefetch bounds what waits here
      for (auto& m : item.messages) {
        if (std::exchange(first, false)) position.first_delivery(m);
        if (position.already_done(m)) {
          const auto tag = m.delivery_tag;
          s.post([tag](amqp_connection_state_t conn) { check_status(amqp_basic_ack(conn, 1, tag, 0), "ack"); });
          continue;
        }
        if (args.count && given == remaining) break;  // never run: requeued at close
        position.started(m);
        auto send = tasks.async_send(boost::system::error_code{}, std::move(m), asio::use_awaitable);
        co_await std::move(send);
        ++given;
      }
      if (item.failure) {
        tasks.close();
        std::rethrow_exception(item.failure);
      }
      if (args.count && given == remaining) {
        stop_consuming(s, consumer_tag);
        tasks.close();
        co_return;
      }
    }
  };
  auto work = [&]() -> awaitable<void> {
    for (;;) {
      auto take = tasks.async_receive(asio::as_tuple(asio::use_awaitable));
      auto [ec, m] = co_await std::move(take);
      if (ec) co_return;  // closed: nothing more to do
      const auto env = message_environment(m);
      auto run = core::run_filter(args.exec, env, m.body, max_body);
      int status = -1;
      try {
        auto result = co_await std::move(run);
        status = result.status;
        ctx.out().write(result.output);
      } catch (const core::error& e) {
        if (e.code() == core::errc::stdout_closed) throw;
        core::log::warn("message {}: {}", m.delivery_tag, e.describe());
      }
      // Stopped (a signal, --timeout, the connection gone): the command did
      // not finish, so its message is neither acked nor rejected; the broker
      // requeues it when the channel closes.
      const auto state = co_await asio::this_coro::cancellation_state;
      if (state.cancelled() != asio::cancellation_type::none)
        throw core::error(core::errc::interrupted, "exec", {}, "stopped");
      const auto tag = m.delivery_tag;
      if (status == 0) {
        s.post([tag](amqp_connection_state_t conn) { check_status(amqp_basic_ack(conn, 1, tag, 0), "ack"); });
      } else {
        ++rejected;
        core::log::warn("message {} rejected{}: the command {}", tag, requeue ? " and requeued" : "",
                        status < 0 ? "failed" : "exited " + std::to_string(status));
        s.post([tag, requeue](amqp_connection_state_t conn) {
          check_status(amqp_basic_reject(conn, 1, tag, requeue ? 1 : 0), "reject");
        });
      }
      position.finished(m);
      ++handled;
    }
  };
  std::vector<core::awaitable<void>> all;
  all.push_back(feed());
  for (unsigned i = 0; i < args.concurrency; ++i) all.push_back(work());
  auto everything = core::all_of(std::move(all));
  co_await std::move(everything);
  if (rejected) core::log::info("{} of {} messages rejected", rejected, handled);
}

awaitable<void> consume_all(core::run_context& ctx, const consume_args& args, const client_args& client,
                            std::uint64_t& handled, bool& subscribed, stream_position& position) {
  const auto resume = position.resume();
  amqp_field_value_t offset = stream_offset(args.offset);
  if (resume) {
    offset.kind = AMQP_FIELD_KIND_I64;
    offset.value.i64 = *resume;
    core::log::info("resuming the stream at offset {}", *resume);
  }
  const bool with_offset = resume || !args.offset.empty();
  session s(ctx, client, ctx.json() || !args.exec.empty());
  co_await s.open();
  // With --count N the broker need not send more than N unacked at once:
  // fewer messages are redelivered to the next consumer.
  // --exec: as many unacked as commands run at once, unless --prefetch says
  // otherwise (more would wait here, unavailable to other workers).
  std::uint16_t prefetch =
      args.prefetch_given || args.exec.empty() ? args.prefetch : static_cast<std::uint16_t>(args.concurrency);
  const std::uint64_t remaining = args.count ? *args.count - std::min(*args.count, handled) : 0;
  if (args.count && remaining < prefetch) prefetch = static_cast<std::uint16_t>(std::max<std::uint64_t>(remaining, 1));
  const std::string queue = args.queue;
  const bool no_ack = args.no_ack;
  std::string consumer_tag;
  std::string private_queue;
  auto subscribe =
      s.call([&args, &queue, &private_queue, &consumer_tag, &offset, with_offset, prefetch,
              no_ack](amqp_connection_state_t conn) {
        if (!args.exchange.empty()) {
          // --exchange: a queue of our own, named by the broker, gone with us.
          const auto* ok = amqp_queue_declare(conn, 1, amqp_empty_bytes, 0, 0, 1, 1, amqp_empty_table);
          check_reply(amqp_get_rpc_reply(conn), "declare a private queue");
          private_queue = text(ok->queue);
          const std::vector<std::string> no_key{""};
          for (const auto& key : args.keys.empty() ? no_key : args.keys) {
            amqp_queue_bind(conn, 1, bytes(private_queue), bytes(args.exchange), bytes(key), amqp_empty_table);
            check_reply(amqp_get_rpc_reply(conn), "bind to exchange " + args.exchange);
          }
        }
        const std::string& from = private_queue.empty() ? queue : private_queue;
        if (!no_ack) {
          amqp_basic_qos(conn, 1, 0, prefetch, 0);
          check_reply(amqp_get_rpc_reply(conn), "qos");
        }
        amqp_table_entry_t offset_entry{amqp_cstring_bytes("x-stream-offset"), offset};
        const amqp_table_t arguments{with_offset ? 1 : 0, &offset_entry};
        const auto* ok = amqp_basic_consume(conn, 1, bytes(from), amqp_empty_bytes, 0, no_ack ? 1 : 0, 0, arguments);
        check_reply(amqp_get_rpc_reply(conn), "consume " + from);
        consumer_tag = text(ok->consumer_tag);
      });
  co_await std::move(subscribe);
  subscribed = true;
  if (!private_queue.empty())
    core::log::info("consuming from exchange '{}' through queue '{}'", core::printable(args.exchange),
                    core::printable(private_queue));
  else
    core::log::info("consuming from queue '{}'{}", core::printable(queue), no_ack ? " (no acks)" : "");
  // --no-ack has no prefetch bound: the worker stops reading the socket
  // once this many messages wait for stdout.
  s.start_deliveries(no_ack || prefetch == 0 ? 4096 : prefetch);

  if (args.exec.empty())
    co_await print_each(ctx, s, args, consumer_tag, handled, position);
  else
    co_await exec_each(ctx, s, args, consumer_tag, handled, position);
  core::log::info("{} messages consumed", handled);
  co_await s.close();
}

// --reconnect: consume again after a lost connection, with the core's
// backoff (--retry-delay doubling to --retry-max-delay; --retries, when
// given, bounds the attempts in a row). What was printed and not yet acked
// when the connection went is delivered again: at least once.
awaitable<void> consume_reconnecting(core::run_context& ctx, const consume_args& args, std::uint64_t& handled,
                                     bool& subscribed) {
  std::optional<std::mt19937_64> rng;
  stream_position position;
  // --reconnect counts the attempts in a row here (--retries N bounds them):
  // a session's own connect retries would multiply them.
  client_args client = args.client;
  if (args.reconnect) client.timeouts.retry.retries = 0;
  for (int failures = 0;;) {
    const auto before = handled;
    std::string lost;
    try {
      co_await consume_all(ctx, args, client, handled, subscribed, position);
      co_return;
    } catch (const core::error& e) {
      if (!args.reconnect || !is_lost_connection(e)) throw;
      // --count reached: what is left is the close, whose failure is the answer.
      if (args.count && handled >= *args.count) throw;
      if (handled != before) failures = 0;  // it got somewhere: the backoff starts over
      ++failures;
      if (args.client.timeouts.retry.retries > 0 && failures > args.client.timeouts.retry.retries) throw;
      lost = e.describe();
    }
    if (!rng) rng.emplace(std::random_device{}());
    const auto delay = core::backoff_delay(args.client.timeouts.retry, failures, std::nullopt, *rng);
    core::log::warn("{}; reconnecting in {}", lost, core::format_duration(delay));
    auto pause = core::sleep_for(delay);
    co_await std::move(pause);
  }
}

}  // namespace

awaitable<int> run_consume(core::run_context& ctx, const consume_args& args) {
  std::uint64_t handled = 0;
  bool subscribed = false;
  if (!args.count_limit) {
    co_await consume_reconnecting(ctx, args, handled, subscribed);
    co_return 0;
  }
  // --count with --timeout: not reached in time is "nothing available" (9).
  try {
    auto bounded = core::with_timeout(consume_reconnecting(ctx, args, handled, subscribed), *args.count_limit,
                                      core::phase::timeout);
    co_await std::move(bounded);
  } catch (const core::error& e) {
    // Never subscribed (no login in time): a timeout, not "nothing available".
    if (e.code() != core::errc::timed_out || e.phase() != core::phase::timeout || !subscribed) throw;
    // Every message printed, the close cut short: the acks may not have
    // reached the broker, so this is a timeout, not "nothing available".
    if (handled >= *args.count)
      throw core::error(core::errc::timed_out, core::phase::timeout, {},
                        fmt::format("all {} messages were printed, but the close did not finish before --timeout {} "
                                    "(the broker may deliver them again)",
                                    handled, core::format_duration(*args.count_limit)));
    throw core::error(core::errc::nothing_available, core::phase::timeout, {},
                      fmt::format("{} of {} messages before --timeout {}", handled, *args.count,
                                  core::format_duration(*args.count_limit)));
  }
  co_return 0;
}

awaitable<int> run_get(core::run_context& ctx, const get_args& args) {
  session s(ctx, args.client, ctx.json());
  co_await s.open();
  const std::string queue = args.queue;
  std::optional<message> got;
  auto get = s.call([&s, &queue, &got](amqp_connection_state_t conn) {
    const auto reply = amqp_basic_get(conn, 1, bytes(queue), 0);
    check_reply(reply, "get " + queue);
    if (reply.reply.id == AMQP_BASIC_GET_EMPTY_METHOD) return;
    if (reply.reply.id != AMQP_BASIC_GET_OK_METHOD)
      throw core::error(core::errc::protocol, "get", queue, "unexpected reply");
    const auto* ok = static_cast<const amqp_basic_get_ok_t*>(reply.reply.decoded);
    message m;
    m.exchange = text(ok->exchange);
    m.routing_key = text(ok->routing_key);
    m.delivery_tag = ok->delivery_tag;
    m.redelivered = ok->redelivered;
    m.message_count = ok->message_count;
    s.read_content(m);
    got = std::move(m);
  });
  co_await std::move(get);
  if (!got) throw core::error(core::errc::nothing_available, "get", queue, "the queue is empty");
  print(ctx, *got);
  ctx.out().flush();
  const auto tag = got->delivery_tag;
  const bool requeue = args.requeue;
  auto settle = s.call([tag, requeue](amqp_connection_state_t conn) {
    if (requeue)
      check_status(amqp_basic_reject(conn, 1, tag, 1), "reject");
    else
      check_status(amqp_basic_ack(conn, 1, tag, 0), "ack");
  });
  co_await std::move(settle);
  co_await s.close();
  co_return 0;
}

}  // namespace nettool::amqp
