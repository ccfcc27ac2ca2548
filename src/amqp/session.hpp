// One broker connection (channel 1) on rabbitmq-c, whose calls block: the
// connection lives on a core::foreign_worker thread and is only ever used
// there. The io_context side (the verbs) hands it jobs and awaits their
// results; what the broker sends on its own (deliveries, confirms, a
// channel closed) the worker collects and posts back. So stdin, signals,
// --timeout and stdout behave as in every other protocol, and the io_context
// never blocks on the broker.
#pragma once

#include "amqp.hpp"

#include "nettool/core/foreign_thread.hpp"

#include <amqp.h>

#include <boost/asio/experimental/channel.hpp>
#include <boost/json/object.hpp>

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace nettool::amqp {

// The largest message body accepted from a broker (RabbitMQ's own
// max_message_size is 128 MiB): a header announcing more is a protocol
// error, never an allocation.
inline constexpr std::uint64_t max_body = 128ull * 1024 * 1024;
// Bytes of messages read and not yet handled here, beyond which the worker
// stops reading (one message alone may be larger).
inline constexpr std::size_t max_backlog_bytes = 16 * 1024 * 1024;

// A message the broker sent: a delivery, a basic.get answer or a return.
struct message {
  std::string body;
  std::string exchange;
  std::string routing_key;
  std::uint64_t delivery_tag = 0;
  bool redelivered = false;
  std::uint64_t message_count = 0;  // basic.get-ok: messages left in the queue
  boost::json::object properties;   // decoded only when the session wants them (--json)
  std::optional<std::int64_t> stream_offset;  // from a stream queue: where --reconnect resumes
};

// The broker's answer as an exception: connection or channel closed (exit 7
// with the broker's reply text), the connection lost (4), a timeout (124).
[[noreturn]] void throw_reply(const amqp_rpc_reply_t& reply, const std::string& phase);
void check_reply(const amqp_rpc_reply_t& reply, const std::string& phase);
// A connection lost (the broker went, a proxy or the network cut it, 320
// CONNECTION_FORCED): what --retries and --reconnect start over after. A
// refusal by the broker (a missing queue, a wrong password) is not.
bool is_lost_connection(const core::error& e);

// A library status (amqp_basic_publish's and others' int results).
void check_status(int status, const std::string& phase);

amqp_bytes_t bytes(const std::string& s);
std::string text(amqp_bytes_t b);

class session {
 public:
  session(core::run_context& ctx, const client_args& args, bool want_properties = false);
  // Closes what close() did not: the channel and the connection, bounded,
  // on the worker (acks posted before still go first). Under amqps:// the
  // close handshake needs the io_context, which a destructor holds up: the
  // connection is then only dropped (the relay passes on what was written).
  ~session();
  session(const session&) = delete;
  session& operator=(const session&) = delete;

  // Connects with the core (--resolve, --proxy, Unix sockets, retries),
  // then logs in and opens channel 1, all within --connect-timeout.
  awaitable<void> open();
  // The close handshake, after every posted job: what a verb that ends
  // normally does last.
  awaitable<void> close();

  // Runs `job` with the connection on the worker and waits for it. If the
  // caller is cancelled, the socket is shut down so a blocking call ends.
  awaitable<void> call(std::function<void(amqp_connection_state_t)> job);

  // Queues `job` without waiting (acks: their order is the worker's).
  void post(std::function<void(amqp_connection_state_t)> job);

  // --- what the broker sends on its own, collected on the worker --------
  // Deliveries go into the inbox as they are read, while at most
  // `backlog_limit` messages wait there unprocessed; beyond that the worker
  // stops reading the socket (the broker's own flow control holds the rest).
  struct inbox_item {
    std::vector<message> messages;
    std::exception_ptr failure;  // the connection or channel ended
  };
  // Starts reading deliveries (after basic.consume was sent).
  void start_deliveries(std::size_t backlog_limit);
  // The next batch of deliveries, or the failure that ended them.
  awaitable<inbox_item> next_deliveries();
  // The same, or nothing when none came within `limit` (a deadline that
  // comes with a batch never loses it, as a with_timeout around
  // next_deliveries could).
  awaitable<std::optional<inbox_item>> next_deliveries_within(core::duration limit);
  // The io side is done with `batch` (written, or handed on): lets the
  // worker read again. Call it before the batch goes.
  void consumed(const std::vector<message>& batch);

  // --- publisher confirms, on the worker ------------------------------------
  struct confirm_counts {
    std::uint64_t published = 0;
    std::uint64_t acked = 0;
    std::uint64_t nacked = 0;
    std::uint64_t returned = 0;
    std::uint64_t unconfirmed() const { return published - acked - nacked; }
  };
  // Only from a job: waits (blocking the worker) until at most `limit`
  // published messages are unconfirmed; reads whatever else comes meanwhile.
  void wait_confirms(std::uint64_t limit);
  // Only from a job: a message was published (confirms on).
  void published() {
    ++confirms_.published;
    confirm_window_.push_back(0);
  }
  // Only from a job: reads every frame already there, without waiting.
  void drain();
  // Copies, for the io side: read at the end of a publish (from a call).
  confirm_counts confirms() const { return confirms_; }

  // Only from a job: the next frame within `timeout` (nullptr: no limit);
  // false when none came. Handles what concerns the connection itself.
  bool read_frame(amqp_frame_t& frame, const timeval* timeout);
  // Only from a job: reads a content header and body for channel 1.
  void read_content(message& into);

  const broker_url& url() const noexcept { return url_; }
  core::run_context& context() noexcept { return ctx_; }

 private:
  void login(std::chrono::steady_clock::time_point deadline);
  // Handles one frame that is not the answer to a call; false if unknown.
  void dispatch(const amqp_frame_t& frame);
  void idle(int wake_fd);
  // False when the broker did not answer the close handshake.
  bool close_on_worker(bool handshake) noexcept;
  void shut_socket() noexcept;
  void forget_socket() noexcept;
  awaitable<void> handshake(core::connection connection, std::chrono::steady_clock::time_point deadline);
  void deliver(std::vector<message> batch);
  void fail_deliveries(std::exception_ptr e);

  core::run_context& ctx_;
  const client_args& args_;
  broker_url url_;
  bool want_properties_;
  amqp_connection_state_t conn_ = nullptr;
  std::mutex fd_mutex_;  // fd_ is read by the io side too, to shut it down
  int fd_ = -1;
  int heartbeat_ = 0;           // negotiated, seconds
  bool open_ = false;           // the worker's: login succeeded and nothing closed it
  bool tls_ = false;            // amqps://: rabbitmq-c's socket is relayed on the io_context
  std::exception_ptr failure_;  // the worker's: what ended the connection

  confirm_counts confirms_;                  // the worker's
  std::deque<std::uint8_t> confirm_window_;  // from the lowest unconfirmed tag: 0 pending, 1 acked, 2 nacked
  std::uint64_t confirm_base_ = 1;
  int nack_reports_ = 0;

  // Deliveries: `reading_` and `pending_` belong to the worker; the inbox
  // and the bell to the io side; `backlog_` is shared.
  bool reading_ = false;
  std::vector<message> pending_;
  std::size_t pending_bytes_ = 0;  // of pending_
  std::atomic<std::size_t> backlog_limit_{4096};
  std::atomic<std::size_t> backlog_{0};
  std::atomic<std::size_t> backlog_bytes_{0};
  // Shared with what the worker posts: a post may run after we are gone.
  struct inbox_state {
    explicit inbox_state(const core::asio::any_io_executor& ex) : bell(ex, 1) {}
    std::deque<inbox_item> items;
    core::asio::experimental::channel<void(boost::system::error_code)> bell;
  };
  std::shared_ptr<inbox_state> inbox_;
  static awaitable<void> wait_for_bell(std::shared_ptr<inbox_state> inbox);

  // Last: its thread ends (in its destructor) before the members above go.
  core::foreign_worker worker_;
};

}  // namespace nettool::amqp
