// What publish and bench share: batches of messages handed to the session's
// worker, published there with confirms pipelined through a window.
#pragma once

#include "properties.hpp"
#include "session.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace nettool::amqp {

// One hand-over to the worker: enough messages that the thread switch is
// paid once per many, few enough that input keeps flowing.
struct batch {
  static constexpr std::size_t max_messages = 512;
  static constexpr std::size_t max_bytes = 256 * 1024;
  std::string bytes;              // the bodies, back to back
  std::vector<std::size_t> ends;  // where each ends in `bytes`
  void add(std::string_view body) {
    bytes.append(body);
    ends.push_back(bytes.size());
  }
  bool full() const { return ends.size() >= max_messages || bytes.size() >= max_bytes; }
  bool empty() const { return ends.empty(); }
  void clear() {
    bytes.clear();
    ends.clear();
  }
};

// Where and how a publisher publishes. It must outlive the publisher.
struct destination {
  std::string exchange;
  std::string routing_key;
  const outgoing_properties* properties = nullptr;
  bool mandatory = false;
  bool confirm = true;
  std::uint64_t window = 1000;  // unconfirmed messages, at most
};

class publisher {
 public:
  publisher(session& s, const destination& to) : s_(s), to_(to) {}
  // confirm.select, when confirms are on.
  awaitable<void> start();
  // Publishes `b` (which must stay until this returns); the counts as they
  // were when it was published.
  awaitable<session::confirm_counts> send(const batch& b);
  // Waits until every message was confirmed; the counts.
  awaitable<session::confirm_counts> finish();

 private:
  // A step on the worker; its failure says how far publishing got.
  awaitable<void> step(std::function<void(amqp_connection_state_t)> job);

  session& s_;
  const destination& to_;
};

// "N published, A confirmed, U unconfirmed" (or "N published").
std::string summary(const session::confirm_counts& c, bool confirm);

}  // namespace nettool::amqp
