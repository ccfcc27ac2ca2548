// The shared option groups of SPEC §1, defined once and attached to the
// verbs that support them (socat's idea: an option exists only where its
// group is declared). Every long option also reads NETTOOL_<OPTION>.
#pragma once

#include "nettool/core/connect.hpp"
#include "nettool/core/listen.hpp"
#include "nettool/core/parse.hpp"
#include "nettool/core/retry.hpp"
#include "nettool/core/tls.hpp"

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace CLI {
class App;
class Option;
}  // namespace CLI

namespace nettool::core {

// -v/-vv/-vvv, -q, --json, --timeout: on every verb.
struct common_options {
  int verbosity = 0;
  bool quiet = false;
  bool json = false;
  std::optional<duration> timeout;
  int level() const { return quiet ? -1 : verbosity; }
};

struct timeout_options {
  duration connect_timeout = std::chrono::seconds(10);
  std::optional<duration> idle_timeout;
  retry_policy retry;
};

void add_common_options(CLI::App& app, common_options& options);
// --connect-timeout, --idle-timeout (with `idle`) and, where a verb retries
// anything (`retries`), --retries/--retry-delay/--retry-max-delay.
void add_timeout_options(CLI::App& app, timeout_options& options, bool idle = true, bool retries = true);
// -4/-6, --resolve, --proxy, --source, --nodelay, --keepalive
void add_connect_options(CLI::App& app, connect_options& options);
void add_family_options(CLI::App& app, int& family);
// --tls, --cacert, --insecure, --cert, --key, --servername; without --tls
// for URL schemes that say it (https://, wss://).
// `key_option`: the client key's option, where a protocol's own --key means
// something else (amqp's binding key: --cert-key).
void add_tls_client_options(CLI::App& app, tls_client_options& options, bool tls_flag = true,
                            const std::string& key_option = "--key");
// --tls, --cert, --key, --client-ca
void add_tls_server_options(CLI::App& app, tls_server_options& options);
// --bind, -p/--port and a positional PORT, --port-file, and for stream
// servers --max-conns
// (without the positional PORT where the verb's positional is something
// else, as DIR for http serve)
void add_listen_options(CLI::App& app, listen_options& options, bool stream = true, bool port_positional = true);

// HOST and PORT positionals of a client verb; PORT must be 1-65535.
void add_host_port(CLI::App& app, std::string& host, std::string& port, bool required = true);

// Typed options whose values use SPEC §1 syntax; a bad value is a usage
// error naming the option.
CLI::Option* add_duration_option(CLI::App& app, const std::string& name, duration& target, const std::string& help);
CLI::Option* add_duration_option(CLI::App& app, const std::string& name, std::optional<duration>& target,
                                 const std::string& help);
CLI::Option* add_size_option(CLI::App& app, const std::string& name, std::uint64_t& target, const std::string& help);

// Gives every long option of `app` (and its subcommands) the environment
// fallback NETTOOL_<OPTION>; the command line wins.
void add_environment_fallbacks(CLI::App& app);

std::string environment_name(const std::string& long_name);

// Runs a check written for run time (it throws core::error) at parse time:
// its failure becomes a usage error (exit 2) naming `option`, or the
// error's own subject when `option` is empty.
void check_option(const std::function<void()>& check, const std::string& option = {});

// The message verbs' shared vocabulary (SPEC §1: udp, zmq; ws and amqp
// next), so the same flag means the same thing everywhere:
// --send TEXT, repeatable, instead of stdin (extra names: aliases kept for
// a verb's history, e.g. udp's --message) …
CLI::Option* add_send_option(CLI::App& app, std::vector<std::string>& texts, const std::string& aliases = {});
// … --count N: stop after N messages received …
CLI::Option* add_count_option(CLI::App& app, std::optional<std::uint64_t>& count, const std::string& help);
// … and --expect REGEX over what is received (checked at parse time).
CLI::Option* add_expect_option(CLI::App& app, std::string& pattern, const std::string& help);

}  // namespace nettool::core
