// Binds the amqp verbs' options (SPEC §2 amqp) to their structs, and the
// module's entry point.
#include "amqp.hpp"
#include "properties.hpp"

#include "nettool/core/error.hpp"
#include "nettool/core/protocol.hpp"

#include <CLI/CLI.hpp>

namespace nettool::amqp {
namespace {

using core::verb_table;

void add_client_options(CLI::App& cmd, client_args& args) {
  cmd.add_option("--url", args.url,
                 "Broker URL amqp://USER:PASS@HOST:PORT/VHOST?heartbeat=S&frame_max=B (else $AMQP_URL, else "
                 "amqp://guest:guest@localhost:5672)")
      ->type_name("URL");
  core::add_connect_options(cmd, args.connect);
  // --key is a binding key in amqp (SPEC §2): the client key is --cert-key.
  core::add_tls_client_options(cmd, args.tls, false, "--cert-key");
  core::add_timeout_options(cmd, args.timeouts, false, true);
  core::add_common_options(cmd, args.common);
}

void check_client(const client_args& args) {
  core::check_option([&] { parse_url(url_from_environment(args.url)); }, "--url");
  core::check_option([&] { core::validate(args.connect); });
}

void add_declare_queue(CLI::App& app, verb_table& verbs) {
  auto args = std::make_shared<queue_args>();
  auto* cmd = app.add_subcommand("declare-queue", "Declare a queue (idempotent) and print its name");
  cmd->add_option("name", args->queue, "The queue; empty: the broker names it")->required()->type_name("NAME");
  cmd->add_flag("--durable", args->durable, "Survives a broker restart");
  cmd->add_flag("--exclusive", args->exclusive, "Only this connection may use it (deleted when it closes)");
  cmd->add_flag("--auto-delete", args->auto_delete, "Deleted when its last consumer goes");
  cmd->add_option("--arg", args->args,
                  "x-argument KEY=VALUE (repeatable): x-message-ttl=60000, x-max-length=10, "
                  "x-overflow=reject-publish, x-dead-letter-exchange=dlx, …")
      ->type_name("KEY=VALUE");
  cmd->add_option("--type", args->type, "Queue type")->check(CLI::IsMember({"classic", "quorum", "stream"}));
  add_client_options(*cmd, args->client);
  cmd->footer(
      "Examples:\n"
      "  nettool amqp declare-queue tasks --durable\n"
      "  nettool amqp declare-queue limited --arg x-max-length=10 --arg x-overflow=reject-publish\n");
  cmd->callback([args] {
    check_client(args->client);
    core::check_option([&] { check_arguments(args->args, args->type, true); }, "--arg");
  });
  verbs.add(cmd, args->client.common, [args](core::run_context& ctx) { return run_declare_queue(ctx, *args); });
}

void add_delete_queue(CLI::App& app, verb_table& verbs) {
  auto args = std::make_shared<queue_args>();
  auto* cmd = app.add_subcommand("delete-queue", "Delete a queue and the messages in it");
  cmd->add_option("name", args->queue, "The queue")->required()->type_name("NAME");
  cmd->add_flag("--if-unused", args->if_unused, "Only if it has no consumers (else exit 7)");
  cmd->add_flag("--if-empty", args->if_empty, "Only if it holds no messages (else exit 7)");
  add_client_options(*cmd, args->client);
  cmd->footer("Examples:\n  nettool amqp delete-queue tasks --if-empty\n");
  cmd->callback([args] { check_client(args->client); });
  verbs.add(cmd, args->client.common, [args](core::run_context& ctx) { return run_delete_queue(ctx, *args); });
}

void add_purge(CLI::App& app, verb_table& verbs) {
  auto args = std::make_shared<queue_args>();
  auto* cmd = app.add_subcommand("purge", "Remove every ready message from a queue and print how many");
  cmd->add_option("name", args->queue, "The queue")->required()->type_name("QUEUE");
  add_client_options(*cmd, args->client);
  cmd->footer("Examples:\n  nettool amqp purge tasks\n");
  cmd->callback([args] { check_client(args->client); });
  verbs.add(cmd, args->client.common, [args](core::run_context& ctx) { return run_purge(ctx, *args); });
}

void add_publish(CLI::App& app, verb_table& verbs) {
  auto args = std::make_shared<publish_args>();
  auto* cmd =
      app.add_subcommand("publish",
                         "Publish messages: --body, --body-file, or stdin one per line (--binary: all of it as one); "
                         "exit 0 once the broker confirmed every one");
  cmd->add_option("-e,--exchange", args->exchange, "The exchange (default: \"\", the default exchange)")
      ->type_name("X");
  cmd->add_option("-r,--routing-key", args->routing_key, "The routing key (for the default exchange: the queue)")
      ->type_name("KEY");
  cmd->add_option("--body", args->body, "One message with this body")->type_name("TEXT");
  cmd->add_option("--body-file", args->body_file, "One message with the file's bytes as its body")->type_name("FILE");
  cmd->add_flag("--binary", args->binary, "All of stdin is one message, as is");
  cmd->add_flag("--persistent", args->persistent, "delivery-mode 2: kept on disk by durable queues");
  cmd->add_flag("--mandatory", args->mandatory, "A message no queue takes is returned, and exits 7");
  cmd->add_flag("--no-confirm", args->no_confirm, "No publisher confirms: exit 0 once sent");
  cmd->add_option("--content-type", args->content_type, "The content-type property")->type_name("TYPE");
  cmd->add_option("-H,--header", args->headers, "A header KEY=VALUE (repeatable)")->type_name("KEY=VALUE");
  cmd->add_option("--property", args->properties,
                  "A property NAME=VALUE (repeatable): reply-to, correlation-id, message-id, expiration, "
                  "priority, type, app-id, user-id, content-encoding, timestamp, delivery-mode")
      ->type_name("NAME=VALUE");
  cmd->add_option("--confirm-window", args->window, "Messages published and not yet confirmed, at most")
      ->default_str("1000");
  add_client_options(*cmd, args->client);
  cmd->footer(
      "Examples:\n"
      "  seq 1000 | nettool amqp publish --routing-key tasks\n"
      "  nettool amqp publish -e logs -r app.error --body 'disk full' --persistent -H source=db1\n"
      "  nettool amqp publish -r images --binary --content-type image/png < logo.png\n");
  cmd->callback([args] {
    check_client(args->client);
    if (args->body && !args->body_file.empty())
      throw CLI::ValidationError("--body-file", "one of --body and --body-file");
    if (args->binary && (args->body || !args->body_file.empty()))
      throw CLI::ValidationError("--binary", "reads stdin: not with --body or --body-file");
    core::check_option([&] { make_properties(args->content_type, args->persistent, args->headers, args->properties); });
  });
  verbs.add(cmd, args->client.common, [args](core::run_context& ctx) { return run_publish(ctx, *args); });
}

void add_consume(CLI::App& app, verb_table& verbs) {
  auto args = std::make_shared<consume_args>();
  auto* cmd = app.add_subcommand(
      "consume", "Print each message of QUEUE on a line (--json: with its properties), acked once written");
  cmd->add_option("queue", args->queue, "The queue (not with --exchange)")->type_name("QUEUE");
  cmd->add_option("-e,--exchange", args->exchange,
                  "Consume what X routes to a private queue (exclusive, deleted when we go) bound with each --key")
      ->type_name("X");
  cmd->add_option("-k,--key", args->keys, "A binding key for --exchange (repeatable; default \"\")")->type_name("KEY");
  core::add_count_option(*cmd, args->count, "Stop after N messages (the rest stay in the queue)");
  auto* prefetch =
      cmd->add_option("--prefetch", args->prefetch, "Unacked messages the broker sends ahead (0: no limit)")
          ->default_str("100 (with --exec: --concurrency)");
  cmd->add_option("--exec", args->exec,
                  "Run CMD (sh -c) per message, the body on its stdin and NETTOOL_AMQP_* set: ack when it exits 0, "
                  "reject otherwise")
      ->type_name("CMD");
  cmd->add_option("--concurrency", args->concurrency, "--exec commands running at once")
      ->default_str("1")
      ->check(CLI::Range(1u, 1000u));
  cmd->add_option("--offset", args->offset,
                  "Stream queues: where to start: first, last, next, an offset, or a UTC time (2026-12-01T08:00:00Z)")
      ->type_name("WHERE");
  cmd->add_flag("--reconnect", args->reconnect,
                "Consume again after a lost connection, with the --retry-delay backoff (--retries: at most that many "
                "in a row)");
  cmd->add_flag("--requeue", args->requeue, "--exec: requeue the message of a failed command instead of rejecting it");
  cmd->add_flag("--no-ack", args->no_ack, "The broker forgets each message as it sends it (faster; lost if we die)");
  add_client_options(*cmd, args->client);
  cmd->footer(
      "Examples:\n"
      "  nettool amqp consume tasks\n"
      "  nettool amqp consume tasks --count 10 --json\n"
      "  nettool amqp consume --exchange logs --key 'app.*' --key audit\n"
      "  nettool amqp consume tasks --exec ./work.sh --concurrency 4\n");
  cmd->callback([args, prefetch] {
    check_client(args->client);
    args->prefetch_given = prefetch->count() > 0;
    if (args->count && args->client.common.timeout) {
      // The verb bounds itself: --count not reached in time exits 9 (SPEC §1).
      args->count_limit = args->client.common.timeout;
      args->client.common.timeout.reset();
    }
    if (args->exec.empty() && (args->requeue || args->concurrency != 1))
      throw CLI::ValidationError(args->requeue ? "--requeue" : "--concurrency", "goes with --exec");
    core::check_option([&] { stream_offset(args->offset); }, "--offset");
    if (!args->offset.empty() && args->no_ack)
      throw CLI::ValidationError("--offset", "stream queues need acks: not with --no-ack");
    if (!args->exec.empty() && args->no_ack)
      throw CLI::ValidationError("--no-ack", "not with --exec: a message is acked or rejected by its command's exit");
    if (args->queue.empty() == args->exchange.empty())
      throw CLI::ValidationError("queue", "give a QUEUE, or --exchange X to consume through a private queue");
    if (!args->keys.empty() && args->exchange.empty())
      throw CLI::ValidationError("--key", "binds the private queue of --exchange");
  });
  verbs.add(cmd, args->client.common, [args](core::run_context& ctx) { return run_consume(ctx, *args); });
}

void add_declare_exchange(CLI::App& app, verb_table& verbs) {
  auto args = std::make_shared<exchange_args>();
  auto* cmd = app.add_subcommand("declare-exchange", "Declare an exchange (idempotent) and print its name");
  cmd->add_option("name", args->exchange, "The exchange")->required()->type_name("NAME");
  cmd->add_option("-t,--type", args->type, "direct, fanout, topic, headers (or a plugin's type)")
      ->default_str("direct");
  cmd->add_flag("--durable", args->durable, "Survives a broker restart");
  cmd->add_flag("--auto-delete", args->auto_delete, "Deleted when its last binding goes");
  cmd->add_flag("--internal", args->internal, "Takes messages only from other exchanges");
  cmd->add_option("--arg", args->args, "An argument KEY=VALUE (repeatable), e.g. alternate-exchange=unrouted")
      ->type_name("KEY=VALUE");
  add_client_options(*cmd, args->client);
  cmd->footer(
      "Examples:\n"
      "  nettool amqp declare-exchange logs --type topic --durable\n"
      "  nettool amqp declare-exchange events --type fanout\n");
  cmd->callback([args] {
    check_client(args->client);
    if (args->type.empty()) throw CLI::ValidationError("--type", "must not be empty");
    core::check_option([&] { check_arguments(args->args, {}, true); }, "--arg");
  });
  verbs.add(cmd, args->client.common, [args](core::run_context& ctx) { return run_declare_exchange(ctx, *args); });
}

void add_delete_exchange(CLI::App& app, verb_table& verbs) {
  auto args = std::make_shared<exchange_args>();
  auto* cmd = app.add_subcommand("delete-exchange", "Delete an exchange and its bindings");
  cmd->add_option("name", args->exchange, "The exchange")->required()->type_name("NAME");
  cmd->add_flag("--if-unused", args->if_unused, "Only if no queue is bound to it (else exit 7)");
  add_client_options(*cmd, args->client);
  cmd->footer("Examples:\n  nettool amqp delete-exchange logs --if-unused\n");
  cmd->callback([args] { check_client(args->client); });
  verbs.add(cmd, args->client.common, [args](core::run_context& ctx) { return run_delete_exchange(ctx, *args); });
}

void add_bind_verb(CLI::App& app, verb_table& verbs, bool bind) {
  auto args = std::make_shared<bind_args>();
  auto* cmd = app.add_subcommand(bind ? "bind" : "unbind",
                                 bind ? "Bind QUEUE to EXCHANGE: what EXCHANGE routes with KEY goes to QUEUE"
                                      : "Remove the binding of QUEUE to EXCHANGE with KEY");
  cmd->add_option("queue", args->queue, "The queue")->required()->type_name("QUEUE");
  cmd->add_option("exchange", args->exchange, "The exchange")->required()->type_name("EXCHANGE");
  cmd->add_option("-k,--key", args->key, "The binding key (topic: words with * and #)")->type_name("KEY");
  cmd->add_option("--arg", args->args, "For headers exchanges: x-match=all|any and HEADER=VALUE to match (repeatable)")
      ->type_name("KEY=VALUE");
  add_client_options(*cmd, args->client);
  cmd->footer(bind ? "Examples:\n"
                     "  nettool amqp bind errors logs --key '*.error'\n"
                     "  nettool amqp bind eu orders --arg x-match=any --arg region=eu\n"
                   : "Examples:\n  nettool amqp unbind errors logs --key '*.error'\n");
  cmd->callback([args] {
    check_client(args->client);
    core::check_option([&] { check_arguments(args->args, {}, false); }, "--arg");
  });
  verbs.add(cmd, args->client.common, [args, bind](core::run_context& ctx) { return run_bind(ctx, *args, bind); });
}

void add_bind(CLI::App& app, verb_table& verbs) { add_bind_verb(app, verbs, true); }
void add_unbind(CLI::App& app, verb_table& verbs) { add_bind_verb(app, verbs, false); }

void add_wait(CLI::App& app, verb_table& verbs) {
  auto args = std::make_shared<wait_args>();
  auto* cmd = app.add_subcommand("wait", "Wait until the broker accepts a login (and --queue exists), then run CMD");
  cmd->add_option("--queue", args->queue, "A queue that must exist too")->type_name("NAME");
  core::add_duration_option(*cmd, "--interval", args->interval, "Pause between attempts")->default_str("250ms");
  add_client_options(*cmd, args->client);
  cmd->footer(
      "Examples:\n"
      "  nettool amqp wait --url amqp://guest:guest@127.0.0.1:5672 --timeout 60s\n"
      "  nettool amqp wait --queue tasks -- ./start-worker\n"
      "Exit 124 when it is not ready within --timeout (default 30s). Anything after -- runs once it is.\n");
  cmd->callback([args] {
    check_client(args->client);
    args->limit = args->client.common.timeout.value_or(std::chrono::seconds(30));
    args->client.common.timeout.reset();      // the verb bounds itself, to name the target
    args->client.timeouts.retry.retries = 0;  // the wait's own attempts are the retries
  });
  verbs.add(
      cmd, args->client.common, [args](core::run_context& ctx) { return run_wait(ctx, *args); }, &args->command);
}

void add_rpc(CLI::App& app, verb_table& verbs) {
  auto args = std::make_shared<rpc_args>();
  auto* cmd = app.add_subcommand(
      "rpc", "Send requests (--body, or a line each from stdin) and print each reply, in order (direct reply-to)");
  cmd->add_option("-e,--exchange", args->exchange, "The exchange (default: \"\")")->type_name("X");
  cmd->add_option("-r,--routing-key", args->routing_key, "The routing key: for the default exchange, the queue")
      ->required()
      ->type_name("KEY");
  cmd->add_option("--body", args->body, "One request with this body")->type_name("TEXT");
  cmd->add_option("--content-type", args->content_type, "The content-type property")->type_name("TYPE");
  cmd->add_option("-H,--header", args->headers, "A header KEY=VALUE (repeatable)")->type_name("KEY=VALUE");
  cmd->add_option("--property", args->properties, "A property NAME=VALUE (repeatable), as for publish")
      ->type_name("NAME=VALUE");
  add_client_options(*cmd, args->client);
  cmd->footer(
      "Examples:\n"
      "  nettool amqp rpc -r rpc_queue --body 30 --timeout 5s\n"
      "  printf '1\\n2\\n' | nettool amqp rpc -r rpc_queue --json\n"
      "--timeout is per request: no reply within it exits 124.\n");
  cmd->callback([args] {
    check_client(args->client);
    core::check_option([&] { make_properties(args->content_type, false, args->headers, args->properties); });
    for (const auto& p : args->properties)
      if (p.starts_with("reply-to=") || p.starts_with("correlation-id="))
        throw CLI::ValidationError("--property", "rpc sets reply-to and correlation-id itself");
    args->request_timeout = args->client.common.timeout;
    args->client.common.timeout.reset();  // per request, not for the whole run
  });
  verbs.add(cmd, args->client.common, [args](core::run_context& ctx) { return run_rpc(ctx, *args); });
}

void add_bench(CLI::App& app, verb_table& verbs) {
  auto args = std::make_shared<bench_args>();
  auto* cmd =
      app.add_subcommand("bench",
                         "Load the broker: --producers publishing with confirms to one queue that --consumers consume; "
                         "messages/s and publish-to-consume latency");
  cmd->add_option("--producers", args->producers, "Publishing connections")
      ->default_str("1")
      ->check(CLI::Range(1u, 1000u));
  cmd->add_option("--consumers", args->consumers, "Consuming connections")
      ->default_str("1")
      ->check(CLI::Range(1u, 1000u));
  core::add_size_option(*cmd, "--size", args->size, "Message size (at least 8: the send time)")->default_str("64");
  cmd->add_option("--queue", args->queue, "Use this queue (default: one of the run's own, deleted after it)")
      ->type_name("NAME");
  core::add_bench_options(*cmd, args->bench);
  add_client_options(*cmd, args->client);
  cmd->footer(
      "Examples:\n"
      "  nettool amqp bench --producers 2 --consumers 2 --size 1KiB --duration 10s\n"
      "  nettool amqp bench --rate 5000 --duration 30s --fail-if 'p99>20ms' --json\n"
      "-c N: unconfirmed messages per producer (default 1000). --rate is for all producers together.\n");
  auto* window = cmd->get_option("-c");
  cmd->callback([args, window] {
    check_client(args->client);
    args->window = window->count() > 0 ? args->bench.concurrency : 1000;
    if (args->size > 128u * 1024 * 1024)
      throw CLI::ValidationError("--size", "at most 128MiB (a message the broker takes)");
  });
  verbs.add(cmd, args->client.common, [args](core::run_context& ctx) { return run_bench(ctx, *args); });
}

void add_get(CLI::App& app, verb_table& verbs) {
  auto args = std::make_shared<get_args>();
  auto* cmd = app.add_subcommand("get", "Take one message from QUEUE and print it; exit 9 when the queue is empty");
  cmd->add_option("queue", args->queue, "The queue")->required()->type_name("QUEUE");
  cmd->add_flag("--requeue", args->requeue, "Put the message back after printing it");
  add_client_options(*cmd, args->client);
  cmd->footer("Examples:\n  nettool amqp get tasks --json\n");
  cmd->callback([args] { check_client(args->client); });
  verbs.add(cmd, args->client.common, [args](core::run_context& ctx) { return run_get(ctx, *args); });
}

void configure(CLI::App& app, verb_table& verbs, std::string_view only) {
  struct verb {
    const char* name;
    void (*add)(CLI::App&, verb_table&);
  };
  static constexpr verb all[] = {{"declare-queue", add_declare_queue},
                                 {"delete-queue", add_delete_queue},
                                 {"declare-exchange", add_declare_exchange},
                                 {"delete-exchange", add_delete_exchange},
                                 {"bind", add_bind},
                                 {"unbind", add_unbind},
                                 {"purge", add_purge},
                                 {"publish", add_publish},
                                 {"consume", add_consume},
                                 {"get", add_get},
                                 {"rpc", add_rpc},
                                 {"bench", add_bench},
                                 {"wait", add_wait}};
  bool known = false;
  for (const auto& v : all) known = known || only == v.name;
  for (const auto& v : all)
    if (!known || only == v.name) v.add(app, verbs);
}

}  // namespace

constexpr core::protocol_descriptor descriptor{
    "amqp",
    "AMQP 0-9-1 (RabbitMQ): declare-queue, declare-exchange, bind, unbind, "
    "delete-queue, delete-exchange, purge, publish, consume, get, rpc, wait, bench",
    &configure};

}  // namespace nettool::amqp

extern "C" const nettool::core::protocol_descriptor* nettool_protocol_v1() { return &nettool::amqp::descriptor; }
