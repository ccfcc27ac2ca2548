#include "nettool/core/connect.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>

#include <sys/socket.h>

using namespace nettool::core;

namespace {

std::vector<std::string> resolved(const std::string& host, const connect_options& options) {
  asio::io_context io;
  std::vector<std::string> out;
  asio::co_spawn(io, resolve(host, 80, options), [&](std::exception_ptr e, std::vector<asio::ip::tcp::endpoint> eps) {
    if (e) std::rethrow_exception(e);
    for (const auto& ep : eps) out.push_back(ep.address().to_string());
  });
  io.run();
  return out;
}

}  // namespace

TEST_CASE("localhost is loopback without DNS or /etc/hosts, honouring -4/-6", "[unit][connect]") {
  connect_options any, v4, v6;
  v4.family = AF_INET;
  v6.family = AF_INET6;
  CHECK(resolved("localhost", any) == std::vector<std::string>{"127.0.0.1", "::1"});
  CHECK(resolved("LOCALHOST.", any) == std::vector<std::string>{"127.0.0.1", "::1"});
  CHECK(resolved("api.localhost", v4) == std::vector<std::string>{"127.0.0.1"});
  CHECK(resolved("localhost", v6) == std::vector<std::string>{"::1"});
  CHECK(resolved("notlocalhost", [] {
          connect_options pinned;
          pinned.resolve = {"notlocalhost:80:192.0.2.1"};
          return pinned;
        }()) == std::vector<std::string>{"192.0.2.1"});
}

TEST_CASE("resolve pins win, literals need no resolver", "[unit][connect]") {
  connect_options pinned;
  pinned.resolve = {"db.test:80:[::1],127.0.0.2"};
  CHECK(resolved("db.test", pinned) == std::vector<std::string>{"::1", "127.0.0.2"});
  CHECK(resolved("192.0.2.7", connect_options{}) == std::vector<std::string>{"192.0.2.7"});
}
