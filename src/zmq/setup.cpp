// Opening a socket as the options say: its type, options, endpoints.
#include "socket.hpp"

#include "nettool/core/error.hpp"
#include "nettool/core/log.hpp"

#include <chrono>

namespace nettool::zmq {
namespace {

using namespace std::chrono;

::zmq::socket_type socket_type_of(const socket_args& args) {
  switch (args.type) {
    // PUB is XPUB underneath: subscriptions can be counted, and
    // ZMQ_XPUB_NODROP makes a full subscriber slow us down instead of
    // losing messages.
    case kind::pub: return ::zmq::socket_type::xpub;
    case kind::sub: return ::zmq::socket_type::sub;
    case kind::push: return ::zmq::socket_type::push;
    case kind::pull: return ::zmq::socket_type::pull;
    case kind::req: return ::zmq::socket_type::req;
    case kind::rep: return ::zmq::socket_type::rep;
    case kind::dealer: return ::zmq::socket_type::dealer;
    case kind::router: return ::zmq::socket_type::router;
    case kind::pair: return ::zmq::socket_type::pair;
  }
  return ::zmq::socket_type::pair;
}

int milliseconds_of(core::duration d) { return static_cast<int>(duration_cast<milliseconds>(d).count()); }

void configure(::zmq::socket_t& s, const socket_args& args) {
  s.set(::zmq::sockopt::linger, milliseconds_of(args.linger));
  s.set(::zmq::sockopt::connect_timeout, milliseconds_of(args.timeouts.connect_timeout));
  s.set(::zmq::sockopt::reconnect_ivl, milliseconds_of(args.timeouts.retry.first_delay));
  s.set(::zmq::sockopt::reconnect_ivl_max, milliseconds_of(args.timeouts.retry.max_delay));
  if (args.hwm) {
    s.set(::zmq::sockopt::sndhwm, *args.hwm);
    s.set(::zmq::sockopt::rcvhwm, *args.hwm);
  }
  // A peer's oversized message is refused (libzmq drops that connection)
  // before any of it is held in memory.
  s.set(::zmq::sockopt::maxmsgsize, static_cast<std::int64_t>(args.max_message_size));
  if (args.identity) s.set(::zmq::sockopt::routing_id, *args.identity);
  // A line for a peer that is not connected is an error, not a silent drop.
  if (args.type == kind::router) s.set(::zmq::sockopt::router_mandatory, 1);
  if (args.type == kind::pub) {
    s.set(::zmq::sockopt::xpub_nodrop, !args.drop);
    // Every subscription is passed up, also a second one to the same topic,
    // so --wait-subscribers counts subscribers, not distinct topics.
    if (args.wait_subscribers) s.set(::zmq::sockopt::xpub_verbose, 1);
  }
  if (args.curve_server) {
    s.set(::zmq::sockopt::curve_server, 1);
    s.set(::zmq::sockopt::curve_secretkey, args.curve_secret_key);
  } else if (!args.curve_serverkey.empty()) {
    s.set(::zmq::sockopt::curve_serverkey, args.curve_serverkey);
    std::string public_key = args.curve_public_key, secret_key = args.curve_secret_key;
    if (secret_key.empty()) {
      // No key pair of our own given: an ephemeral one (the server does not
      // check clients without ZAP, so any pair is as good).
      char pub[41], sec[41];
      if (zmq_curve_keypair(pub, sec) != 0) throw core::error(core::errc::failure, "curve", "libzmq", "no CURVE support");
      public_key = pub;
      secret_key = sec;
    }
    s.set(::zmq::sockopt::curve_publickey, public_key);
    s.set(::zmq::sockopt::curve_secretkey, secret_key);
  }
  apply_sockopts(s.handle(), args.sockopts);  // last: the user's word wins
  if (args.type == kind::sub) {
    if (args.subscribe.empty()) s.set(::zmq::sockopt::subscribe, "");
    for (const auto& topic : args.subscribe) s.set(::zmq::sockopt::subscribe, topic);
  }
}

void attach(::zmq::socket_t& s, const socket_args& args) {
  for (const auto& ep : args.bind) {
    try {
      s.bind(ep);
    } catch (const ::zmq::error_t& e) {
      throw core::error(core::error_code(e.num(), boost::system::system_category()), core::phase::bind, ep);
    }
    core::log::info("bound {}", s.get(::zmq::sockopt::last_endpoint));
  }
  for (const auto& ep : args.connect) {
    try {
      s.connect(ep);
    } catch (const ::zmq::error_t& e) {
      throw core::error(core::errc::usage, core::phase::connect, ep, e.what());
    }
    core::log::info("connecting to {}", ep);
  }
}

}  // namespace

std::unique_ptr<async_socket> open_socket(::zmq::context_t& context, const socket_args& args,
                                          const core::asio::any_io_executor& ex) {
  return open_socket(context, socket_type_of(args), args, ex);
}

std::unique_ptr<async_socket> open_socket(::zmq::context_t& context, ::zmq::socket_type type, const socket_args& args,
                                          const core::asio::any_io_executor& ex) {
  try {
    auto socket = std::make_unique<async_socket>(context, type, ex);
    if (args.common.level() >= 1) socket->log_events(context);
    configure(socket->raw(), args);
    attach(socket->raw(), args);
    return socket;
  } catch (const ::zmq::error_t& e) {
    throw core::error(core::errc::usage, "socket", "zmq", e.what());
  }
}

awaitable<int> mapped_errors(awaitable<int> verb) {
  try {
    co_return co_await std::move(verb);
  } catch (const ::zmq::error_t& e) {
    throw core::error(core::error_code(e.num(), boost::system::system_category()), "zmq", {}, e.what());
  }
}

}  // namespace nettool::zmq
