// amqp rpc: a request per line (or --body), published with RabbitMQ's
// direct reply-to and a correlation id; the reply with that id is printed,
// others are ignored. One request at a time, so replies come out in order.
#include "properties.hpp"
#include "session.hpp"

#include "nettool/core/error.hpp"
#include "nettool/core/framing.hpp"
#include "nettool/core/log.hpp"
#include "nettool/core/output.hpp"

#include <fmt/format.h>
#include <boost/json.hpp>

#include <unistd.h>

namespace nettool::amqp {
namespace {

// RabbitMQ's pseudo-queue for replies: no queue to declare or delete.
const std::string reply_to = "amq.rabbitmq.reply-to";

bool has_correlation_id(const message& m, const std::string& id) {
  const auto* value = m.properties.if_contains("correlation-id");
  return value && value->is_string() && value->get_string() == id;
}

void print_reply(core::run_context& ctx, const message& m) {
  if (ctx.json()) {
    boost::json::object event{{"event", "message"}};
    core::add_payload(event, m.body);
    event["routing_key"] = m.routing_key;
    event["properties"] = m.properties;
    ctx.out().line(core::to_json(event));
  } else {
    ctx.out().line(m.body);
  }
}

// The reply to `id`; deliveries with other ids are ignored (a late reply to
// an earlier request that timed out, or someone else's).
awaitable<message> reply_for(session& s, const std::string& id, std::optional<core::duration> limit, std::uint64_t n) {
  const auto deadline = std::chrono::steady_clock::now() + limit.value_or(core::duration::zero());
  for (;;) {
    std::optional<session::inbox_item> got;
    if (limit) {
      const auto left = deadline - std::chrono::steady_clock::now();
      auto next = s.next_deliveries_within(std::max(left, core::duration::zero()));
      got = co_await std::move(next);
      if (!got)
        throw core::error(core::errc::timed_out, core::phase::timeout, {},
                          fmt::format("no reply to request {} within --timeout {}", n, core::format_duration(*limit)));
    } else {
      auto next = s.next_deliveries();
      got = co_await std::move(next);
    }
    auto& item = *got;
    s.consumed(item.messages);
    for (auto& m : item.messages) {
      if (has_correlation_id(m, id)) co_return std::move(m);
      core::log::debug("ignored a reply for another request ({} bytes)", m.body.size());
    }
    if (item.failure) std::rethrow_exception(item.failure);
  }
}

}  // namespace

awaitable<int> run_rpc(core::run_context& ctx, const rpc_args& args) {
  auto props = make_properties(args.content_type, false, args.headers, args.properties);
  std::vector<std::string> texts;
  if (args.body) texts.push_back(*args.body);

  session s(ctx, args.client, true);
  co_await s.open();
  // Consuming from amq.rabbitmq.reply-to (no acks) must come before the
  // first request that names it.
  auto listen = s.call([](amqp_connection_state_t conn) {
    amqp_basic_consume(conn, 1, bytes(reply_to), amqp_empty_bytes, 0, 1, 0, amqp_empty_table);
    check_reply(amqp_get_rpc_reply(conn), "consume " + reply_to);
  });
  co_await std::move(listen);
  s.start_deliveries(4096);

  auto& p = props->props;
  p._flags |= AMQP_BASIC_REPLY_TO_FLAG | AMQP_BASIC_CORRELATION_ID_FLAG;
  p.reply_to = bytes(reply_to);
  const std::string prefix = fmt::format("nettool-{}-", ::getpid());
  core::message_source in(ctx.executor(), texts, false, max_body);
  std::uint64_t n = 0;
  for (;;) {
    auto request = co_await in.next();
    if (!request) break;
    const std::string id = prefix + std::to_string(++n);
    const std::string body(*request);
    auto send = s.call([&](amqp_connection_state_t conn) {
      p.correlation_id = bytes(id);
      // mandatory: a request no queue takes comes back at once (exit 7)
      // instead of waiting for a reply that cannot come.
      check_status(amqp_basic_publish(conn, 1, bytes(args.exchange), bytes(args.routing_key), 1, 0, &p, bytes(body)),
                   "publish");
    });
    co_await std::move(send);
    auto wait = reply_for(s, id, args.request_timeout, n);
    const auto reply = co_await std::move(wait);
    print_reply(ctx, reply);
  }
  co_await s.close();
  co_return 0;
}

}  // namespace nettool::amqp
