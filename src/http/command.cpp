// Binds the http verbs' options (SPEC §2 http) to their structs.
#include "http.hpp"

#include "multipart.hpp"

#include "nettool/core/protocol.hpp"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <filesystem>

namespace nettool::http {
namespace {

namespace bhttp = beast::http;
using core::verb_table;

struct client_verb {
  const char* name;
  bhttp::verb method;
  bool takes_body;
  const char* summary;
  const char* examples;
};

constexpr client_verb client_verbs[] = {
    {"get", bhttp::verb::get, false, "GET each URL and print the body",
     "  nettool http get https://example.com/\n"
     "  nettool http get -i -L http://127.0.0.1:8080/old-path\n"
     "  nettool http get --fail --json http://127.0.0.1:8080/health | jq .status\n"
     "  nettool http get -o big.iso https://mirror.example/big.iso\n"},
    {"head", bhttp::verb::head, false, "HEAD each URL and print the status line and headers",
     "  nettool http head https://example.com/\n"},
    {"delete", bhttp::verb::delete_, false, "DELETE each URL",
     "  nettool http delete --fail http://127.0.0.1:8080/items/42\n"},
    {"options", bhttp::verb::options, false, "OPTIONS each URL",
     "  nettool http options -i http://127.0.0.1:8080/\n"},
    {"post", bhttp::verb::post, true, "POST a body to URL",
     "  nettool http post http://127.0.0.1:8080/items --json-body '{\"name\":\"a\"}'\n"
     "  nettool http post http://127.0.0.1:8080/upload -d @report.csv -H 'Content-Type: text/csv'\n"
     "  echo 'q=1' | nettool http post http://127.0.0.1:8080/search -d @-\n"
     "  nettool http post http://127.0.0.1:8080/upload -F note=hello -F file=@photo.jpg\n"},
    {"put", bhttp::verb::put, true, "PUT a body to URL",
     "  nettool http put http://127.0.0.1:8080/items/42 --json-body '{\"name\":\"b\"}'\n"},
    {"patch", bhttp::verb::patch, true, "PATCH URL with a body",
     "  nettool http patch http://127.0.0.1:8080/items/42 --json-body '{\"name\":\"c\"}'\n"},
};

// The checks every verb's CLI callback makes, as CLI11 errors (exit 2).
void check_url(const std::string& url) {
  try {
    parse_url(url);
  } catch (const core::error& e) {
    throw CLI::ValidationError("url", e.reason() + ": '" + url + "'");
  }
}

void check_headers(const std::vector<std::string>& headers) {
  beast::http::fields scratch;
  try {
    add_headers(scratch, headers);
  } catch (const core::error& e) {
    throw CLI::ValidationError("-H", e.reason());
  }
}

void check_connect(const core::connect_options& connect) {
  try {
    core::validate(connect);
  } catch (const core::error& e) {
    throw CLI::ValidationError(e.where(), e.reason());
  }
}

// curl's flags that people type by reflex and that mean the same here are
// accepted (the rest get a hint, src/cli/app.cpp): -k, -s, -A, -m, -X, -I.
void add_curl_habits(CLI::App& cmd, request_args& args) {
  cmd.add_flag("-k", args.tls.insecure, "curl's -k: --insecure");
  cmd.add_flag("-s,--silent", args.common.quiet, "curl's -s: -q");
  core::add_duration_option(cmd, "-m,--max-time", args.common.timeout, "curl's -m: --timeout");
  cmd.add_option("-X,--request", args.method_override, "Send METHOD instead of the verb's own")->type_name("METHOD");
  cmd.add_flag("-I,--head", args.head, "curl's -I: send HEAD (as 'http head')");
  cmd.add_option("-A,--user-agent", args.user_agent, "User-Agent header")->type_name("TEXT");
}

void apply_curl_habits(request_args& args) {
  if (!args.method_override.empty()) {
    args.method = beast::http::string_to_verb(args.method_override);
    if (args.method == beast::http::verb::unknown)
      throw CLI::ValidationError("-X", "'" + args.method_override + "' is not an HTTP method");
  }
  if (args.head) args.method = beast::http::verb::head;
  if (!args.user_agent.empty()) args.headers.insert(args.headers.begin(), "User-Agent: " + args.user_agent);
}

void add_client_verb(CLI::App& app, verb_table& verbs, const client_verb& verb) {
  auto args = std::make_shared<request_args>();
  args->method = verb.method;
  auto* cmd = app.add_subcommand(verb.name, verb.summary);
  auto* urls = cmd->add_option("url", args->urls, verb.takes_body ? "The URL" : "URLs (one origin: one kept-alive connection)")
                   ->required()
                   ->type_name("URL");
  if (verb.takes_body) urls->expected(1);
  // --data-binary: our -d already sends @FILE byte for byte, as curl's
  // --data-binary does.
  auto* data = cmd->add_option("-d,--data,--data-binary", args->data,
                               "Body: TEXT, @FILE (sent as is, streamed) or @- (stdin)")
                   ->type_name("DATA");
  auto* json_body = cmd->add_option("--json-body", args->json_body, "Body as JSON (sets Content-Type and Accept)")
                        ->type_name("JSON");
  auto* form = cmd->add_option("-F,--form", args->form,
                               "multipart/form-data field: name=value, name=@FILE[;type=T][;filename=N] (streamed), "
                               "name=<FILE (repeatable)")
                   ->type_name("FIELD");
  data->excludes(json_body)->excludes(form);
  json_body->excludes(form);
  cmd->add_option("-H,--header", args->headers, "Extra header 'Name: value' (repeatable; 'Name:' removes one)")
      ->type_name("HEADER");
  cmd->add_option("-u,--user", args->user, "Basic authentication")->type_name("USER:PASS");
  cmd->add_option("-o,--output", args->output_file, "Write the body to FILE instead of stdout")->type_name("FILE");
  cmd->add_flag("-i,--include", args->include, "Print the status line and headers before the body");
  cmd->add_flag("--compressed", args->compressed, "Ask for gzip/deflate and decode the body as it arrives");
  cmd->add_flag("-L,--location", args->location, "Follow redirects");
  cmd->add_option("--max-redirects", args->max_redirects, "Redirects to follow at most")
      ->check(CLI::NonNegativeNumber)
      ->default_str("10");
  cmd->add_flag("--fail", args->fail, "Exit 7 on a status >= 400 (the body is not printed)");
  cmd->add_flag("--retry-all", args->retry_all, "Retry POST/PATCH even after the request was sent");
  cmd->add_flag("--timing", args->timing, "Print DNS, connect, TLS, first byte and total times on stderr");
  cmd->add_option("--unix-socket", args->unix_socket, "Send every request to the Unix socket PATH")->type_name("PATH");
  cmd->add_option("--noproxy", args->noproxy, "Hosts reached directly: 'a.com,.b.org,10.0.0.1' or '*' (replaces NO_PROXY)")
      ->type_name("LIST");
  core::add_connect_options(*cmd, args->connect);
  core::add_tls_client_options(*cmd, args->tls, false);
  core::add_timeout_options(*cmd, args->timeouts);
  core::add_common_options(*cmd, args->common);
  add_curl_habits(*cmd, *args);
  cmd->footer(std::string("Examples:\n") + verb.examples);
  cmd->callback([args] {
    apply_curl_habits(*args);
    for (const auto& url : args->urls) check_url(url);
    check_connect(args->connect);
    for (const auto& spec : args->form) {
      try {
        parse_form_field(spec);
      } catch (const core::error& e) {
        throw CLI::ValidationError("-F", e.reason());
      }
    }
    check_headers(args->headers);
  });
  verbs.add(cmd, args->common, [args](core::run_context& ctx) { return run_request(ctx, *args); });
}

void add_wait(CLI::App& app, verb_table& verbs) {
  auto args = std::make_shared<wait_args>();
  auto* cmd = app.add_subcommand("wait", "Wait until every URL answers with an expected status, then run CMD");
  cmd->add_option("url", args->urls, "URLs, polled in parallel")->required()->type_name("URL...");
  cmd->add_option("--status", args->status, "Statuses that mean ready: 200,204 or ranges like 200-399 (default: any 2xx)")
      ->type_name("CODES");
  cmd->add_option("--contains", args->contains, "Also require the body to contain TEXT")->type_name("TEXT");
  cmd->add_option("-H,--header", args->headers, "Extra header 'Name: value' (repeatable)")->type_name("HEADER");
  core::add_duration_option(*cmd, "--interval", args->interval, "Pause between attempts")->default_str("250ms");
  cmd->add_option("--unix-socket", args->unix_socket, "Send every request to the Unix socket PATH")->type_name("PATH");
  cmd->add_option("--noproxy", args->noproxy, "Hosts reached directly (replaces NO_PROXY)")->type_name("LIST");
  core::add_connect_options(*cmd, args->connect);
  core::add_tls_client_options(*cmd, args->tls, false);
  core::add_timeout_options(*cmd, args->timeouts, false);
  core::add_common_options(*cmd, args->common);
  cmd->footer(
      "Examples:\n"
      "  nettool http wait http://127.0.0.1:8080/health --timeout 60s\n"
      "  nettool http wait http://api:8080/ready http://web:3000/ --status 200,204 -- ./run-e2e-tests\n"
      "  nettool http wait http://127.0.0.1:9200/_cluster/health --contains '\"status\":\"green\"'\n"
      "--timeout defaults to 30s here; anything after -- is executed (replacing nettool) once all are ready.\n");
  cmd->callback([args] {
    for (const auto& url : args->urls) check_url(url);
    if (!args->status.empty() && !parse_status_list(args->status))
      throw CLI::ValidationError("--status", "'" + args->status + "' is not a list of statuses like 200,204,300-399");
    check_headers(args->headers);
    check_connect(args->connect);
    // The verb bounds itself, so its timeout can name the URLs not ready.
    args->limit = args->common.timeout.value_or(std::chrono::seconds(30));
    args->common.timeout.reset();
  });
  verbs.add(cmd, args->common, [args](core::run_context& ctx) { return run_wait(ctx, *args); }, &args->command);
}

void add_serve(CLI::App& app, verb_table& verbs) {
  auto args = std::make_shared<serve_args>();
  auto* cmd = app.add_subcommand("serve", "Serve DIR's files, echo requests, or answer with a fixed mock reply");
  cmd->add_option("dir", args->dir, "Directory to serve (default .)")->type_name("DIR");
  core::add_listen_options(*cmd, args->listen, true, false);
  auto* echo = cmd->add_flag("--echo", args->echo, "Answer every request with a JSON description of it");
  auto* status = cmd->add_option("--status", args->status, "Mock mode: answer every request with CODE")
                     ->check(CLI::Range(100, 599))
                     ->type_name("CODE");
  auto* body = cmd->add_option("--body", args->body, "Mock mode: answer with TEXT or @FILE")->type_name("TEXT|@FILE");
  echo->excludes(status)->excludes(body);
  cmd->add_option("-H,--header", args->headers, "Header 'Name: value' added to every response (repeatable)")
      ->type_name("HEADER");
  core::add_duration_option(*cmd, "--delay", args->delay, "Wait DUR before each response");
  core::add_duration_option(*cmd, "--header-timeout", args->header_timeout,
                            "A request head (or the next one on a kept-alive connection) must arrive within DUR")
      ->default_str("10s");
  core::add_duration_option(*cmd, "--body-timeout", args->body_timeout,
                            "A whole request body must arrive within DUR; slower: 408 and close")
      ->default_str("60s");
  core::add_duration_option(*cmd, "--send-timeout", args->send_timeout,
                            "Close a connection whose client takes no response bytes for DUR")
      ->default_str("60s");
  core::add_size_option(*cmd, "--max-body", args->max_body, "Largest request body; larger: 413")->default_str("1MiB");
  core::add_size_option(*cmd, "--max-header-size", args->max_header_size, "Largest request head (also chunk headers, trailers); larger: 431 (400)")
      ->default_str("16KiB");
  cmd->add_option("--max-headers", args->max_headers, "Most header fields in a request; more: 431")
      ->check(CLI::PositiveNumber)
      ->default_str("100");
  args->threads = core::usable_cores();
  cmd->add_option("--threads", args->threads, "Event loops (threads) the connections are spread over")
      ->check(CLI::Range(1, 256))
      ->default_str("one per core")
      ->type_name("N");
  core::add_tls_server_options(*cmd, args->tls);
  core::add_common_options(*cmd, args->common);
  cmd->footer(
      "Examples:\n"
      "  nettool http serve ./public -p 8080\n"
      "  nettool http serve -p 0 --port-file port --echo\n"
      "  nettool http serve -p 8080 --status 503 --body 'down for maintenance' -H 'Retry-After: 5'\n"
      "  nettool http serve ./site -p 8443 --tls\n"
      "Access log on stderr: time, client, request, status, bytes, duration (-q hides it).\n");
  cmd->callback([args] {
    check_headers(args->headers);
    // `http serve 8080` is a habit from python -m http.server: DIR comes first here.
    if (!args->dir.empty() && args->dir.find_first_not_of("0123456789") == std::string::npos &&
        !std::filesystem::is_directory(args->dir))
      throw CLI::ValidationError("dir", "'" + args->dir + "' is not a directory; the port is -p " + args->dir +
                                            " (http serve [DIR] -p PORT)");
    if (args->max_header_size < 1024 || args->max_header_size > 16 * 1024 * 1024)
      throw CLI::ValidationError("--max-header-size", "must be between 1KiB and 16MiB");
  });
  verbs.add(cmd, args->common, [args](core::run_context& ctx) { return run_serve(ctx, *args); });
}

void add_bench(CLI::App& app, verb_table& verbs) {
  auto args = std::make_shared<bench_args>();
  auto* cmd = app.add_subcommand("bench", "Load a URL over keep-alive connections; requests/s and latency percentiles");
  cmd->add_option("url", args->url, "The URL")->required()->type_name("URL");
  cmd->add_option("-X,--method", args->method, "Request method")->default_str("GET");
  cmd->add_option("--data", args->data, "Request body")->type_name("DATA");
  cmd->add_option("-H,--header", args->headers, "Extra header 'Name: value' (repeatable)")->type_name("HEADER");
  cmd->add_option("--unix-socket", args->unix_socket, "Send every request to the Unix socket PATH")->type_name("PATH");
  core::add_bench_options(*cmd, args->bench);
  core::add_bench_threads_option(*cmd, args->bench);
  core::add_connect_options(*cmd, args->connect);
  core::add_tls_client_options(*cmd, args->tls, false);
  core::add_timeout_options(*cmd, args->timeouts, true);
  core::add_common_options(*cmd, args->common);
  cmd->footer(
      "Examples:\n"
      "  nettool http bench http://127.0.0.1:8080/ -c 64 --duration 10s\n"
      "  nettool http bench http://127.0.0.1:8080/api --rate 200 --duration 30s --fail-if 'p99>50ms,errors>0'\n"
      "  nettool http bench http://127.0.0.1:8080/items -X POST --data '{}' -H 'Content-Type: application/json' --json\n");
  cmd->callback([args] {
    check_url(args->url);
    if (beast::http::string_to_verb(args->method) == beast::http::verb::unknown)
      throw CLI::ValidationError("-X", "'" + args->method + "' is not an HTTP method");
    check_headers(args->headers);
    check_connect(args->connect);
  });
  verbs.add(cmd, args->common, [args](core::run_context& ctx) { return run_bench(ctx, *args); });
}

void configure(CLI::App& app, verb_table& verbs, std::string_view only) {
  const bool client = std::any_of(std::begin(client_verbs), std::end(client_verbs),
                                  [&](const client_verb& v) { return v.name == only; });
  const bool known = client || only == "wait" || only == "serve" || only == "bench";
  for (const auto& verb : client_verbs)
    if (!known || verb.name == only) add_client_verb(app, verbs, verb);
  if (!known || only == "serve") add_serve(app, verbs);
  if (!known || only == "wait") add_wait(app, verbs);
  if (!known || only == "bench") add_bench(app, verbs);
}

constexpr core::protocol_descriptor descriptor{
    "http", "HTTP/1.1: get, head, delete, options, post, put, patch, serve, wait, bench", &configure};

}  // namespace

const core::protocol_descriptor* describe() { return &descriptor; }

}  // namespace nettool::http
