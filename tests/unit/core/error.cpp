#include "nettool/core/error.hpp"

#include <boost/asio/error.hpp>
#include <catch2/catch.hpp>

#include <cerrno>

using namespace nettool::core;

namespace {
error_code sys(int e) { return {e, boost::system::system_category()}; }
}  // namespace

TEST_CASE("every error class maps to its SPEC exit code", "[unit][error]") {
  CHECK(exit_code_for(make_error_code(errc::usage), "option") == 2);
  CHECK(exit_code_for(boost::asio::error::host_not_found, "resolve") == 3);
  CHECK(exit_code_for(boost::asio::error::host_not_found_try_again, "resolve") == 3);
  CHECK(exit_code_for(sys(ECONNREFUSED), "connect") == 4);
  CHECK(exit_code_for(sys(ENETUNREACH), "connect") == 4);
  CHECK(exit_code_for(sys(EHOSTUNREACH), "connect") == 4);
  CHECK(exit_code_for(sys(ECONNRESET), "connect") == 4);
  CHECK(exit_code_for(sys(ECONNRESET), "read") == 1);  // a peer vanishing mid-stream
  CHECK(exit_code_for(make_error_code(errc::tls_failed), "tls") == 5);
  CHECK(exit_code_for(make_error_code(errc::protocol), "read") == 6);
  CHECK(exit_code_for(make_error_code(errc::peer_error), "read") == 7);
  CHECK(exit_code_for(sys(EADDRINUSE), "bind") == 8);
  CHECK(exit_code_for(sys(EACCES), "bind") == 8);
  CHECK(exit_code_for(sys(ENOENT), "file") == 8);
  CHECK(exit_code_for(make_error_code(errc::nothing_available), "timeout") == 9);
  CHECK(exit_code_for(make_error_code(errc::assertion_failed), "expect") == 10);
  CHECK(exit_code_for(make_error_code(errc::timed_out), "connect") == 124);
  CHECK(exit_code_for(make_error_code(errc::interrupted), "signal") == 130);
  CHECK(exit_code_for(make_error_code(errc::terminated), "signal") == 143);
  CHECK(exit_code_for(make_error_code(errc::stdout_closed), "write") == 0);
  CHECK(exit_code_for(make_error_code(errc::failure), "exec") == 1);
}

TEST_CASE("errors describe phase, target and reason on one line", "[unit][error]") {
  error e(sys(ECONNREFUSED), "connect", "127.0.0.1:9");
  CHECK(e.describe() == "connect 127.0.0.1:9: Connection refused");
  error t(errc::timed_out, "idle", {}, "no data for 1s");
  CHECK(t.describe() == "idle: no data for 1s");
}

TEST_CASE("transient outcomes are the ones SPEC lists", "[unit][error][retry]") {
  CHECK(is_transient(error(boost::asio::error::host_not_found, "resolve", "x")));
  CHECK(is_transient(error(sys(ECONNREFUSED), "connect", "x")));
  CHECK(is_transient(error(sys(ECONNRESET), "connect", "x")));
  CHECK(is_transient(error(errc::timed_out, "connect", "x")));
  CHECK_FALSE(is_transient(error(errc::timed_out, "idle")));
  CHECK_FALSE(is_transient(error(errc::tls_failed, "tls", "x")));
  CHECK_FALSE(is_transient(error(sys(ECONNRESET), "read", "x")));
  CHECK_FALSE(is_transient(error(errc::usage, "option")));
}

namespace {
// An adapter's own category, as grpc's status codes are.
class demo_category final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "demo"; }
  std::string message(int ev) const override { return "demo " + std::to_string(ev); }
};
const demo_category demo;
}  // namespace

TEST_CASE("an adapter's category maps its own codes to exit codes and transience", "[unit][error]") {
  const error_code five(5, demo), fourteen(14, demo);
  CHECK(exit_code_for(five, "call") == 1);  // unregistered: a plain failure
  register_exit_codes(demo, {[](int v) { return 64 + v; }, [](int v) { return v == 14; }});
  CHECK(exit_code_for(five, "call") == 69);
  CHECK(exit_code_for(fourteen, phase::connect) == 78);
  CHECK(is_transient(error(fourteen, "call")));
  CHECK_FALSE(is_transient(error(five, phase::connect)));
  // The core's own codes are untouched.
  CHECK(exit_code_for(sys(ECONNREFUSED), phase::connect) == 4);
}
