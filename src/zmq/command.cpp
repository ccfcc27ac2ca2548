// Binds the zmq verbs' options (SPEC §2 zmq) to their structs, and the
// module's entry point.
#include "zmq.hpp"

#include "nettool/core/error.hpp"
#include "nettool/core/protocol.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <array>
#include <charconv>

namespace nettool::zmq {
namespace {

using core::verb_table;

struct socket_verb {
  std::string_view name;
  kind type;
  const char* summary;
  const char* examples;
};

constexpr std::array socket_verbs{
    socket_verb{"pub", kind::pub, "Publish each stdin line as a message (no loss at the high-water mark)",
                "  nettool zmq pub --bind tcp://127.0.0.1:5556 --wait-subscribers 1 < events.txt\n"},
    socket_verb{"sub", kind::sub, "Print each message published to the topics subscribed",
                "  nettool zmq sub --connect tcp://127.0.0.1:5556 --subscribe weather.\n"},
    socket_verb{"push", kind::push, "Push each stdin line to the pullers, round-robin",
                "  seq 1000 | nettool zmq push --connect tcp://127.0.0.1:5557\n"},
    socket_verb{"pull", kind::pull, "Print each message pushed to us",
                "  nettool zmq pull --bind tcp://127.0.0.1:5557 --count 1000 > out.txt\n"},
    socket_verb{"req", kind::req, "Send each stdin line as a request and print its reply",
                "  nettool zmq req --connect tcp://127.0.0.1:5555 --send ping\n"
                "  nettool zmq req --connect tcp://127.0.0.1:5555 --timeout 2s --retries 3 < requests.txt\n"},
    socket_verb{"rep", kind::rep, "Answer each request: --echo, --exec CMD, or the next stdin line",
                "  nettool zmq rep --bind tcp://127.0.0.1:5555 --echo\n"
                "  nettool zmq rep --bind tcp://127.0.0.1:5555 --exec 'tr a-z A-Z'\n"},
    socket_verb{"dealer", kind::dealer, "Send stdin lines and print what arrives, asynchronously",
                "  nettool zmq dealer --connect tcp://127.0.0.1:5555 --identity me --send hello --count 1\n"},
    socket_verb{"router", kind::router, "Print 'IDENTITY<TAB>message'; a line 'IDENTITY<TAB>text' goes to that peer",
                "  nettool zmq router --bind tcp://127.0.0.1:5555\n"},
    socket_verb{"pair", kind::pair, "Send stdin lines and print what arrives, one peer",
                "  nettool zmq pair --bind ipc:///tmp/pair.sock\n"},
};

// tcp://HOST:PORT or ipc://PATH; everything else is refused at parse time
// (exit 2) instead of failing later inside libzmq.
std::string check_endpoint(const std::string& ep, bool binding) {
  if (ep.starts_with("ipc://")) return ep.size() > 6 ? "" : fmt::format("'{}': ipc:// needs a path", ep);
  if (ep.starts_with("inproc://")) return fmt::format("'{}': inproc:// only joins sockets inside one process", ep);
  if (!ep.starts_with("tcp://")) return fmt::format("'{}' is not an endpoint: use tcp://HOST:PORT or ipc://PATH", ep);
  const std::string_view rest = std::string_view(ep).substr(6);
  const auto colon = rest.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return fmt::format("'{}': tcp:// needs HOST:PORT", ep);
  const auto port = rest.substr(colon + 1);
  if (binding && port == "*") return "";
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (ec != std::errc{} || end != port.data() + port.size() || value > 65535 || (value == 0 && !binding))
    return fmt::format("'{}': bad port '{}'", ep, port);
  return "";
}

// --hwm, --sockopt and (where closing waits for a queue) --linger: the
// socket options every zmq verb shares.
void add_tuning_options(CLI::App& cmd, socket_args& args, bool linger) {
  cmd.add_option("--hwm", args.hwm, "High-water mark for sending and receiving, in messages")
      ->check(CLI::NonNegativeNumber);
  if (linger)
    core::add_duration_option(cmd, "--linger", args.linger, "How long closing waits for queued messages to leave")
        ->default_str("5s");
  core::add_size_option(cmd, "--max-message-size", args.max_message_size,
                        "Largest message accepted from a peer; a larger one is refused and that peer disconnected")
      ->default_str("64MiB");
  cmd.add_option("--sockopt", args.sockopts, "Any other libzmq socket option, e.g. sndbuf=1048576 (repeatable)")
      ->type_name("NAME=VALUE")
      ->check(check_sockopt);
}

// A key option: a file holding the key (or a czmq certificate).
void add_key_file(CLI::App& cmd, const std::string& name, std::string& key, std::string_view which,
                  const std::string& help) {
  cmd.add_option_function<std::string>(
         name, [&key, which](const std::string& path) { key = read_key_file(path, which); }, help)
      ->type_name("FILE")
      ->check([which](const std::string& path) {
        try {
          read_key_file(path, which);
        } catch (const core::error& e) {
          return e.describe();
        }
        return std::string{};
      });
}

void add_curve_options(CLI::App& cmd, socket_args& args) {
  auto* server = cmd.add_flag("--curve-server", args.curve_server, "Be a CURVE server (needs --curve-secret-key)");
  add_key_file(cmd, "--curve-secret-key", args.curve_secret_key, "secret-key", "Our CURVE secret key, from FILE");
  add_key_file(cmd, "--curve-public-key", args.curve_public_key, "public-key", "Our CURVE public key, from FILE");
  auto* serverkey = cmd.add_option_function<std::string>(
                           "--curve-serverkey",
                           [&args](const std::string& text) {
                             args.curve_serverkey = is_z85_key(text) ? text : read_key_file(text, "public-key");
                           },
                           "Be a CURVE client of the server with this public KEY (Z85 text or a file)")
                       ->type_name("KEY");
  serverkey->check([](const std::string& text) {
    if (is_z85_key(text)) return std::string{};
    try {
      read_key_file(text, "public-key");
    } catch (const core::error& e) {
      return "neither a 40-character Z85 key nor " + e.describe();
    }
    return std::string{};
  });
  server->excludes(serverkey);
}

void add_socket_verb(CLI::App& app, verb_table& verbs, const socket_verb& verb) {
  auto args = std::make_shared<socket_args>();
  args->type = verb.type;
  auto* cmd = app.add_subcommand(std::string(verb.name), verb.summary);
  cmd->add_option("--bind", args->bind, "Bind to EP (tcp://HOST:PORT, ipc://PATH), repeatable")
      ->type_name("EP")
      ->check([](const std::string& ep) { return check_endpoint(ep, true); });
  cmd->add_option("--connect", args->connect, "Connect to EP, repeatable")
      ->type_name("EP")
      ->check([](const std::string& ep) { return check_endpoint(ep, false); });
  if (verb.type == kind::rep) {
    cmd->add_flag("--echo", args->echo, "Answer each request with itself");
    cmd->add_option("--exec", args->exec, "Answer with CMD's output, the request on its stdin (sh -c)")
        ->type_name("CMD");
  }
  const bool sends = verb.type != kind::sub && verb.type != kind::pull;
  if (sends && verb.type != kind::rep) {  // a rep's input is its answers, line by line
    core::add_send_option(*cmd, args->send);
    cmd->add_flag("--binary", args->binary, "Send stdin in raw chunks (one message each) instead of lines");
  }
  if (sends) cmd->add_flag("--multipart", args->multipart, "Split each line on --frame-sep into frames");
  cmd->add_option("--frame-sep", args->frame_sep, "Between frames of a multipart message (default: tab)")
      ->type_name("TEXT");
  core::add_count_option(*cmd, args->count, "Exit after N messages received (sent, for pub and push)");
  if (verb.type != kind::pub && verb.type != kind::push && verb.type != kind::rep)
    core::add_expect_option(*cmd, args->expect, "Exit 0 once a received message matches REGEX, 10 if --count is reached first");
  if (verb.type == kind::sub)
    cmd->add_option("--subscribe", args->subscribe, "Topic prefix, repeatable (default: everything)")
        ->type_name("TOPIC");
  if (verb.type == kind::pub) {
    cmd->add_option("--wait-subscribers", args->wait_subscribers, "Send only after N subscriptions arrived")
        ->check(CLI::PositiveNumber);
    cmd->add_flag("--drop", args->drop, "Drop messages for a subscriber at its high-water mark (ZeroMQ's default)");
  }
  add_tuning_options(*cmd, *args, true);
  cmd->add_option("--identity", args->identity, "Routing identity of this socket (ZMQ_ROUTING_ID)")->type_name("ID");
  add_curve_options(*cmd, *args);
  core::add_timeout_options(*cmd, args->timeouts, false);
  // The backoff options set libzmq's reconnect interval; attempts are
  // libzmq's business (it reconnects forever), so only req, whose retries
  // are new sockets for a request that got no reply, has --retries.
  if (verb.type != kind::req) cmd->remove_option(cmd->get_option("--retries"));
  core::add_common_options(*cmd, args->common);
  if (verb.type == kind::req) {
    // For req, --timeout bounds each reply, so a lost one can be retried.
    cmd->remove_option(cmd->get_option("--timeout"));
    core::add_duration_option(*cmd, "--timeout", args->reply_timeout,
                              "Wait DUR for each reply; then a new socket and the request again (--retries), "
                              "or exit 124");
  }
  cmd->footer(fmt::format("Examples:\n{}", verb.examples));
  cmd->callback([args] {
    if (args->bind.empty() && args->connect.empty())
      throw CLI::ValidationError("--bind", "give --bind EP or --connect EP (or both)");
    if (args->binary && !args->send.empty())
      throw CLI::ValidationError("--binary", "applies to stdin, not to --send");
    if (args->frame_sep.empty()) throw CLI::ValidationError("--frame-sep", "must not be empty");
    if (args->echo && !args->exec.empty()) throw CLI::ValidationError("--echo", "give --echo or --exec, not both");
    if (args->curve_server && args->curve_secret_key.empty())
      throw CLI::ValidationError("--curve-server", "needs --curve-secret-key FILE (make one with 'nettool zmq keygen')");
    if (args->curve_public_key.empty() != args->curve_secret_key.empty() && !args->curve_server)
      throw CLI::ValidationError("--curve-public-key", "a CURVE client gives both of its keys, or neither");
    if (!args->curve_secret_key.empty() && !args->curve_server && args->curve_serverkey.empty())
      throw CLI::ValidationError("--curve-secret-key", "give --curve-server, or --curve-serverkey KEY for a client");
    if (args->type == kind::req && args->timeouts.retry.retries > 0 && !args->reply_timeout)
      throw CLI::ValidationError("--retries", "retries a request whose reply did not come in --timeout DUR");
  });
  verbs.add(cmd, args->common, [args](core::run_context& ctx) {
    switch (args->type) {
      case kind::req: return mapped_errors(run_req(ctx, *args));
      case kind::rep: return mapped_errors(run_rep(ctx, *args));
      default: return mapped_errors(run_socket(ctx, *args));
    }
  });
}

void add_proxy(CLI::App& app, verb_table& verbs) {
  auto args = std::make_shared<proxy_args>();
  auto* cmd = app.add_subcommand("proxy", "Bind a frontend and a backend and pass messages between them");
  const auto endpoint = [](const std::string& ep) { return check_endpoint(ep, true); };
  cmd->add_option("--frontend", args->frontend, "Bind EP for publishers / clients / pushers")
      ->required()
      ->type_name("EP")
      ->check(endpoint);
  cmd->add_option("--backend", args->backend, "Bind EP for subscribers / workers / pullers")
      ->required()
      ->type_name("EP")
      ->check(endpoint);
  cmd->add_option("--type", args->type, "xsub-xpub, router-dealer or pull-push")
      ->default_str("xsub-xpub")
      ->type_name("TYPE")
      ->check(check_proxy_type);
  cmd->add_option("--capture", args->capture, "Bind a PUB socket on EP that gets a copy of every message")
      ->type_name("EP")
      ->check(endpoint);
  add_tuning_options(*cmd, args->sockets, true);
  core::add_common_options(*cmd, args->common());
  cmd->footer(
      "Examples:\n"
      "  nettool zmq proxy --frontend tcp://127.0.0.1:5559 --backend tcp://127.0.0.1:5560\n"
      "  nettool zmq proxy --type router-dealer --frontend tcp://*:5555 --backend tcp://*:5556 -v\n");
  verbs.add(cmd, args->common(), [args](core::run_context& ctx) { return mapped_errors(run_proxy(ctx, *args)); });
}

void add_bench(CLI::App& app, verb_table& verbs) {
  auto args = std::make_shared<bench_args>();
  auto* cmd = app.add_subcommand("bench", "Messages/s and MB/s (push-pull, pub-sub) or round trips (req-rep)");
  cmd->add_option("--pattern", args->pattern, "push-pull, pub-sub or req-rep")
      ->default_str("push-pull")
      ->type_name("PATTERN")
      ->check(CLI::IsMember({"push-pull", "pub-sub", "req-rep"}));
  core::add_size_option(*cmd, "--size", args->size, "Bytes per message")->default_str("64");
  cmd->add_option("--bind", args->sockets.bind, "Be the sending end, bound at EP, for a remote peer")
      ->type_name("EP")
      ->check([](const std::string& ep) { return check_endpoint(ep, true); });
  cmd->add_option("--connect", args->sockets.connect, "Be the sending end of a remote peer at EP")
      ->type_name("EP")
      ->check([](const std::string& ep) { return check_endpoint(ep, false); });
  core::add_bench_options(*cmd, args->bench);
  add_tuning_options(*cmd, args->sockets, false);
  core::add_common_options(*cmd, args->common());
  cmd->footer(
      "Examples:\n"
      "  nettool zmq bench --pattern push-pull --size 64 -n 1000000\n"
      "  nettool zmq bench --pattern req-rep --duration 5s --fail-if 'p99>1ms'\n"
      "  nettool zmq bench --pattern req-rep -c 8 --connect tcp://127.0.0.1:5555 -n 100000\n"
      "  nettool zmq bench --pattern req-rep --connect tcp://127.0.0.1:5555 --rate 1000 -z 10s\n");
  cmd->callback([args] {
    // N sockets cannot bind one endpoint; connecting ones can share a peer.
    if (args->bench.concurrency > 1 && !args->sockets.bind.empty())
      throw CLI::ValidationError("-c", "with --bind there is one sending socket; use --connect for several");
  });
  verbs.add(cmd, args->common(), [args](core::run_context& ctx) { return mapped_errors(run_bench(ctx, *args)); });
}

void add_keygen(CLI::App& app, verb_table& verbs) {
  auto args = std::make_shared<keygen_args>();
  auto* cmd = app.add_subcommand("keygen", "Make a CURVE key pair (Z85)");
  cmd->add_option("--write", args->write, "Write PREFIX.key (secret, mode 0600) and PREFIX.pub instead of showing the secret")
      ->type_name("PREFIX");
  core::add_common_options(*cmd, args->common);
  cmd->footer(
      "Examples:\n"
      "  nettool zmq keygen --write server\n"
      "  nettool zmq rep --bind tcp://127.0.0.1:5555 --echo --curve-server --curve-secret-key server.key\n"
      "  nettool zmq req --connect tcp://127.0.0.1:5555 --curve-serverkey server.pub --send hi\n");
  verbs.add(cmd, args->common, [args](core::run_context& ctx) { return mapped_errors(run_keygen(ctx, *args)); });
}

void configure(CLI::App& app, verb_table& verbs, std::string_view only) {
  const bool known = only == "keygen" || only == "proxy" || only == "bench" || std::any_of(socket_verbs.begin(), socket_verbs.end(),
                                                     [&](const socket_verb& v) { return v.name == only; });
  for (const auto& verb : socket_verbs)
    if (!known || verb.name == only) add_socket_verb(app, verbs, verb);
  if (!known || only == "proxy") add_proxy(app, verbs);
  if (!known || only == "bench") add_bench(app, verbs);
  if (!known || only == "keygen") add_keygen(app, verbs);
}

constexpr core::protocol_descriptor descriptor{
    "zmq", "ZeroMQ sockets: pub, sub, push, pull, req, rep, dealer, router, pair; proxy, bench, keygen", &configure};

}  // namespace
}  // namespace nettool::zmq

extern "C" const nettool::core::protocol_descriptor* nettool_protocol_v1() { return &nettool::zmq::descriptor; }
