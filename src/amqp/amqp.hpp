// The amqp adapter (SPEC §2 amqp: AMQP 0-9-1, RabbitMQ) on rabbitmq-c,
// built as the loadable module nettool-amqp.so: only `nettool amqp …` loads
// librabbitmq.
#pragma once

#include "nettool/core/bench.hpp"
#include "nettool/core/context.hpp"
#include "nettool/core/options.hpp"

#include <amqp.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace nettool::amqp {

using core::awaitable;

// SPEC §2 amqp's broker URL: amqp[s]://USER:PASS@HOST:PORT/VHOST?heartbeat=S&frame_max=B
struct broker_url {
  bool tls = false;
  std::string host = "localhost";
  std::uint16_t port = 5672;
  std::string user = "guest";
  std::string password = "guest";
  std::string vhost = "/";  // no path: "/"; a trailing slash alone: "" (RabbitMQ's URI spec)
  int heartbeat = 60;       // seconds; 0 turns heartbeats off
  int frame_max = 131072;
  std::string shown;  // for messages: the URL without its password
};

// --url, else NETTOOL_AMQP_URL, else AMQP_URL, else amqp://guest:guest@localhost:5672.
// Throws core::error (usage) naming what is wrong.
broker_url parse_url(const std::string& text);
std::string url_from_environment(const std::string& option);

// What every verb that talks to a broker takes.
struct client_args {
  core::common_options common;
  core::timeout_options timeouts;
  core::connect_options connect;
  core::tls_client_options tls;  // amqps://: --cacert, --cert/--key, --insecure, --servername
  std::string url;               // as given; resolved by url_from_environment at run time
};

struct queue_args {
  client_args client;
  std::string queue;
  bool durable = false;
  bool exclusive = false;
  bool auto_delete = false;
  std::vector<std::string> args;  // --arg k=v
  std::string type;               // --type classic|quorum|stream
  bool if_unused = false;         // delete-queue
  bool if_empty = false;
};

// --arg (and a queue's --type) checked at parse time: a bad one is a usage
// error. `typed`: x-arguments as numbers where RabbitMQ wants them; else
// (a headers binding) every value but x-match is the text it matches.
void check_arguments(const std::vector<std::string>& args, const std::string& queue_type, bool typed);

struct publish_args {
  client_args client;
  std::string exchange;
  std::string routing_key;
  std::optional<std::string> body;
  std::string body_file;
  bool binary = false;
  bool persistent = false;
  bool mandatory = false;
  bool no_confirm = false;
  std::string content_type;
  std::vector<std::string> headers;     // -H key=value
  std::vector<std::string> properties;  // --property name=value
  std::uint64_t window = 1000;          // unconfirmed messages in flight
};

struct exchange_args {
  client_args client;
  std::string exchange;
  std::string type = "direct";  // direct|fanout|topic|headers (or a plugin's)
  bool durable = false;
  bool auto_delete = false;
  bool internal = false;
  bool if_unused = false;  // delete-exchange
  std::vector<std::string> args;
};

struct bind_args {
  client_args client;
  std::string queue;
  std::string exchange;
  std::string key;
  std::vector<std::string> args;  // headers exchanges: x-match=all|any and the headers to match
};

struct consume_args {
  client_args client;
  std::string queue;  // empty with --exchange: a private queue
  std::string exchange;
  std::vector<std::string> keys;  // --key, repeatable
  std::optional<std::uint64_t> count;
  std::optional<core::duration> count_limit;  // --timeout with --count: not reached → exit 9
  std::uint16_t prefetch = 100;
  bool prefetch_given = false;
  bool no_ack = false;
  std::string exec;          // --exec CMD per message
  unsigned concurrency = 1;  // --concurrency N commands at once
  bool requeue = false;      // a failed command's message is requeued, not rejected
  std::string offset;        // --offset for stream queues
  bool reconnect = false;    // consume again after a lost connection
};

struct wait_args {
  client_args client;
  std::string queue;  // --queue: must exist too
  core::duration interval = std::chrono::milliseconds(250);
  core::duration limit = std::chrono::seconds(30);
  std::vector<std::string> command;
};

struct rpc_args {
  client_args client;
  std::string exchange;
  std::string routing_key;
  std::optional<std::string> body;
  std::string content_type;
  std::vector<std::string> headers;
  std::vector<std::string> properties;
  std::optional<core::duration> request_timeout;  // --timeout, per request
};

struct bench_args {
  client_args client;
  core::bench_options bench;  // -n, --duration, --rate (all producers together), --warmup, --fail-if
  std::string queue;          // --queue; default a queue of the run's own, deleted after it
  unsigned producers = 1;
  unsigned consumers = 1;
  std::size_t size = 64;
  std::uint64_t window = 1000;  // -c: unconfirmed messages per producer
};

struct get_args {
  client_args client;
  std::string queue;
  bool requeue = false;
};

// --offset's value for x-stream-offset (the empty text: none). Throws
// core::error (usage) naming what is wrong.
amqp_field_value_t stream_offset(const std::string& text);

awaitable<int> run_declare_queue(core::run_context& ctx, const queue_args& args);
awaitable<int> run_delete_queue(core::run_context& ctx, const queue_args& args);
awaitable<int> run_purge(core::run_context& ctx, const queue_args& args);
awaitable<int> run_declare_exchange(core::run_context& ctx, const exchange_args& args);
awaitable<int> run_delete_exchange(core::run_context& ctx, const exchange_args& args);
awaitable<int> run_bind(core::run_context& ctx, const bind_args& args, bool bind);
awaitable<int> run_wait(core::run_context& ctx, const wait_args& args);
awaitable<int> run_rpc(core::run_context& ctx, const rpc_args& args);
awaitable<int> run_bench(core::run_context& ctx, const bench_args& args);
awaitable<int> run_publish(core::run_context& ctx, const publish_args& args);
awaitable<int> run_consume(core::run_context& ctx, const consume_args& args);
awaitable<int> run_get(core::run_context& ctx, const get_args& args);

}  // namespace nettool::amqp
