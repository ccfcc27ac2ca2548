// zmq bench: throughput (push-pull, pub-sub) and round trips (req-rep) with
// the core's bench kit. In one process the two ends run on two threads,
// each with its own io_context, as two programs would; with --bind or
// --connect nettool is the sending (or requesting) end of a remote peer.
#include "socket.hpp"

#include <future>

#include "nettool/core/bench.hpp"
#include "nettool/core/error.hpp"
#include "nettool/core/log.hpp"
#include "nettool/core/output.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/json.hpp>
#include <fmt/format.h>

#include <chrono>

namespace nettool::zmq {
namespace {

using clock = std::chrono::steady_clock;

// The sender's last message: the receiver stops at it (it is not counted).
const std::string end_marker = "\x01nettool-bench-end";

struct shape {
  ::zmq::socket_type sender;
  ::zmq::socket_type receiver;
};

shape shape_of(const std::string& pattern) {
  if (pattern == "pub-sub") return {::zmq::socket_type::xpub, ::zmq::socket_type::sub};
  if (pattern == "req-rep") return {::zmq::socket_type::req, ::zmq::socket_type::rep};
  return {::zmq::socket_type::push, ::zmq::socket_type::pull};
}

socket_args endpoints(const bench_args& args, kind type, std::vector<std::string> bind,
                      std::vector<std::string> connect) {
  socket_args s = args.sockets;
  s.type = type;  // pub: XPUB_NODROP, sub: subscribed to everything
  s.bind = std::move(bind);
  s.connect = std::move(connect);
  return s;
}

// The sending end queues nothing before it is connected (ZMQ_IMMEDIATE;
// --sockopt immediate=0 still wins), so waiting until it can send waits for
// the peer.
socket_args sending_end(socket_args s) {
  s.sockopts.insert(s.sockopts.begin(), "immediate=1");
  return s;
}

// What the two ends share in one process, written when each is done: the
// hot loops count in locals, or the two threads' counters would share a
// cache line and bounce it on every message.
struct run_state {
  core::bench_result result;
  clock::time_point measure_from{};
  clock::time_point received_last{};
  std::uint64_t received = 0;
};

// One sending socket's part of the plan: messages of --size bytes as the
// plan says (shared by the -c sockets), round trips measured for req-rep.
awaitable<void> send_share(async_socket& socket, const bench_args& args, core::load_plan& plan,
                           core::bench_result& result) {
  const bool round_trip = args.pattern == "req-rep";
  const message payload{std::string(args.size, 'x')};
  while (auto intended = plan.next()) {
    if (args.bench.rate) co_await core::sleep_for(std::chrono::duration_cast<core::duration>(*intended - clock::now()));
    // Only round trips read the clock per message (see load_plan::next).
    const auto start = args.bench.rate || !round_trip ? *intended : clock::now();
    if (!socket.try_send(payload)) co_await socket.send(payload);
    if (round_trip) {
      (void)co_await socket.receive();
      if (plan.measuring(start)) result.latency.record(clock::now() - start);
    }
    if (plan.measuring(start)) {
      ++result.count;
      result.bytes += args.size;
    }
  }
}

// The sending end: -c sockets (each its own connection) share one plan. In
// one process each then sends an end marker and closes without waiting
// (the receiver's markers say all arrived); to a remote peer the last one
// waits up to --linger for what is queued.
awaitable<void> drive(std::shared_ptr<::zmq::context_t> context, const bench_args& args, const socket_args& where,
                      bool in_process, run_state& run) {
  auto ex = co_await core::asio::this_coro::executor;
  const auto type = shape_of(args.pattern).sender;
  std::vector<std::unique_ptr<async_socket>> sockets;
  for (std::size_t i = 0; i < args.bench.concurrency; ++i) {
    sockets.push_back(open_socket(*context, type, where, ex));
    // The time counts from the connection: with ZMQ_IMMEDIATE (see
    // sending_end) a socket can send once its peer is there. A publisher
    // waits for the subscription, else the first messages are lost.
    if (type == ::zmq::socket_type::xpub) co_await wait_for_subscribers(*sockets.back(), 1);
    else co_await sockets.back()->wait_writable();
  }
  core::log::info("bench: {} sending socket{} connected", sockets.size(), sockets.size() == 1 ? "" : "s");
  core::load_plan plan(args.bench, clock::now());
  run.measure_from = plan.measure_from();
  std::vector<core::bench_result> shares(sockets.size());
  std::vector<awaitable<void>> workers;
  for (std::size_t i = 0; i < sockets.size(); ++i) workers.push_back(send_share(*sockets[i], args, plan, shares[i]));
  co_await core::all_of(std::move(workers));
  for (const auto& share : shares) run.result.merge(share);
  run.result.elapsed = clock::now() - plan.measure_from();

  if (in_process) {
    const message marker{end_marker};
    for (auto& socket : sockets) {
      co_await socket->send(marker);
      socket->close_in_background();
    }
    co_return;
  }
  auto last = std::move(sockets.back());
  sockets.pop_back();
  for (auto& socket : sockets) socket->close_in_background();
  co_await close_lingering(std::move(last), std::move(context));  // the context ends after every socket's linger
}

// The receiving end in one process: a sink (pull, sub) or an echo (rep),
// until every sending socket's end marker came.
// `bound` gets the endpoint libzmq picked for "tcp://127.0.0.1:*".
awaitable<void> serve(::zmq::context_t& context, const bench_args& args, const socket_args& where, run_state& run,
                      std::promise<std::string>& bound) {
  auto ex = co_await core::asio::this_coro::executor;
  std::unique_ptr<async_socket> socket;
  try {
    socket = open_socket(context, shape_of(args.pattern).receiver, where, ex);
  } catch (...) {
    bound.set_exception(std::current_exception());  // the sending thread waits for it
    throw;
  }
  bound.set_value(socket->raw().get(::zmq::sockopt::last_endpoint));
  std::size_t markers = 0;  // one per sending socket
  message msg;
  std::uint64_t received = 0;
  if (args.pattern == "req-rep") {
    for (;;) {
      if (!socket->try_receive(msg)) msg = co_await socket->receive();
      if (msg.size() == 1 && msg.front() == end_marker) {
        if (++markers == args.bench.concurrency) break;
      } else {
        ++received;
      }
      co_await socket->send(msg);  // a REP replies before it reads on, also to a marker
    }
  } else {
    // A sink: messages are counted, not copied out.
    ::zmq::message_t frame;
    for (;;) {
      if (!socket->try_receive_first(frame)) {
        co_await socket->wait_readable();
        continue;
      }
      if (frame.to_string_view() != end_marker) ++received;
      else if (++markers == args.bench.concurrency) break;
    }
  }
  run.received_last = clock::now();
  run.received = received;
}

// The sending end in one process, on its own thread: it waits there (its
// loop has nothing else to run yet, and a bind is quick) for the port the
// receiver bound.
awaitable<void> drive_when_bound(std::shared_ptr<::zmq::context_t> context, const bench_args& args, kind sender_kind,
                                 std::future<std::string>& bound, run_state& run) {
  const auto where = sending_end(endpoints(args, sender_kind, {}, {bound.get()}));
  co_await drive(std::move(context), args, where, true, run);
}

}  // namespace

awaitable<int> run_bench(core::run_context& ctx, const bench_args& args) {
  auto context = std::make_shared<::zmq::context_t>(1);
  run_state run;
  const auto sender_kind = args.pattern == "pub-sub" ? kind::pub : args.pattern == "req-rep" ? kind::req : kind::push;
  if (!args.sockets.bind.empty() || !args.sockets.connect.empty()) {
    co_await drive(context, args, sending_end(endpoints(args, sender_kind, args.sockets.bind, args.sockets.connect)),
                   false, run);
  } else {
    // One process over loopback TCP, each end on its own thread and loop.
    // The receiver binds a port libzmq picks (no probe port that another
    // program could take before libzmq binds it) and hands it over.
    const auto receiver_kind = args.pattern == "pub-sub" ? kind::sub : args.pattern == "req-rep" ? kind::rep : kind::pull;
    const auto receiving = endpoints(args, receiver_kind, {"tcp://127.0.0.1:*"}, {});
    std::promise<std::string> bound;
    auto bound_endpoint = bound.get_future();
    // Each end has its own context (and libzmq I/O thread), as two
    // processes would.
    auto receiver_context = std::make_shared<::zmq::context_t>(1);
    co_await core::on_threads(2, [&](std::size_t i) {
      return i == 0 ? serve(*receiver_context, args, receiving, run, bound)
                    : drive_when_bound(context, args, sender_kind, bound_endpoint, run);
    });
    // Throughput counts until the last message arrived, not until it left.
    if (args.pattern != "req-rep") run.result.elapsed = run.received_last - run.measure_from;
    core::log::info("bench: the receiving end got {} messages", run.received);
  }
  run.result.extra["pattern"] = args.pattern;
  run.result.extra["size"] = args.size;
  co_return core::finish_bench(ctx.out(), ctx.json(), args.bench, run.result, "messages");
}

}  // namespace nettool::zmq
