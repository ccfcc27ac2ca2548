#include "nettool/core/options.hpp"

#include "nettool/core/expect.hpp"

#include <CLI/CLI.hpp>

#include <sys/socket.h>
#include <cctype>

namespace nettool::core {
namespace {

std::string bad_value(const std::string& value, const char* what, const char* examples) {
  return fmt::format("'{}' is not a {} (examples: {})", value, what, examples);
}

}  // namespace

CLI::Option* add_duration_option(CLI::App& app, const std::string& name, duration& target, const std::string& help) {
  return app
      .add_option_function<std::string>(
          name,
          [&target, name](const std::string& value) {
            auto d = parse_duration(value);
            if (!d) throw CLI::ValidationError(name, bad_value(value, "duration", "250ms, 5s, 1.5m, 1h"));
            target = *d;
          },
          help)
      ->type_name("DUR");
}

CLI::Option* add_duration_option(CLI::App& app, const std::string& name, std::optional<duration>& target,
                                 const std::string& help) {
  return app
      .add_option_function<std::string>(
          name,
          [&target, name](const std::string& value) {
            auto d = parse_duration(value);
            if (!d) throw CLI::ValidationError(name, bad_value(value, "duration", "250ms, 5s, 1.5m, 1h"));
            target = *d;
          },
          help)
      ->type_name("DUR");
}

CLI::Option* add_size_option(CLI::App& app, const std::string& name, std::uint64_t& target, const std::string& help) {
  return app
      .add_option_function<std::string>(
          name,
          [&target, name](const std::string& value) {
            auto s = parse_size(value);
            if (!s) throw CLI::ValidationError(name, bad_value(value, "size", "512, 64K, 16KiB, 1MB, 4GiB"));
            target = *s;
          },
          help)
      ->type_name("SIZE");
}

void add_host_port(CLI::App& app, std::string& host, std::string& port, bool required) {
  auto* h = app.add_option("host", host, "Host name or address")->type_name("HOST");
  auto* p = app.add_option("port", port, "Port")->type_name("PORT")->check([](const std::string& value) {
    return parse_port(value) ? std::string{} : "'" + value + "' is not a port number (1-65535)";
  });
  if (required) {
    h->required();
    p->required();
  }
}

void add_common_options(CLI::App& app, common_options& options) {
  app.add_flag("-v,--verbose", options.verbosity,
               "More detail on stderr: -v life cycle, -vv protocol detail, -vvv hexdump of every read and write");
  app.add_flag("-q,--quiet", options.quiet, "Errors only on stderr");
  app.add_flag("--json", options.json, "JSON Lines on stdout: one object per message, event or result");
  add_duration_option(app, "--timeout", options.timeout,
                      "Deadline for the whole command, all attempts included (exit 124)");
}

void add_timeout_options(CLI::App& app, timeout_options& options, bool idle, bool retries) {
  add_duration_option(app, "--connect-timeout", options.connect_timeout, "Resolve + connect + TLS + protocol handshake")
      ->default_str("10s");
  if (idle)
    add_duration_option(app, "--idle-timeout", options.idle_timeout, "End when no data moved for DUR (exit 124)");
  if (!retries) return;
  app.add_option("--retries", options.retry.retries, "Extra attempts after a transient failure")
      ->check(CLI::NonNegativeNumber)
      ->default_str("0");
  add_duration_option(app, "--retry-delay", options.retry.first_delay,
                      "First backoff; doubles each attempt, full jitter")
      ->default_str("250ms");
  add_duration_option(app, "--retry-max-delay", options.retry.max_delay, "Cap on one backoff")->default_str("10s");
}

void add_family_options(CLI::App& app, int& family) {
  auto* v4 = app.add_flag_callback(
      "-4", [&family] { family = AF_INET; }, "IPv4 only");
  auto* v6 = app.add_flag_callback(
      "-6", [&family] { family = AF_INET6; }, "IPv6 only");
  v4->excludes(v6);
}

void add_connect_options(CLI::App& app, connect_options& options) {
  add_family_options(app, options.family);
  app.add_option("--resolve", options.resolve, "Pin HOST:PORT to ADDR (as curl), repeatable; TLS still verifies HOST")
      ->type_name("HOST:PORT:ADDR");
  app.add_option("--proxy", options.proxy, "Connect through http://, socks5:// or socks5h:// (proxy resolves) URL")
      ->type_name("URL");
  app.add_option("--source", options.source, "Local address to connect from")->type_name("ADDR[:PORT]");
  app.add_flag("--nodelay", options.nodelay, "Disable Nagle's algorithm (TCP_NODELAY)");
  app.add_flag("--keepalive", options.keepalive, "Enable TCP keepalive probes");
}

void add_tls_client_options(CLI::App& app, tls_client_options& options, bool tls_flag, const std::string& key_option) {
  if (tls_flag) app.add_flag("--tls", options.enabled, "Use TLS (certificates verified against the system store)");
  app.add_option("--cacert", options.cacert, "Verify the peer against the CAs in FILE")->type_name("FILE");
  app.add_flag("--insecure", options.insecure, "Do not verify the peer's certificate");
  auto* cert = app.add_option("--cert", options.cert, "Client certificate (PEM)")->type_name("FILE");
  auto* key = app.add_option(key_option, options.key, "Client private key (PEM)")->type_name("FILE");
  cert->needs(key);
  app.add_option("--servername", options.servername, "Name for SNI and verification (default: HOST)")
      ->type_name("NAME");
}

void add_tls_server_options(CLI::App& app, tls_server_options& options) {
  app.add_flag("--tls", options.enabled, "Serve TLS (an ephemeral self-signed certificate without --cert)");
  auto* cert = app.add_option("--cert", options.cert, "Server certificate chain (PEM)")->type_name("FILE");
  auto* key = app.add_option("--key", options.key, "Server private key (PEM)")->type_name("FILE");
  cert->needs(key);
  key->needs(cert);
  app.add_option("--client-ca", options.client_ca, "Require client certificates signed by this CA (mutual TLS)")
      ->type_name("FILE");
}

void add_listen_options(CLI::App& app, listen_options& options, bool stream, bool port_positional) {
  if (port_positional)
    app.add_option("port", options.port, "Port to listen on (0 picks a free port)")->type_name("PORT");
  app.add_option("-p,--port", options.port, "Port to listen on (0 picks a free port)");
  app.add_option("--bind", options.bind, "Address to bind; 0.0.0.0 or :: expose the port beyond this machine")
      ->default_str("127.0.0.1");
  app.add_option("--port-file", options.port_file, "Write the bound port to FILE once listening")->type_name("FILE");
  if (stream)
    app.add_option("--max-conns", options.max_conns, "Concurrent connections; more wait in the backlog")
        ->check(CLI::PositiveNumber)
        ->default_str("1024");
  add_family_options(app, options.family);
}

std::string environment_name(const std::string& long_name) {
  std::string out = "NETTOOL_";
  for (char c : long_name)
    out.push_back(c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  return out;
}

void add_environment_fallbacks(CLI::App& app) {
  for (auto* option : app.get_options()) {
    const auto& names = option->get_lnames();
    if (names.empty() || names.front() == "help" || !option->get_envname().empty()) continue;
    option->envname(environment_name(names.front()));
  }
  for (auto* sub : app.get_subcommands({})) add_environment_fallbacks(*sub);
}

CLI::Option* add_send_option(CLI::App& app, std::vector<std::string>& texts, const std::string& aliases) {
  return app
      .add_option("--send" + (aliases.empty() ? "" : "," + aliases), texts,
                  "Send TEXT instead of reading stdin, one message each (repeatable)")
      ->type_name("TEXT");
}

CLI::Option* add_count_option(CLI::App& app, std::optional<std::uint64_t>& count, const std::string& help) {
  return app.add_option("--count", count, help)->check(CLI::PositiveNumber)->type_name("N");
}

CLI::Option* add_expect_option(CLI::App& app, std::string& pattern, const std::string& help) {
  return app.add_option("--expect", pattern, help)->type_name("REGEX")->check([](const std::string& text) {
    try {
      expectation check(text);
    } catch (const error& e) {
      return e.reason();
    }
    return std::string{};
  });
}

void check_option(const std::function<void()>& check, const std::string& option) {
  try {
    check();
  } catch (const error& e) {
    throw CLI::ValidationError(option.empty() ? e.where() : option, e.reason());
  }
}

}  // namespace nettool::core
