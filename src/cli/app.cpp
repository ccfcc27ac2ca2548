#include "nettool/cli/app.hpp"

#include "nettool/cli/registry.hpp"
#include "nettool/cli/run.hpp"
#include "nettool/core/error.hpp"
#include "nettool/core/log.hpp"
#include "nettool/core/module.hpp"

#include <CLI/CLI.hpp>
#include <boost/version.hpp>
#include <openssl/opensslv.h>

#include <algorithm>
#include <optional>
#include <csignal>
#include <malloc.h>
#include <cstdio>
#include <iostream>
#include <string_view>
#include <unistd.h>

namespace nettool::cli {
namespace {

constexpr std::string_view version = NETTOOL_VERSION;


void print_usage(std::FILE* to) {
  std::string text =
      "nettool: the netcat of every protocol a backend developer meets\n\n"
      "Usage: nettool <protocol> <verb> [ARGS] [OPTIONS]\n"
      "       nettool <protocol> [<verb>] --help\n\n"
      "Protocols:\n";
  for (const auto& p : protocols()) text += fmt::format("  {:<8}{}\n", p.name, p.summary);
  text +=
      "\nOptions:\n"
      "  --help     this text\n"
      "  --version  version and linked library versions\n\n"
      "Examples:\n"
      "  printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nettool tcp connect example.com 80\n"
      "  nettool tcp listen 8080 --echo -k\n"
      "  nettool tcp wait db:5432 --timeout 60s -- ./migrate\n"
      "  echo hello | nettool udp send 127.0.0.1 9999\n\n"
      "Every verb has --help. Exit codes are listed in docs/exit-codes.md.\n";
  std::fputs(text.c_str(), to);
}

void print_version() {
  fmt::print("nettool {}\n", version);
  fmt::print("  Boost {}.{}.{} (Asio, JSON, URL)\n", BOOST_VERSION / 100000, BOOST_VERSION / 100 % 1000,
             BOOST_VERSION % 100);
  // From the headers: reading the library's own string would load it.
  fmt::print("  {} (module nettool-tls.so, loaded for TLS only)\n", OPENSSL_VERSION_TEXT);
  fmt::print("  CLI11 {}, fmt {}.{}.{}\n", CLI11_VERSION, FMT_VERSION / 10000, FMT_VERSION / 100 % 100,
             FMT_VERSION % 100);
  for (const auto& p : protocols())
    fmt::print("  {}: {}\n", p.name, p.builtin ? "built in" : fmt::format("module nettool-{}.so, loaded on use", p.module));
}

// Habits from the tools people come from, and what nettool calls them.
struct hint {
  std::string_view protocol;  // "" for every protocol
  std::string_view token;
  std::string_view text;
  std::string_view verb = {};  // "" for every verb
};
constexpr hint hints[] = {
    {"tcp", "-l", "to accept connections use 'nettool tcp listen PORT'"},
    {"tcp", "-e", "nc's -e is --exec CMD"},
    {"tcp", "-c", "ncat's -c is --exec CMD"},
    {"tcp", "-z", "to probe ports use 'nettool tcp scan HOST PORTS'"},
    {"tcp", "-u", "for UDP use 'nettool udp send|listen'"},
    {"tcp", "-C", "ncat's -C is --crlf"},
    {"tcp", "-w", "nc's -w is --connect-timeout (and --idle-timeout)"},
    {"tcp", "-N", "half-close at stdin EOF is the default here (see --eof)"},
    {"tcp", "-U", "nc's -U is --unix PATH"},
    {"tcp", "-x", "nc's -x is --proxy socks5://HOST:PORT or http://HOST:PORT"},
    {"tcp", "-p", "nc's -p is the source port: --source ADDR:PORT; the port to reach is the second argument"},
    {"tcp", "-q", "nc's -q is --eof wait:DUR (or --eof close)"},
    {"udp", "-l", "to receive datagrams use 'nettool udp listen PORT'"},
    {"", "-d", "in a bench, -d is not the duration: use --duration or -z", "bench"},
    {"http", "--json", "curl's --json sends a body: use --json-body"},
    {"http", "-sSfL", "curl's -sSfL is --fail -L here (nettool is quiet on success already)"},
    {"http", "-sSf", "curl's -sSf is --fail here (nettool is quiet on success already)"},
    {"http", "-fsSL", "curl's -fsSL is --fail -L here (nettool is quiet on success already)"},
    {"http", "-sS", "curl's -sS: nettool is quiet on success and shows errors already"},
    {"http", "-S", "curl's -S: errors are always shown"},
    {"http", "-f", "curl's -f is --fail"},
    {"http", "-O", "curl's -O: give the file name, -o FILE"},
    {"http", "-w", "curl's -w: --json prints status, headers and timing; --timing the step times"},
    {"http", "--write-out", "curl's --write-out: --json prints status, headers and timing; --timing the step times"},
    {"http", "--data-raw", "curl's --data-raw is -d TEXT"},
    {"http", "-T", "curl's -T FILE is 'nettool http put URL -d @FILE'"},
    {"http", "--upload-file", "curl's --upload-file FILE is 'nettool http put URL -d @FILE'"},
    {"http", "-p", "the port is -p here only for 'http serve'; a client's port goes in the URL", "get"},
};

const hint* hint_in(std::string_view protocol, const std::vector<std::string_view>& args) {
  for (const auto& h : hints) {
    if (!h.protocol.empty() && h.protocol != protocol) continue;
    if (!h.verb.empty() && std::find(args.begin(), args.end(), h.verb) == args.end()) continue;
    for (auto a : args)
      if (a == h.token) return &h;
  }
  return nullptr;
}

std::string hint_for(std::string_view protocol, const std::vector<std::string_view>& args) {
  const auto* h = hint_in(protocol, args);
  return h ? fmt::format(" (hint: {})", h->text) : std::string{};
}

std::string verb_name(const CLI::App& app, std::string_view protocol) {
  auto parsed = app.get_subcommands();
  return parsed.empty() ? std::string(protocol) : fmt::format("{} {}", protocol, parsed.front()->get_name());
}

std::string verb_list(const CLI::App& app) {
  std::string verbs;
  for (const auto* sub : app.get_subcommands({})) verbs += (verbs.empty() ? "" : ", ") + sub->get_name();
  return verbs;
}

// The first argument that looks like an option and that the verb does not
// have: CLI11 would otherwise report a consequence ("url: At Most 1
// required", "'host' is not a port number") instead of the cause. A value
// of a known option is skipped.
bool takes_value(const CLI::Option* o) { return o->get_items_expected_min() > 0; }

// "-sSfL" is four short flags, "-p8080" one option with its value: known
// when every flag up to the first option that takes a value is known.
bool known_short_group(const CLI::App& verb, std::string_view group) {
  for (std::size_t k = 1; k < group.size(); ++k) {
    const auto* o = verb.get_option_no_throw(std::string{'-', group[k]});
    if (!o) return false;
    if (takes_value(o)) return true;  // the rest is its value
  }
  return true;
}

std::optional<std::string_view> unknown_option(const CLI::App& verb, const std::vector<std::string_view>& args) {
  for (std::size_t i = 2; i < args.size(); ++i) {
    const auto a = args[i];
    if (a == "--") break;
    if (a.size() < 2 || a[0] != '-' || (a[1] >= '0' && a[1] <= '9')) continue;  // positionals, negative numbers
    if (a[1] != '-' && a.size() > 2) {
      if (!known_short_group(verb, a)) return a;
      continue;
    }
    const auto name = a.substr(0, a.find('='));
    const auto* o = verb.get_option_no_throw(std::string(name));
    if (!o) return a;
    if (takes_value(o) && name.size() == a.size()) ++i;  // its value is the next argument
  }
  return std::nullopt;
}

int parse_error(CLI::App& app, const CLI::ParseError& e, std::string_view protocol,
                const std::vector<std::string_view>& args) {
  if (e.get_exit_code() == 0) return app.exit(e);  // --help
  std::string message = e.what();
  const auto parsed = app.get_subcommands();
  if (parsed.empty() && args.size() > 1 && !args[1].starts_with('-')) {
    message = fmt::format("unknown verb '{}' (one of: {})", args[1], verb_list(app));
  } else if (dynamic_cast<const CLI::RequiredError*>(&e) && parsed.empty()) {
    message = fmt::format("a verb is required: {}", verb_list(app));
  } else if (!parsed.empty()) {
    const auto* habit = hint_in(protocol, args);
    const auto* known = habit ? parsed.front()->get_option_no_throw(std::string(habit->token)) : nullptr;
    if (const auto unknown = unknown_option(*parsed.front(), args)) message = fmt::format("unknown option '{}'", *unknown);
    else if (known)  // nc's -q is our --quiet: what went wrong after it is only a consequence
      message = fmt::format("'{}' means {} here", habit->token, known->get_name());
    else if (dynamic_cast<const CLI::RequiresError*>(&e))  // CLI11: "--cert requires --key"
      message.replace(message.find(" requires "), 10, " needs ");
  }
  std::string line = fmt::format("nettool: {}: {}{}; see --help\n", verb_name(app, protocol), message,
                                 hint_for(protocol, args));
  std::fputs(line.c_str(), stderr);
  return core::to_int(core::exit_code::usage);
}

// Loads every protocol and prints "protocol verb" per line: the docs test
// and shell completion read it.
int list_verbs(const std::string& self) {
  for (const auto& p : protocols()) {
    CLI::App app;
    core::verb_table verbs;
    load(p, self).configure(app, verbs, {});
    for (const auto& v : verbs.verbs()) fmt::print("{} {}\n", p.name, v.command->get_name());
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  // Servers allocate and free per-connection buffers (64 KiB each): with
  // glibc's default 128 KiB trim threshold every connection moved the heap
  // top with brk(2) twice and faulted its pages in again. Freed memory up
  // to this much stays with the process instead.
  ::mallopt(M_TRIM_THRESHOLD, 4 * 1024 * 1024);
  // Setting one threshold ends glibc's adaptive mmap threshold, which would
  // otherwise have risen above the pumps' 256 KiB buffers after the first
  // free: without this each buffer is an mmap(2), page faults and a
  // munmap(2) with its TLB flush, on every connection.
  ::mallopt(M_MMAP_THRESHOLD, 1024 * 1024);
  core::log::init(0);
  const std::vector<std::string_view> args(argv + 1, argv + argc);
  if (args.empty()) {
    print_usage(stderr);
    return core::to_int(core::exit_code::usage);
  }
  const auto first = args.front();
  if (first == "--help" || first == "-h" || first == "help") {
    print_usage(stdout);
    return 0;
  }
  if (first == "--version" || first == "-V") {
    print_version();
    return 0;
  }
  try {
    if (first == "--list-verbs") return list_verbs(core::self_path());
    const auto* entry = find_protocol(first);
    if (!entry) {
      std::string names;
      for (const auto& p : protocols()) names += (names.empty() ? "" : ", ") + std::string(p.name);
      core::log::error("unknown protocol '{}' (one of: {}); see nettool --help", first, names);
      return core::to_int(core::exit_code::usage);
    }
    const auto& descriptor = load(*entry, core::self_path());
    CLI::App app(entry->summary, fmt::format("nettool {}", entry->name));
    app.require_subcommand(1);
    core::verb_table verbs;
    descriptor.configure(app, verbs, args.size() > 1 ? args[1] : std::string_view{});
    core::add_environment_fallbacks(app);
    // `-- CMD...` is the verb's command to run, not arguments for CLI11.
    int parsed_argc = argc;
    for (int i = 2; i < argc; ++i)
      if (std::string_view(argv[i]) == "--") {
        parsed_argc = i;
        break;
      }
    const std::vector<std::string> trailing(argv + std::min(parsed_argc + 1, argc), argv + argc);
    try {
      app.parse(parsed_argc - 1, argv + 1);
    } catch (const CLI::ParseError& e) {
      return parse_error(app, e, entry->name, args);
    }
    for (const auto& verb : verbs.verbs()) {
      if (!verb.command->parsed()) continue;
      const auto name = verb_name(app, entry->name);
      if (parsed_argc < argc) {
        if (!verb.trailing || trailing.empty()) {
          core::log::error("{}: {} after --; see --help", name, verb.trailing ? "a command is expected" : "takes no command");
          return core::to_int(core::exit_code::usage);
        }
        *verb.trailing = trailing;
      }
      return run(verb, name);
    }
    return core::to_int(core::exit_code::usage);
  } catch (const core::error& e) {
    core::log::error("{}: {}", first, e.describe());
    return core::exit_code_for(e);
  }
}

}  // namespace nettool::cli
