// Queues: declare (typed --arg), delete, purge.
#include "session.hpp"

#include "nettool/core/error.hpp"
#include "nettool/core/log.hpp"
#include "nettool/core/output.hpp"

#include <boost/json.hpp>

#include <charconv>

namespace nettool::amqp {
namespace {

// x-arguments whose values RabbitMQ wants as numbers or booleans; any other
// argument is sent as it looks (a whole number, true/false, else text).
bool is_numeric_argument(std::string_view key) {
  for (std::string_view k :
       {"x-message-ttl", "x-expires", "x-max-length", "x-max-length-bytes", "x-max-priority", "x-delivery-limit",
        "x-max-age-bytes", "x-stream-max-segment-size-bytes", "x-quorum-initial-group-size"})
    if (key == k) return true;
  return false;
}

struct table_builder {
  std::vector<std::string> strings;
  std::vector<amqp_table_entry_t> entries;
  amqp_table_t table() { return amqp_table_t{static_cast<int>(entries.size()), entries.data()}; }
};

// --arg k=v (and --type) as a field table; a number where RabbitMQ needs
// one. Throws core::error (usage) naming the argument.
std::shared_ptr<table_builder> make_arguments(const std::vector<std::string>& args, const std::string& type,
                                              bool typed = true) {
  auto out = std::make_shared<table_builder>();
  out->strings.reserve(2 * args.size() + 2);
  auto keep = [&](std::string s) {
    out->strings.push_back(std::move(s));
    return amqp_bytes_t{out->strings.back().size(), out->strings.back().data()};
  };
  auto add = [&](const std::string& key, const std::string& value, const std::string& spec) {
    amqp_table_entry_t e{};
    e.key = keep(key);
    std::int64_t n = 0;
    const auto* end = value.data() + value.size();
    const auto [p, ec] = std::from_chars(value.data(), end, n);
    const bool whole = !value.empty() && ec == std::errc() && p == end;
    if (is_numeric_argument(key) && !whole)
      throw core::error(core::errc::usage, "--arg", spec, "'" + key + "' takes a whole number");
    if (!typed && key != "x-match") {
      e.value.kind = AMQP_FIELD_KIND_UTF8;
      e.value.value.bytes = keep(value);
    } else if (whole && (is_numeric_argument(key) || !key.starts_with("x-dead-letter"))) {
      e.value.kind = AMQP_FIELD_KIND_I64;
      e.value.value.i64 = n;
    } else if (value == "true" || value == "false") {
      e.value.kind = AMQP_FIELD_KIND_BOOLEAN;
      e.value.value.boolean = value == "true";
    } else {
      e.value.kind = AMQP_FIELD_KIND_UTF8;
      e.value.value.bytes = keep(value);
    }
    out->entries.push_back(e);
  };
  for (const auto& spec : args) {
    const auto eq = spec.find('=');
    if (eq == std::string::npos || eq == 0) throw core::error(core::errc::usage, "--arg", spec, "expected KEY=VALUE");
    add(spec.substr(0, eq), spec.substr(eq + 1), spec);
  }
  if (!type.empty()) add("x-queue-type", type, "--type " + type);
  return out;
}

}  // namespace

void check_arguments(const std::vector<std::string>& args, const std::string& queue_type, bool typed) {
  make_arguments(args, queue_type, typed);
}

namespace {

// A topology verb is one call: connect, `job`, close.
awaitable<void> one_call(core::run_context& ctx, const client_args& client,
                         std::function<void(amqp_connection_state_t)> job) {
  session s(ctx, client);
  co_await s.open();
  auto op = s.call(std::move(job));
  co_await std::move(op);
  co_await s.close();
}

// {"event":EVENT,"queue":…,"messages":N} with --json; else `plain` (if any).
void print_queue_event(core::run_context& ctx, const char* event, const std::string& queue, std::uint32_t messages,
                       const std::string& plain) {
  if (ctx.json())
    ctx.out().line(core::to_json(boost::json::object{{"event", event}, {"queue", queue}, {"messages", messages}}));
  else if (!plain.empty())
    ctx.out().line(plain);
}

}  // namespace

awaitable<int> run_declare_queue(core::run_context& ctx, const queue_args& args) {
  auto table = make_arguments(args.args, args.type);
  std::string name;
  std::uint32_t messages = 0, consumers = 0;
  std::function<void(amqp_connection_state_t)> job = [&](amqp_connection_state_t conn) {
    const auto* ok = amqp_queue_declare(conn, 1, bytes(args.queue), 0, args.durable, args.exclusive, args.auto_delete,
                                        table->table());
    check_reply(amqp_get_rpc_reply(conn), "declare-queue " + args.queue);
    name = text(ok->queue);
    messages = ok->message_count;
    consumers = ok->consumer_count;
  };
  // Named, not a temporary inside co_await (docs/architecture.md).
  auto op = one_call(ctx, args.client, std::move(job));
  co_await std::move(op);
  core::log::info("queue '{}': {} messages, {} consumers", core::printable(name), messages, consumers);
  if (ctx.json())
    ctx.out().line(core::to_json(
        boost::json::object{{"event", "queue"}, {"queue", name}, {"messages", messages}, {"consumers", consumers}}));
  else
    ctx.out().line(name);
  co_return 0;
}

awaitable<int> run_delete_queue(core::run_context& ctx, const queue_args& args) {
  std::uint32_t messages = 0;
  std::function<void(amqp_connection_state_t)> job = [&](amqp_connection_state_t conn) {
    const auto* ok = amqp_queue_delete(conn, 1, bytes(args.queue), args.if_unused, args.if_empty);
    check_reply(amqp_get_rpc_reply(conn), "delete-queue " + args.queue);
    messages = ok->message_count;
  };
  // Named, not a temporary inside co_await (docs/architecture.md).
  auto op = one_call(ctx, args.client, std::move(job));
  co_await std::move(op);
  core::log::info("queue '{}' deleted with {} messages", core::printable(args.queue), messages);
  print_queue_event(ctx, "deleted", args.queue, messages, {});
  co_return 0;
}

awaitable<int> run_purge(core::run_context& ctx, const queue_args& args) {
  std::uint32_t messages = 0;
  std::function<void(amqp_connection_state_t)> job = [&](amqp_connection_state_t conn) {
    const auto* ok = amqp_queue_purge(conn, 1, bytes(args.queue));
    check_reply(amqp_get_rpc_reply(conn), "purge " + args.queue);
    messages = ok->message_count;
  };
  // Named, not a temporary inside co_await (docs/architecture.md).
  auto op = one_call(ctx, args.client, std::move(job));
  co_await std::move(op);
  print_queue_event(ctx, "purged", args.queue, messages, std::to_string(messages));
  co_return 0;
}

awaitable<int> run_declare_exchange(core::run_context& ctx, const exchange_args& args) {
  auto table = make_arguments(args.args, {});
  std::function<void(amqp_connection_state_t)> job = [&](amqp_connection_state_t conn) {
    amqp_exchange_declare(conn, 1, bytes(args.exchange), bytes(args.type), 0, args.durable, args.auto_delete,
                          args.internal, table->table());
    check_reply(amqp_get_rpc_reply(conn), "declare-exchange " + args.exchange);
  };
  // Named, not a temporary inside co_await (docs/architecture.md).
  auto op = one_call(ctx, args.client, std::move(job));
  co_await std::move(op);
  core::log::info("exchange '{}' ({})", core::printable(args.exchange), core::printable(args.type));
  if (ctx.json())
    ctx.out().line(
        core::to_json(boost::json::object{{"event", "exchange"}, {"exchange", args.exchange}, {"type", args.type}}));
  else
    ctx.out().line(args.exchange);
  co_return 0;
}

awaitable<int> run_delete_exchange(core::run_context& ctx, const exchange_args& args) {
  std::function<void(amqp_connection_state_t)> job = [&](amqp_connection_state_t conn) {
    amqp_exchange_delete(conn, 1, bytes(args.exchange), args.if_unused);
    check_reply(amqp_get_rpc_reply(conn), "delete-exchange " + args.exchange);
  };
  // Named, not a temporary inside co_await (docs/architecture.md).
  auto op = one_call(ctx, args.client, std::move(job));
  co_await std::move(op);
  core::log::info("exchange '{}' deleted", core::printable(args.exchange));
  co_return 0;
}

awaitable<int> run_bind(core::run_context& ctx, const bind_args& args, bool bind) {
  auto table = make_arguments(args.args, {}, false);
  std::function<void(amqp_connection_state_t)> job = [&](amqp_connection_state_t conn) {
    if (bind)
      amqp_queue_bind(conn, 1, bytes(args.queue), bytes(args.exchange), bytes(args.key), table->table());
    else
      amqp_queue_unbind(conn, 1, bytes(args.queue), bytes(args.exchange), bytes(args.key), table->table());
    check_reply(amqp_get_rpc_reply(conn), (bind ? "bind " : "unbind ") + args.queue);
  };
  // Named, not a temporary inside co_await (docs/architecture.md).
  auto op = one_call(ctx, args.client, std::move(job));
  co_await std::move(op);
  core::log::info("queue '{}' {} exchange '{}' with key '{}'", core::printable(args.queue),
                  bind ? "bound to" : "unbound from", core::printable(args.exchange), core::printable(args.key));
  co_return 0;
}

}  // namespace nettool::amqp
