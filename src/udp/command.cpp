// Binds the udp verbs' options (SPEC §2 udp) to their structs.
#include "udp.hpp"

#include "nettool/core/expect.hpp"
#include "nettool/core/protocol.hpp"

#include <CLI/CLI.hpp>

#include <algorithm>

namespace nettool::udp {
namespace {

using core::verb_table;

void add_send(CLI::App& app, verb_table& verbs) {
  auto args = std::make_shared<send_args>();
  auto* cmd = app.add_subcommand("send", "Send each stdin line as one datagram to HOST PORT");
  core::add_host_port(*cmd, args->host, args->port);
  core::add_send_option(*cmd, args->send, "--message");
  cmd->add_option("--repeat", args->repeat, "Send each message N times")->check(CLI::PositiveNumber)->default_str("1");
  core::add_count_option(*cmd, args->count, "With --wait-reply: exit after N replies");
  core::add_duration_option(*cmd, "--interval", args->interval, "Pause between datagrams");
  core::add_duration_option(*cmd, "--wait-reply", args->wait_reply,
                            "Print replies arriving until DUR after the last datagram");
  cmd->add_flag("--broadcast", args->broadcast, "Allow sending to a broadcast address (SO_BROADCAST)");
  cmd->add_option("--ttl", args->ttl, "IP TTL (and multicast TTL) of the datagrams")->check(CLI::Range(1, 255));
  cmd->add_flag("--binary", args->binary, "Send stdin in raw chunks (up to 65507 bytes) instead of lines");
  core::add_expect_option(*cmd, args->expect, "Exit 0 once a reply matches REGEX, 10 if none did by the end of --wait-reply");
  core::add_family_options(*cmd, args->connect.family);
  cmd->add_option("--resolve", args->connect.resolve, "Pin HOST:PORT to ADDR, repeatable")->type_name("HOST:PORT:ADDR");
  core::add_common_options(*cmd, args->common);
  cmd->footer(
      "Examples:\n"
      "  echo 'hello' | nettool udp send 127.0.0.1 9999\n"
      "  nettool udp send 127.0.0.1 53 --send 'ping' --wait-reply 1s --count 1\n"
      "  nettool udp send 127.0.0.1 9999 --send a --send b --repeat 100 --interval 10ms\n"
      "  seq 1000 | nettool udp send 127.0.0.1 9999 --interval 1ms\n");
  cmd->callback([args] {
    if (args->count && !args->wait_reply)
      throw CLI::ValidationError("--count", "counts replies, with --wait-reply DUR; to send each message N times: --repeat N");
    if (!args->send.empty() && args->binary) throw CLI::ValidationError("--binary", "applies to stdin, not to --send");
    if (!args->expect.empty() && !args->wait_reply) throw CLI::ValidationError("--expect", "matches replies: give --wait-reply DUR");
  });
  verbs.add(cmd, args->common, [args](core::run_context& ctx) { return run_send(ctx, *args); });
}

void add_listen(CLI::App& app, verb_table& verbs) {
  auto args = std::make_shared<listen_args>();
  auto* cmd = app.add_subcommand("listen", "Print each datagram received on PORT on its own line");
  core::add_listen_options(*cmd, args->listen, false);
  cmd->add_flag("--echo", args->echo, "Send each datagram back to its sender");
  core::add_count_option(*cmd, args->count, "Exit after N datagrams (exit 9 if --timeout comes first)");
  cmd->add_option("--multicast", args->multicast, "Join multicast GROUP on the --bind interface")->type_name("GROUP");
  cmd->add_flag("--binary", args->binary, "Write datagrams raw, without a line feed after each");
  core::add_expect_option(*cmd, args->expect, "Exit 0 once a datagram matches REGEX, 10 if --count is reached first");
  core::add_common_options(*cmd, args->common);
  cmd->footer(
      "Examples:\n"
      "  nettool udp listen 9999\n"
      "  nettool udp listen 0 --port-file port.txt --count 100 --json\n"
      "  nettool udp listen 5353 --multicast 224.0.0.251 --bind 192.0.2.10\n");
  cmd->callback([args] {
    if (args->count && args->common.timeout) {
      // --count N not reached before --timeout is "nothing available" (9).
      args->limit = args->common.timeout;
      args->common.timeout.reset();
    }
  });
  verbs.add(cmd, args->common, [args](core::run_context& ctx) { return run_listen(ctx, *args); });
}

void configure(CLI::App& app, verb_table& verbs, std::string_view only) {
  using adder = void (*)(CLI::App&, verb_table&);
  static constexpr std::pair<std::string_view, adder> table[] = {
      {"send", &add_send},
      {"listen", &add_listen},
  };
  const bool known = std::any_of(std::begin(table), std::end(table), [&](const auto& v) { return v.first == only; });
  for (const auto& [name, add] : table)
    if (!known || name == only) add(app, verbs);
}

constexpr core::protocol_descriptor descriptor{"udp", "UDP datagrams", &configure};

}  // namespace

const core::protocol_descriptor* describe() { return &descriptor; }

}  // namespace nettool::udp
