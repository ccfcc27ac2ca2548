#include "../../../src/zmq/linger.hpp"

#include <catch2/catch.hpp>

using namespace std::chrono_literals;
using nettool::zmq::linger_ran_out;

TEST_CASE("a close that took the whole linger, or all but libzmq's timer slack, dropped messages") {
  CHECK(linger_ran_out(500ms, 500ms));
  CHECK(linger_ran_out(650ms, 500ms));
  // Measured once in 300 runs with no peer: libzmq's millisecond timer.
  CHECK(linger_ran_out(499802us, 500ms));
  CHECK(linger_ran_out(498ms, 500ms));
}

TEST_CASE("a close that ended well before the linger delivered everything") {
  CHECK_FALSE(linger_ran_out(497999us, 500ms));
  CHECK_FALSE(linger_ran_out(3ms, 500ms));
  CHECK_FALSE(linger_ran_out(0ms, 10ms));
}

TEST_CASE("under 10 ms of linger (and 0, and -1 for never) no loss is claimed") {
  CHECK_FALSE(linger_ran_out(9ms, 9ms));
  CHECK_FALSE(linger_ran_out(1ms, 0ms));
  CHECK_FALSE(linger_ran_out(5s, -1ms));
}
