// Binds the xmlrpc verbs' options (SPEC §2 xmlrpc) to their structs, and
// the module's entry point.
#include "xmlrpc.hpp"

#include "nettool/core/error.hpp"
#include "nettool/core/protocol.hpp"
#include "nettool/http/client.hpp"

#include <CLI/CLI.hpp>

namespace nettool::xmlrpc {
namespace {

using core::verb_table;

void add_client_options(CLI::App& cmd, client_args& args) {
  cmd.add_option("-H,--header", args.headers, "Extra header 'Name: value' (repeatable; 'Name:' removes one)")
      ->type_name("HEADER");
  cmd.add_option("--unix-socket", args.unix_socket, "Send the requests to the Unix socket PATH")->type_name("PATH");
  cmd.add_option("--noproxy", args.noproxy, "Hosts reached directly (replaces NO_PROXY)")->type_name("LIST");
  core::add_size_option(cmd, "--max-size", args.max_size, "Largest response body; larger: exit 6")->default_str("64MiB");
  core::add_connect_options(cmd, args.connect);
  core::add_tls_client_options(cmd, args.tls, false);
  core::add_timeout_options(cmd, args.timeouts);
  core::add_common_options(cmd, args.common);
}

void check_client(const client_args& args) {
  try {
    endpoint_url(args.url);
    boost::beast::http::fields scratch;
    http::add_headers(scratch, args.headers);
    core::validate(args.connect);
  } catch (const core::error& e) {
    throw CLI::ValidationError(e.where().empty() ? e.phase() : e.where(), e.reason());
  }
}

// What CLI11 left over is the call's ARGs, except what looks like an
// option and is not a number: an unknown option is still a usage error.
std::vector<std::string> arguments_of(std::vector<std::string> words) {
  for (const auto& w : words) {
    const bool number = w.size() > 1 && w[0] == '-' && std::isdigit(static_cast<unsigned char>(w[1]));
    if (w.size() > 1 && w[0] == '-' && !number)
      throw CLI::ValidationError(w, "not an option of xmlrpc call (a string ARG that begins with - is written s/" + w + ")");
  }
  return words;
}

void add_call(CLI::App& app, verb_table& verbs) {
  auto args = std::make_shared<client_args>();
  auto* cmd = app.add_subcommand(
      "call",
      "Call METHOD with ARGs and print its result as JSON.\nARGs: JSON (42, -5, 4.5, true, \"s\", [..], {..}, null) "
      "or typed: i/42 I/… i8/… d/4.5 b/true s/text n/ h/HEX dt/20260101T12:00:00 b64/BASE64; any other word is "
      "a string");
  cmd->add_option("url", args->url, "http(s)://HOST:PORT/PATH, or HOST:PORT for http://HOST:PORT/RPC2")
      ->required()
      ->type_name("URL");
  cmd->add_option("method", args->method, "The method (not with --multicall)")->type_name("METHOD");
  // ARGs are taken from what CLI11 leaves (allow_extras): as a positional
  // option it would split '[1,2]' into two values, and read -5 as an option.
  cmd->allow_extras();
  cmd->add_flag("--multicall", args->multicall,
                "Read calls from stdin, one per line as [\"METHOD\", ARG...], and send them as one system.multicall");
  cmd->add_flag("--retry-all", args->retry_all, "Retry even after the request was sent (calls are POSTs)");
  add_client_options(*cmd, *args);
  cmd->footer(
      "Examples:\n"
      "  nettool xmlrpc call 127.0.0.1:8000 add 2 3\n"
      "  nettool xmlrpc call http://127.0.0.1:8000/RPC2 echo '{\"name\":\"x\",\"tags\":[1,2]}' dt/20260101T12:00:00 b64/SGVsbG8=\n"
      "  nettool xmlrpc call https://user:secret@rpc.example/RPC2 status --json\n"
      "  printf '%s\\n' '[\"add\",1,2]' '[\"echo\",\"x\"]' | nettool xmlrpc call 127.0.0.1:8000 --multicall\n"
      "dateTime prints as {\"$datetime\":\"…\"}, base64 as {\"$base64\":\"…\"}; a fault exits 7 with 'fault CODE: STRING'.\n");
  cmd->callback([args, cmd] {
    args->arguments = arguments_of(cmd->remaining());
    if (args->multicall && (!args->method.empty() || !args->arguments.empty()))
      throw CLI::ValidationError("--multicall", "reads the calls from stdin: give no METHOD or ARGs");
    if (!args->multicall && args->method.empty()) throw CLI::RequiredError("method");
    check_client(*args);
  });
  verbs.add(cmd, args->common, [args](core::run_context& ctx) { return run_call(ctx, *args); });
}

void add_list(CLI::App& app, verb_table& verbs) {
  auto args = std::make_shared<client_args>();
  auto* cmd = app.add_subcommand("list", "Print the server's methods (system.listMethods), one per line");
  cmd->add_option("url", args->url, "http(s)://… or HOST:PORT")->required()->type_name("URL");
  add_client_options(*cmd, *args);
  cmd->footer("Examples:\n  nettool xmlrpc list 127.0.0.1:8000\n");
  cmd->callback([args] { check_client(*args); });
  verbs.add(cmd, args->common, [args](core::run_context& ctx) { return run_list(ctx, *args); });
}

void add_help(CLI::App& app, verb_table& verbs) {
  auto args = std::make_shared<client_args>();
  auto* cmd = app.add_subcommand("help", "Print a method's help and signatures (system.methodHelp, methodSignature)");
  cmd->add_option("url", args->url, "http(s)://… or HOST:PORT")->required()->type_name("URL");
  cmd->add_option("method", args->method, "The method")->required()->type_name("METHOD");
  add_client_options(*cmd, *args);
  cmd->footer("Examples:\n  nettool xmlrpc help 127.0.0.1:8000 system.multicall\n");
  cmd->callback([args] { check_client(*args); });
  verbs.add(cmd, args->common, [args](core::run_context& ctx) { return run_help(ctx, *args); });
}

// NAME=VALUE of --method and --method-help.
void add_named(const std::vector<std::string>& specs, std::map<std::string, std::string>& into, const char* option) {
  for (const auto& spec : specs) {
    const auto eq = spec.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == spec.size())
      throw CLI::ValidationError(option, "'" + spec + "' is not NAME=VALUE");
    into[spec.substr(0, eq)] = spec.substr(eq + 1);
  }
}

void add_serve(CLI::App& app, verb_table& verbs) {
  auto args = std::make_shared<serve_args>();
  auto& h = args->http;
  h.max_body = default_max_size;
  auto methods = std::make_shared<std::vector<std::string>>();
  auto helps = std::make_shared<std::vector<std::string>>();
  auto* cmd = app.add_subcommand("serve", "An XML-RPC server: introspection, multicall, echo, and commands as methods");
  core::add_listen_options(*cmd, h.listen);
  cmd->add_option("--method", *methods,
                  "Expose CMD (sh -c) as method NAME: params as a JSON array on its stdin, its stdout (JSON) the "
                  "result, exit != 0 a fault with its stderr (repeatable)")
      ->type_name("NAME=CMD");
  cmd->add_option("--method-help", *helps, "The help text system.methodHelp gives for NAME (repeatable)")
      ->type_name("NAME=TEXT");
  cmd->add_option("--exec", args->exec, "Run CMD as --method does for every method not otherwise known "
                                        "(NETTOOL_XMLRPC_METHOD names it)")
      ->type_name("CMD");
  core::add_duration_option(*cmd, "--method-timeout", args->method_timeout,
                            "A command running longer is ended and its call answered with a fault")
      ->default_str("60s");
  cmd->add_flag("--dump", args->dump, "Print each call received as a JSON line on stdout");
  core::add_size_option(*cmd, "--max-size", h.max_body, "Largest request body (and command output); larger: 413")
      ->default_str("64MiB");
  core::add_duration_option(*cmd, "--header-timeout", h.header_timeout,
                            "A request head (or the next one on a kept-alive connection) must arrive within DUR")
      ->default_str("10s");
  core::add_duration_option(*cmd, "--body-timeout", h.body_timeout, "A whole request body must arrive within DUR")
      ->default_str("60s");
  core::add_duration_option(*cmd, "--send-timeout", h.send_timeout,
                            "Close a connection whose client takes no response bytes for DUR")
      ->default_str("60s");
  core::add_tls_server_options(*cmd, h.tls);
  core::add_common_options(*cmd, h.common);
  cmd->footer(
      "Examples:\n"
      "  nettool xmlrpc serve 8000\n"
      "  nettool xmlrpc serve 8000 --method add='jq \"add\"' --method-help 'add=Adds numbers'\n"
      "  nettool xmlrpc serve 0 --port-file port --dump\n"
      "  nettool xmlrpc serve 8443 --tls --cert cert.pem --key key.pem\n"
      "Methods: system.listMethods, system.methodHelp, system.methodSignature, system.multicall, echo, and --method's.\n");
  cmd->callback([args, methods, helps] {
    add_named(*methods, args->methods, "--method");
    for (const auto& [name, command] : args->methods)
      if (name == "echo" || name.starts_with("system."))
        throw CLI::ValidationError("--method", "'" + name + "' is a built-in method");
    if (args->method_timeout <= core::duration::zero())
      throw CLI::ValidationError("--method-timeout", "must be more than 0");
    add_named(*helps, args->helps, "--method-help");
    for (const auto& [name, text] : args->helps)
      if (!args->methods.count(name) && name != "echo")
        throw CLI::ValidationError("--method-help", "'" + name + "' is not a --method");
  });
  verbs.add(cmd, h.common, [args](core::run_context& ctx) { return run_serve(ctx, *args); });
}

void configure(CLI::App& app, verb_table& verbs, std::string_view only) {
  const bool known = only == "call" || only == "list" || only == "help" || only == "serve";
  if (!known || only == "call") add_call(app, verbs);
  if (!known || only == "list") add_list(app, verbs);
  if (!known || only == "help") add_help(app, verbs);
  if (!known || only == "serve") add_serve(app, verbs);
}

}  // namespace

constexpr core::protocol_descriptor descriptor{"xmlrpc", "XML-RPC: call, list, help, serve", &configure};

}  // namespace nettool::xmlrpc

extern "C" const nettool::core::protocol_descriptor* nettool_protocol_v1() { return &nettool::xmlrpc::descriptor; }
