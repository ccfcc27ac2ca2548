// Binds the ws verbs' options (SPEC §2 ws) to their structs.
#include "ws.hpp"

#include "nettool/core/protocol.hpp"
#include "nettool/http/client.hpp"

#include <CLI/CLI.hpp>

#include <algorithm>

namespace nettool::ws {
namespace {

using core::verb_table;

void add_message_options(CLI::App& cmd, message_options& m) {
  core::add_send_option(cmd, m.send);
  cmd.add_flag("--binary", m.binary, "Send stdin in raw chunks as binary messages; write messages raw, no line feed");
}

// What connect and bench share: the URL, the handshake, the route.
void add_client_options(CLI::App& cmd, client_args& c) {
  cmd.add_option("url", c.url, "ws:// or wss:// URL")->required()->type_name("URL");
  cmd.add_option("-H,--header", c.headers, "Extra handshake header 'Name: value' (repeatable; 'Name:' removes one)")
      ->type_name("HEADER");
  cmd.add_option("--subprotocol", c.subprotocols, "Offer subprotocol P (repeatable, in order of preference)")
      ->type_name("P");
  cmd.add_option("--origin", c.origin, "Origin header, as a browser page at ORIGIN would send")->type_name("ORIGIN");
  cmd.add_flag("--compress", c.compress, "Offer permessage-deflate compression");
  core::add_size_option(cmd, "--max-message-size", c.max_message, "Largest message received; larger: close 1009")
      ->default_str("64MiB");
  cmd.add_flag("-k", c.tls.insecure, "websocat's -k: --insecure");
  cmd.add_option("--unix-socket", c.unix_socket, "Connect to the Unix socket PATH")->type_name("PATH");
  cmd.add_option("--noproxy", c.noproxy, "Hosts reached directly: 'a.com,.b.org' or '*' (replaces NO_PROXY)")
      ->type_name("LIST");
  core::add_connect_options(cmd, c.connect);
  core::add_tls_client_options(cmd, c.tls, false);
  core::add_timeout_options(cmd, c.timeouts);
}

void check_client_options(const client_args& c) {
  core::check_option([&] { http_url_for(c.url); }, "url");
  core::check_option([&] { core::validate(c.connect); });
  core::check_option([&] {
    beast::http::fields scratch;
    http::add_headers(scratch, c.headers);
  }, "-H");
}

void add_connect(CLI::App& app, verb_table& verbs) {
  auto args = std::make_shared<connect_args>();
  auto* cmd = app.add_subcommand("connect", "Send stdin lines as messages to a WebSocket URL, print what comes back");
  add_client_options(*cmd, args->client);
  add_message_options(*cmd, args->messages);
  core::add_count_option(*cmd, args->messages.count, "Exit after N messages received (then Close)");
  core::add_expect_option(*cmd, args->messages.expect, "Exit 0 once a message matches REGEX, 10 if the peer closes first");
  core::add_duration_option(*cmd, "--ping-interval", args->ping_interval, "Send a ping every DUR (pong time at -v)");
  core::add_duration_option(*cmd, "--ping-timeout", args->ping_timeout, "With --ping-interval: no pong within DUR ends with 124");
  cmd->add_option("--close-code", args->close_code, "Code of our Close frame")->default_str("1000");
  cmd->add_option("--close-reason", args->close_reason, "Reason text of our Close frame (at most 123 bytes)")
      ->type_name("TEXT");
  core::add_duration_option(*cmd, "--close-timeout", args->close_grace,
                            "After our Close, read on for the peer's (and replies in flight) at most DUR")
      ->default_str("2s");
  cmd->add_flag("--reconnect", args->reconnect,
                "When the connection drops or the peer closes first, connect again (backoff: --retry-delay, "
                "--retry-max-delay); nothing sent is sent again");
  core::add_common_options(*cmd, args->common);
  cmd->footer(
      "Examples:\n"
      "  nettool ws connect ws://127.0.0.1:8080/\n"
      "  nettool ws connect wss://echo.example/ws --send hello --count 1\n"
      "  nettool ws connect ws://127.0.0.1:8080/chat --subprotocol chat.v1 --ping-interval 20s\n"
      "  nettool ws connect ws://127.0.0.1:8080/ --json --send '{\"op\":\"subscribe\"}' --expect ready\n"
      "At stdin EOF a Close goes out and replies still arriving are printed until the peer's Close.\n"
      "Exit 0 when the peer closes with 1000 or 1001, 7 for any other code or a rejected handshake.\n");
  cmd->callback([args] {
    check_client_options(args->client);
    if (!is_sendable_close_code(args->close_code))
      throw CLI::ValidationError("--close-code", "must be 1000-1003, 1007-1014 or 3000-4999 (RFC 6455 §7.4)");
    if (args->close_reason.size() > 123) throw CLI::ValidationError("--close-reason", "at most 123 bytes fit a Close frame");
    if (args->ping_timeout && !args->ping_interval) throw CLI::ValidationError("--ping-timeout", "needs --ping-interval");
    if (!args->messages.send.empty() && args->messages.binary)
      throw CLI::ValidationError("--binary", "applies to stdin, not to --send");
    if (args->messages.count && args->common.timeout) {
      // --count N not reached before --timeout is "nothing available" (9).
      args->count_limit = args->common.timeout;
      args->common.timeout.reset();
    }
  });
  verbs.add(cmd, args->common, [args](core::run_context& ctx) { return run_connect(ctx, *args); });
}

void add_serve(CLI::App& app, verb_table& verbs) {
  auto args = std::make_shared<serve_args>();
  auto& h = args->http;
  h.send_timeout = std::chrono::seconds(10);
  h.max_body = 64 * 1024;
  auto* cmd = app.add_subcommand("serve", "A WebSocket server: echo (default) or a chat room (--broadcast)");
  core::add_listen_options(*cmd, h.listen);
  auto* echo = cmd->add_flag("--echo", args->echo, "Send each message back to its sender (the default)");
  auto* broadcast = cmd->add_flag("--broadcast", args->broadcast, "Send each message to every other client: a chat room");
  auto* exec = cmd->add_option("--exec", args->exec,
                               "Run CMD (sh -c) per connection: messages to its stdin as lines, its lines back")
                   ->type_name("CMD");
  auto* stdio = cmd->add_flag("--stdio", args->stdio, "Messages to stdout; stdin lines to every client (netcat's mode)");
  echo->excludes(broadcast)->excludes(exec)->excludes(stdio);
  broadcast->excludes(exec)->excludes(stdio);
  exec->excludes(stdio);
  cmd->add_option("--path", args->path, "Accept WebSockets on path P only; others get 404")->type_name("P");
  cmd->add_option("--subprotocol", args->subprotocols, "Serve subprotocol P when a client offers it (repeatable)")
      ->type_name("P");
  cmd->add_option("--origin", args->origins, "Allow browsers from ORIGIN only (repeatable); others get 403")
      ->type_name("ORIGIN");
  core::add_size_option(*cmd, "--max-message-size", args->max_message, "Largest message; larger: close 1009")
      ->default_str("64MiB");
  core::add_size_option(*cmd, "--max-queue", args->max_queue,
                        "--broadcast: bytes queued for one slow client before it is closed with 1008")
      ->default_str("16MiB");
  cmd->add_flag("--compress", args->compress, "Accept permessage-deflate compression");
  core::add_duration_option(*cmd, "--header-timeout", h.header_timeout,
                            "The upgrade request (and a Close handshake) must complete within DUR")
      ->default_str("10s");
  core::add_duration_option(*cmd, "--idle-timeout", args->idle_timeout,
                            "Ping a client silent for half of DUR; close it if nothing comes back for DUR")
      ->default_str("60s");
  core::add_duration_option(*cmd, "--send-timeout", h.send_timeout,
                            "Close a client that takes no bytes of a message for DUR")
      ->default_str("10s");
  core::add_tls_server_options(*cmd, h.tls);
  core::add_common_options(*cmd, h.common);
  cmd->footer(
      "Examples:\n"
      "  nettool ws serve 8080\n"
      "  nettool ws serve 8080 --broadcast            # a chat room: nettool ws connect ws://127.0.0.1:8080/\n"
      "  nettool ws serve 0 --port-file port --path /ws --subprotocol chat.v1\n"
      "  nettool ws serve 8443 --tls --cert cert.pem --key key.pem\n"
      "  nettool ws serve 8080 --exec 'while read -r line; do echo \"you said: $line\"; done'\n"
      "  nettool ws serve 8080 --stdio                # websocat -s: what clients send to stdout, stdin to them\n"
      "Plain HTTP requests get 426. SIGINT/SIGTERM close every client with 1001.\n");
  cmd->callback([args] {
    if (!args->path.empty() && !args->path.starts_with('/')) throw CLI::ValidationError("--path", "must start with /");
  });
  verbs.add(cmd, h.common, [args](core::run_context& ctx) { return run_serve(ctx, *args); });
}

void add_bench(CLI::App& app, verb_table& verbs) {
  auto args = std::make_shared<bench_args>();
  auto* cmd = app.add_subcommand("bench", "Load a WebSocket echo server: messages/s and round-trip percentiles");
  add_client_options(*cmd, args->client);
  core::add_size_option(*cmd, "--size", args->size, "Bytes per message")->default_str("64");
  cmd->add_flag("--binary", args->binary, "Send binary messages (default: text)");
  core::add_bench_options(*cmd, args->bench);
  core::add_bench_threads_option(*cmd, args->bench);
  core::add_common_options(*cmd, args->common);
  cmd->footer(
      "Examples:\n"
      "  nettool ws bench ws://127.0.0.1:8080/ -c 64 --duration 10s\n"
      "  nettool ws bench ws://127.0.0.1:8080/ -c 8 -n 100000 --size 1KiB --json\n"
      "  nettool ws bench ws://127.0.0.1:8080/ --rate 1000 --duration 30s --fail-if 'p99>20ms'\n"
      "Each connection sends a message and waits for its echo (one in flight per connection).\n");
  cmd->callback([args] {
    check_client_options(args->client);
    if (args->size > args->client.max_message) throw CLI::ValidationError("--size", "over --max-message-size");
  });
  verbs.add(cmd, args->common, [args](core::run_context& ctx) { return run_bench(ctx, *args); });
}

void configure(CLI::App& app, verb_table& verbs, std::string_view only) {
  using adder = void (*)(CLI::App&, verb_table&);
  static constexpr std::pair<std::string_view, adder> table[] = {
      {"connect", &add_connect},
      {"serve", &add_serve},
      {"bench", &add_bench},
  };
  const bool known = std::any_of(std::begin(table), std::end(table), [&](const auto& v) { return v.first == only; });
  for (const auto& [name, add] : table)
    if (!known || name == only) add(app, verbs);
}

constexpr core::protocol_descriptor descriptor{"ws", "WebSocket (RFC 6455): connect, serve, bench", &configure};

}  // namespace

const core::protocol_descriptor* describe() { return &descriptor; }

}  // namespace nettool::ws
