// zmq proxy: zmq_proxy(3)'s job on the io_context, so SIGINT, --timeout
// and -v counters work as everywhere else.
#include "socket.hpp"

#include "nettool/core/error.hpp"
#include "nettool/core/log.hpp"

#include <chrono>

namespace nettool::zmq {
namespace {

struct proxy_shape {
  std::string_view name;
  ::zmq::socket_type frontend;
  ::zmq::socket_type backend;
  bool both_ways;  // replies (router-dealer) or subscriptions (xsub-xpub) flow back
};

constexpr proxy_shape shapes[] = {
    {"xsub-xpub", ::zmq::socket_type::xsub, ::zmq::socket_type::xpub, true},
    {"router-dealer", ::zmq::socket_type::router, ::zmq::socket_type::dealer, true},
    {"pull-push", ::zmq::socket_type::pull, ::zmq::socket_type::push, false},
};

struct counters {
  std::uint64_t forward = 0;
  std::uint64_t back = 0;
};

std::unique_ptr<async_socket> bound(::zmq::context_t& context, ::zmq::socket_type type, const std::string& ep,
                                    const proxy_args& args, const core::asio::any_io_executor& ex) {
  socket_args side = args.sockets;
  side.bind = {ep};
  return open_socket(context, type, side, ex);
}

// Moves every message from one socket to the other, draining what is
// queued before waiting again; a copy goes to --capture.
awaitable<void> forward(async_socket& from, async_socket& to, async_socket* capture, std::uint64_t& count) {
  message msg;
  for (;;) {
    if (!from.try_receive(msg)) msg = co_await from.receive();
    co_await to.send(msg);
    if (capture) co_await capture->send(msg);
    ++count;
  }
}

// -v: the counters every 5 s while they move.
awaitable<void> report(const counters& c, const proxy_shape& shape) {
  counters last;
  for (;;) {
    co_await core::sleep_for(std::chrono::seconds(5));
    if (c.forward == last.forward && c.back == last.back) continue;
    last = c;
    if (shape.both_ways) core::log::info("proxy: {} messages forward, {} back", c.forward, c.back);
    else core::log::info("proxy: {} messages", c.forward);
  }
}

}  // namespace

std::string check_proxy_type(const std::string& name) {
  for (const auto& s : shapes)
    if (s.name == name) return {};
  return "'" + name + "': one of xsub-xpub, router-dealer, pull-push";
}

awaitable<int> run_proxy(core::run_context& ctx, const proxy_args& args) {
  const proxy_shape* shape = &shapes[0];
  for (const auto& s : shapes)
    if (s.name == args.type) shape = &s;
  auto context = std::make_shared<::zmq::context_t>(1);
  auto ex = ctx.executor();
  auto frontend = bound(*context, shape->frontend, args.frontend, args, ex);
  auto backend = bound(*context, shape->backend, args.backend, args, ex);
  std::unique_ptr<async_socket> capture;
  if (!args.capture.empty()) capture = bound(*context, ::zmq::socket_type::pub, args.capture, args, ex);
  core::log::info("proxy {}: {} -> {}", shape->name, args.frontend, args.backend);
  counters c;
  // The counters are logged once more however the proxy ends (SIGINT).
  struct final_report {
    const counters& c;
    ~final_report() { core::log::info("proxy: {} messages forward, {} back", c.forward, c.back); }
  } at_end{c};
  std::vector<awaitable<void>> work;
  work.push_back(forward(*frontend, *backend, capture.get(), c.forward));
  if (shape->both_ways) work.push_back(forward(*backend, *frontend, capture.get(), c.back));
  if (ctx.common().level() >= 1) work.push_back(report(c, *shape));
  co_await core::all_of(std::move(work));
  co_return 0;
}

}  // namespace nettool::zmq
