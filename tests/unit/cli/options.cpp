// The option groups: typed values, NETTOOL_* fallbacks, parse errors → 2.
#include "nettool/cli/app.hpp"
#include "nettool/core/options.hpp"

#include <CLI/CLI.hpp>
#include <catch2/catch.hpp>

#include <cstdlib>

using namespace nettool::core;
using namespace std::chrono_literals;

namespace {

struct env_guard {
  explicit env_guard(const char* name, const char* value) : name_(name) { ::setenv(name, value, 1); }
  ~env_guard() { ::unsetenv(name_); }
  const char* name_;
};

int run_cli(std::vector<std::string> args) {
  args.insert(args.begin(), "nettool");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  return nettool::cli::main(static_cast<int>(argv.size()), argv.data());
}

}  // namespace

TEST_CASE("timeouts group parses durations and falls back to NETTOOL_*", "[unit][options][env]") {
  CLI::App app;
  timeout_options t;
  add_timeout_options(app, t);
  add_environment_fallbacks(app);
  env_guard g1("NETTOOL_CONNECT_TIMEOUT", "2s");
  env_guard g2("NETTOOL_RETRIES", "3");
  app.parse(std::vector<std::string>{"1.5s", "--retry-delay"});  // reversed: CLI11 parses from the back
  CHECK(t.connect_timeout == duration(2s));
  CHECK(t.retry.retries == 3);
  CHECK(t.retry.first_delay == duration(1500ms));
}

TEST_CASE("the command line wins over the environment", "[unit][options][env]") {
  CLI::App app;
  timeout_options t;
  add_timeout_options(app, t);
  add_environment_fallbacks(app);
  env_guard g("NETTOOL_CONNECT_TIMEOUT", "2s");
  app.parse(std::vector<std::string>{"250ms", "--connect-timeout"});
  CHECK(t.connect_timeout == duration(250ms));
}

TEST_CASE("environment names", "[unit][options][env]") {
  CHECK(environment_name("connect-timeout") == "NETTOOL_CONNECT_TIMEOUT");
  CHECK(environment_name("idle-timeout") == "NETTOOL_IDLE_TIMEOUT");
  CHECK(environment_name("retry-max-delay") == "NETTOOL_RETRY_MAX_DELAY");
}

TEST_CASE("bad values are usage errors naming the option", "[unit][options]") {
  CLI::App app;
  timeout_options t;
  add_timeout_options(app, t);
  std::uint64_t size = 0;
  add_size_option(app, "--size", size, "");
  CHECK_THROWS_WITH(app.parse(std::vector<std::string>{"soon", "--connect-timeout"}),
                    Catch::Contains("--connect-timeout") && Catch::Contains("'soon' is not a duration"));
  CHECK_THROWS_WITH(app.parse(std::vector<std::string>{"12Q", "--size"}),
                    Catch::Contains("--size") && Catch::Contains("'12Q' is not a size"));
}

TEST_CASE("CLI parse errors exit 2, --help exits 0", "[unit][cli]") {
  CHECK(run_cli({"tcp", "connect", "--no-such-option", "h", "1"}) == 2);
  CHECK(run_cli({"tcp", "connect", "h"}) == 2);
  CHECK(run_cli({"tcp", "connect", "h", "notaport"}) == 2);
  CHECK(run_cli({"tcp", "listen", "--max-conns", "0"}) == 2);
  CHECK(run_cli({"tcp", "connect", "--eof", "later", "h", "1"}) == 2);
  CHECK(run_cli({"tcp", "scan", "h", "1-"}) == 2);
  CHECK(run_cli({"tcp", "wait", "nohostport"}) == 2);
  CHECK(run_cli({"udp", "send", "h", "1", "--count", "3"}) == 2);
  CHECK(run_cli({"udp", "send", "h", "1", "--ttl", "0", "--message", "x"}) == 2);
  CHECK(run_cli({"bogus"}) == 2);
  CHECK(run_cli({"tcp", "connect", "--help"}) == 0);
  {
    env_guard g("NETTOOL_IDLE_TIMEOUT", "never");
    CHECK(run_cli({"tcp", "connect", "h", "1"}) == 2);
  }
}
