// Binds the tcp verbs' options (SPEC §2 tcp) to their structs.
#include "tcp.hpp"

#include "nettool/core/protocol.hpp"

#include <CLI/CLI.hpp>

#include <algorithm>

namespace nettool::tcp {
namespace {

using core::verb_table;

// core::validate speaks core::error; the CLI wants its own exception type.
void validate_connect(const core::connect_options& options) {
  try {
    core::validate(options);
  } catch (const core::error& e) {
    throw CLI::ValidationError(e.where(), e.reason());
  }
}

void add_connect(CLI::App& app, verb_table& verbs) {
  auto args = std::make_shared<connect_args>();
  auto* cmd = app.add_subcommand("connect", "Connect to HOST PORT and pipe stdin/stdout through the connection");
  core::add_host_port(*cmd, args->host, args->port, false);
  cmd->add_option("--unix", args->unix_path, "Connect to a Unix domain socket instead of HOST PORT")->type_name("PATH");
  cmd->add_option("--send", args->send, "Send TEXT instead of reading stdin (repeatable, sent in order)")->type_name("TEXT");
  cmd->add_flag("--crlf", args->pump.crlf, "Turn LF line ends from stdin into CRLF (ncat -C)");
  auto* recv = cmd->add_flag("--recv-only")->description("Only receive; stdin is not read");
  auto* send = cmd->add_flag("--send-only")->description(
      "Only send; received data is dropped and stdin EOF ends the connection");
  recv->excludes(send);
  cmd->add_option("--eof", args->eof, "What stdin EOF does: shutdown (half-close), close, wait:DUR, ignore")
      ->default_str("shutdown");
  cmd->add_option("--exec", args->exec, "Connect CMD's stdin/stdout to the socket (/bin/sh -c)")->type_name("CMD");
  cmd->add_option("--expect", args->expect, "Exit 0 once the received stream matches REGEX, 10 if it ends first")
      ->type_name("REGEX");
  core::add_connect_options(*cmd, args->connect);
  core::add_tls_client_options(*cmd, args->tls);
  core::add_timeout_options(*cmd, args->timeouts);
  core::add_common_options(*cmd, args->common);
  cmd->footer(
      "Examples:\n"
      "  printf 'GET / HTTP/1.0\\r\\nHost: example.com\\r\\n\\r\\n' | nettool tcp connect example.com 80\n"
      "  nettool tcp connect --tls --cacert ca.pem db.internal 5433\n"
      "  nettool tcp connect --unix /run/app.sock --send 'PING'\n"
      "  nettool tcp connect --proxy socks5h://127.0.0.1:1080 internal.host 22\n");
  cmd->callback([cmd, args] {
    args->pump.send = cmd->count("--recv-only") == 0;
    args->pump.receive = cmd->count("--send-only") == 0;
    auto policy = core::parse_eof_policy(args->eof, args->pump);
    if (!policy) throw CLI::ValidationError("--eof", "'" + args->eof + "' is not one of shutdown, close, ignore, wait:DUR");
    args->pump = *policy;
    args->pump.idle_timeout = args->timeouts.idle_timeout;
    args->pump.json = args->common.json;  // SPEC §1: a data event per chunk read
    // HOST:PORT in one argument, as tcp wait takes it (and [::1]:PORT).
    if (args->port.empty() && !args->host.empty()) {
      if (const auto hp = core::parse_host_port(args->host)) {
        args->host = hp->host;
        args->port = std::to_string(hp->port);
      }
    }
    if (args->unix_path.empty() && (args->host.empty() || args->port.empty()))
      throw CLI::ValidationError("connect", "HOST and PORT are required (or HOST:PORT, or --unix PATH)");
    if (!args->unix_path.empty() && !args->host.empty())
      throw CLI::ValidationError("--unix", "takes the place of HOST PORT; give one or the other");
    validate_connect(args->connect);
    if (!args->expect.empty()) {
      try {
        core::expectation check(args->expect);
      } catch (const core::error& e) {
        throw CLI::ValidationError("--expect", e.reason());
      }
    }
    if (!args->send.empty() && !args->exec.empty())
      throw CLI::ValidationError("--send", "cannot be combined with --exec");
  });
  verbs.add(cmd, args->common, [args](core::run_context& ctx) { return run_connect(ctx, *args); });
}

void add_listen(CLI::App& app, verb_table& verbs) {
  auto args = std::make_shared<listen_args>();
  auto* cmd = app.add_subcommand("listen", "Accept a connection on PORT and pipe it to stdin/stdout");
  core::add_listen_options(*cmd, args->listen);
  cmd->add_option("--unix", args->listen.unix_path, "Listen on a Unix domain socket at PATH")->type_name("PATH");
  cmd->add_flag("-k,--keep-open", args->keep_open, "Keep accepting; connections are served concurrently");
  auto* echo = cmd->add_flag("--echo", args->echo, "Send back what each client sends");
  auto* discard = cmd->add_flag("--discard", args->discard, "Read and drop everything, counting bytes (-v)");
  auto* exec = cmd->add_option("--exec", args->exec, "Run CMD per connection with the socket as its stdin/stdout")
                   ->type_name("CMD");
  auto* broker = cmd->add_flag("--broker", args->broker, "Relay every client's data to every other client");
  cmd->add_flag("--chat", args->chat, "A chat server: --broker with lines prefixed by a client id");
  echo->excludes(discard)->excludes(exec)->excludes(broker);
  discard->excludes(exec)->excludes(broker);
  exec->excludes(broker);
  cmd->add_option("--eof", args->eof, "What stdin EOF does: shutdown (half-close), close, wait:DUR, ignore")
      ->default_str("shutdown");
  core::add_duration_option(*cmd, "--send-timeout", args->send_timeout,
                            "--echo, --broker, --chat: close a client that takes no bytes for DUR (a broker's "
                            "senders wait for its slowest reader meanwhile)")
      ->default_str("10s");
  core::add_tls_server_options(*cmd, args->tls);
  core::add_timeout_options(*cmd, args->timeouts, true, false);  // a server retries nothing
  core::add_common_options(*cmd, args->common);
  cmd->footer(
      "Examples:\n"
      "  nettool tcp listen 9000 > received.bin\n"
      "  nettool tcp listen 0 --port-file port.txt --echo -k\n"
      "  nettool tcp listen 8443 --tls --cert cert.pem --key key.pem\n"
      "  nettool tcp listen 2323 --chat\n");
  cmd->callback([args] {
    auto policy = core::parse_eof_policy(args->eof, args->pump);
    if (!policy) throw CLI::ValidationError("--eof", "'" + args->eof + "' is not one of shutdown, close, ignore, wait:DUR");
    args->pump = *policy;
    args->pump.idle_timeout = args->timeouts.idle_timeout;
    args->pump.json = args->common.json;  // SPEC §1: a data event per chunk read
    if (args->chat) args->broker = true;
    if (args->broker) args->keep_open = true;
  });
  verbs.add(cmd, args->common, [args](core::run_context& ctx) { return run_listen(ctx, *args); });
}

void add_scan(CLI::App& app, verb_table& verbs) {
  auto args = std::make_shared<scan_args>();
  auto* cmd = app.add_subcommand("scan", "Print the open ports of HOST among PORTS, ascending");
  cmd->add_option("host", args->host, "Host name or address")->required()->type_name("HOST");
  cmd->add_option("ports", args->ports, "Ports like 22,80,8000-8100")->required()->type_name("PORTS");
  cmd->add_flag("--all", args->all, "Also report closed ports (with --json)");
  cmd->add_option("--concurrency", args->concurrency, "Connection attempts in flight")
      ->check(CLI::Range(1, 10000))
      ->default_str("100");
  core::add_connect_options(*cmd, args->connect);
  core::add_timeout_options(*cmd, args->timeouts, false);
  core::add_common_options(*cmd, args->common);
  cmd->footer(
      "Examples:\n"
      "  nettool tcp scan 127.0.0.1 1-1024\n"
      "  nettool tcp scan db.internal 5432,6379,9000-9100 --json --all\n");
  cmd->callback([args] {
    validate_connect(args->connect);
    if (!core::parse_port_list(args->ports))
      throw CLI::ValidationError("ports", "'" + args->ports + "' is not a port list like 22,80,8000-8100");
  });
  verbs.add(cmd, args->common, [args](core::run_context& ctx) { return run_scan(ctx, *args); });
}

void add_wait(CLI::App& app, verb_table& verbs) {
  auto args = std::make_shared<wait_args>();
  auto* cmd = app.add_subcommand("wait", "Wait until every HOST:PORT accepts connections, then run CMD");
  cmd->add_option("targets", args->targets, "HOST:PORT targets")->required()->type_name("HOST:PORT...");
  core::add_duration_option(*cmd, "--interval", args->interval, "Pause between attempts")->default_str("250ms");
  core::add_connect_options(*cmd, args->connect);
  core::add_timeout_options(*cmd, args->timeouts, false);
  core::add_common_options(*cmd, args->common);
  cmd->footer(
      "Examples:\n"
      "  nettool tcp wait 127.0.0.1:5432 --timeout 60s\n"
      "  nettool tcp wait db:5432 cache:6379 -- ./run-migrations\n"
      "Anything after -- is executed (replacing nettool) once every target is ready.\n");
  cmd->callback([args] {
    validate_connect(args->connect);
    // The verb bounds itself, so its timeout can name the targets not ready.
    args->limit = args->common.timeout.value_or(std::chrono::seconds(30));
    args->common.timeout.reset();
    for (const auto& t : args->targets)
      if (!core::parse_host_port(t)) throw CLI::ValidationError("targets", "'" + t + "' is not HOST:PORT");
  });
  verbs.add(cmd, args->common, [args](core::run_context& ctx) { return run_wait(ctx, *args); }, &args->command);
}

void add_bench(CLI::App& app, verb_table& verbs) {
  auto args = std::make_shared<bench_args>();
  auto* cmd = app.add_subcommand("bench", "Measure throughput (or --rr latency) against tcp listen --discard/--echo");
  core::add_host_port(*cmd, args->host, args->port);
  core::add_size_option(*cmd, "--bytes", args->bytes, "Bulk mode: bytes to send per connection")->default_str("1GiB");
  cmd->add_flag("--rr", args->rr, "Request/response mode: send --size bytes, wait for them back (needs --echo)");
  core::add_size_option(*cmd, "--size", args->size, "Request size in --rr mode")->default_str("64");
  core::add_bench_options(*cmd, args->bench);
  cmd->add_option("--connections", args->bench.concurrency, "Same as -c")->check(CLI::Range(1, 10000));
  core::add_connect_options(*cmd, args->connect);
  core::add_tls_client_options(*cmd, args->tls);
  core::add_timeout_options(*cmd, args->timeouts, false);
  core::add_common_options(*cmd, args->common);
  cmd->footer(
      "Examples:\n"
      "  nettool tcp listen 9000 -k --discard &  nettool tcp bench 127.0.0.1 9000 --bytes 4GiB\n"
      "  nettool tcp listen 9001 -k --echo &     nettool tcp bench 127.0.0.1 9001 --rr -c 4 -n 100000\n"
      "  nettool tcp bench 127.0.0.1 9001 --rr --rate 1000 -z 10s --fail-if 'p99>2ms' --json\n");
  cmd->callback([args] {
    validate_connect(args->connect);
    if (args->rr && args->size == 0) throw CLI::ValidationError("--size", "must be at least 1 byte");
    if (!args->rr && (args->bench.rate || args->bench.requests))
      throw CLI::ValidationError(args->bench.rate ? "--rate" : "-n", "applies to --rr mode; bulk mode uses --bytes or --duration");
  });
  verbs.add(cmd, args->common, [args](core::run_context& ctx) { return run_bench(ctx, *args); });
}

void configure(CLI::App& app, verb_table& verbs, std::string_view only) {
  using adder = void (*)(CLI::App&, verb_table&);
  static constexpr std::pair<std::string_view, adder> table[] = {
      {"connect", &add_connect},
      {"listen", &add_listen},
      {"scan", &add_scan},
      {"wait", &add_wait},
      {"bench", &add_bench},
  };
  const bool known = std::any_of(std::begin(table), std::end(table), [&](const auto& v) { return v.first == only; });
  for (const auto& [name, add] : table)
    if (!known || name == only) add(app, verbs);
}

constexpr core::protocol_descriptor descriptor{"tcp", "TCP and Unix stream sockets", &configure};

}  // namespace

const core::protocol_descriptor* describe() { return &descriptor; }

}  // namespace nettool::tcp
