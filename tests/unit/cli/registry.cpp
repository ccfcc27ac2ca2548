// The protocol table and the module loader (ARCHITECTURE.md, "Start-up is a
// feature"): modules are found by name and loaded only on use.
#include "nettool/cli/registry.hpp"
#include "nettool/core/context.hpp"
#include "nettool/core/error.hpp"

#include <CLI/CLI.hpp>
#include <catch2/catch.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include <cstdlib>
#include <dlfcn.h>

using namespace nettool;

TEST_CASE("built-in protocols are in the table and need no module", "[unit][registry]") {
  for (const char* name : {"tcp", "udp"}) {
    const auto* entry = cli::find_protocol(name);
    REQUIRE(entry);
    CHECK(entry->builtin);
    CHECK(std::string(cli::load(*entry, "/nonexistent/nettool").name) == name);
  }
  CHECK(cli::find_protocol("nope") == nullptr);
}

TEST_CASE("a module protocol is dlopen'ed from the module directory on first use", "[unit][registry]") {
  ::setenv("NETTOOL_MODULE_DIR", NETTOOL_TEST_MODULE_DIR, 1);
  const cli::protocol_entry demo{"demo", "a test module", nullptr, "demo"};
  CHECK(cli::module_path("/x/bin/nettool", "demo") == std::string(NETTOOL_TEST_MODULE_DIR) + "/nettool-demo.so");
  // Not loaded before it is asked for.
  CHECK(::dlopen((std::string(NETTOOL_TEST_MODULE_DIR) + "/nettool-demo.so").c_str(), RTLD_NOLOAD | RTLD_NOW) == nullptr);
  const auto& descriptor = cli::load(demo, "/x/bin/nettool");
  CHECK(std::string(descriptor.name) == "demo");
  CLI::App app;
  core::verb_table verbs;
  descriptor.configure(app, verbs, {});
  REQUIRE(verbs.verbs().size() == 1);
  CHECK(verbs.verbs().front().command->get_name() == "hello");
  core::common_options common;
  core::run_context ctx("demo hello", common);
  int code = 0;
  core::asio::co_spawn(ctx.io(), verbs.verbs().front().run(ctx), [&](std::exception_ptr, int rc) { code = rc; });
  ctx.io().run();
  CHECK(code == 42);
  ::unsetenv("NETTOOL_MODULE_DIR");
}

TEST_CASE("a missing module is a clear error naming the file", "[unit][registry]") {
  ::setenv("NETTOOL_MODULE_DIR", "/nonexistent-modules", 1);
  const cli::protocol_entry missing{"ghost", "", nullptr, "ghost"};
  CHECK_THROWS_WITH(cli::load(missing, "/x/bin/nettool"), Catch::Contains("nettool-ghost.so"));
  ::unsetenv("NETTOOL_MODULE_DIR");
}
