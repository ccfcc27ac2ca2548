#pragma once

#include <chrono>

namespace nettool::zmq {

// libzmq's linger timer counts whole (and cached) milliseconds, so a queue
// it dropped can end zmq_ctx_term up to a millisecond or so before the
// linger as we time it: 2 of 300 pushes with no peer measured under 500 ms
// (the lowest 499.8 ms) and would have exited 0.
inline constexpr std::chrono::milliseconds libzmq_timer_slack{2};

// Whether messages were still queued when the linger ran out (libzmq then
// dropped them), judged by how long closing took: zmq_ctx_term returns as
// soon as every queue is empty. A queue that really drained in the last
// 2 ms is called dropped: a false "undelivered" is retried, a false
// "delivered" is data lost without a word. Under 10 ms linger the two
// cannot be told apart by time (and 0 drops by the user's choice), so no
// loss is claimed.
constexpr bool linger_ran_out(std::chrono::steady_clock::duration took, std::chrono::milliseconds linger) {
  if (linger < std::chrono::milliseconds(10)) return false;
  return took >= linger - libzmq_timer_slack;
}

}  // namespace nettool::zmq
