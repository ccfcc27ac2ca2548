// amqp consume and amqp get: each message written (and flushed) to stdout
// before it is acked, so a message is either in our output or still the
// broker's (redelivered to the next consumer).
#include "session.hpp"

#include "nettool/core/error.hpp"
#include "nettool/core/log.hpp"
#include "nettool/core/output.hpp"

#include <boost/json.hpp>

namespace nettool::amqp {
namespace {

// SPEC §1's message event plus what AMQP says about the message.
void print(core::run_context& ctx, const message& m) {
  auto& out = ctx.out();
  if (!ctx.json()) {
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

}  // namespace

awaitable<int> run_consume(core::run_context& ctx, const consume_args& args) {
  session s(ctx, args.client, ctx.json());
  co_await s.open();
  // With --count N the broker need not send more than N unacked at once:
  // fewer messages are redelivered to the next consumer.
  std::uint16_t prefetch = args.prefetch;
  if (args.count && *args.count < prefetch)
    prefetch = static_cast<std::uint16_t>(std::max<std::uint64_t>(*args.count, 1));
  const std::string queue = args.queue;
  const bool no_ack = args.no_ack;
  std::string consumer_tag;
  auto subscribe = s.call([&queue, &consumer_tag, prefetch, no_ack](amqp_connection_state_t conn) {
    if (!no_ack) {
      amqp_basic_qos(conn, 1, 0, prefetch, 0);
      check_reply(amqp_get_rpc_reply(conn), "qos");
    }
    const auto* ok =
        amqp_basic_consume(conn, 1, bytes(queue), amqp_empty_bytes, 0, no_ack ? 1 : 0, 0, amqp_empty_table);
    check_reply(amqp_get_rpc_reply(conn), "consume " + queue);
    consumer_tag = text(ok->consumer_tag);
  });
  co_await std::move(subscribe);
  core::log::info("consuming from queue '{}'{}", core::printable(queue), no_ack ? " (no acks)" : "");
  // --no-ack has no prefetch bound: the worker stops reading the socket
  // once this many messages wait for stdout.
  s.start_deliveries(no_ack || prefetch == 0 ? 4096 : prefetch);

  std::uint64_t handled = 0;
  for (;;) {
    auto next = s.next_deliveries();
    auto item = co_await std::move(next);
    std::uint64_t last_tag = 0;
    for (const auto& m : item.messages) {
      if (args.count && handled == *args.count) break;  // left unacked: the broker requeues them at close
      print(ctx, m);
      ++handled;
      last_tag = m.delivery_tag;
    }
    ctx.out().flush();
    const bool done = args.count && handled == *args.count;
    // Cancelled before the last ack: with the prefetch at --count, the
    // broker has then sent nothing we did not print.
    if (done)
      s.post([consumer_tag](amqp_connection_state_t conn) {
        amqp_basic_cancel(conn, 1, bytes(consumer_tag));
        check_reply(amqp_get_rpc_reply(conn), "cancel");
      });
    // Written and flushed: now the broker may forget them.
    if (!no_ack && last_tag != 0)
      s.post([last_tag](amqp_connection_state_t conn) { check_status(amqp_basic_ack(conn, 1, last_tag, 1), "ack"); });
    s.consumed(item.messages.size());
    if (item.failure) std::rethrow_exception(item.failure);
    if (done) break;
  }
  core::log::info("{} messages consumed", handled);
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
  co_return 0;
}

}  // namespace nettool::amqp
