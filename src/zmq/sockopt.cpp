// --sockopt NAME=VALUE: any libzmq socket option by its name, typed as
// libzmq documents it (zmq_setsockopt(3)).
#include "zmq.hpp"

#include "nettool/core/error.hpp"

#include <fmt/format.h>
#include <zmq.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cstdint>

namespace nettool::zmq {
namespace {

enum class value_type { integer, int64, uint64, boolean, bytes };

struct option_entry {
  std::string_view name;
  int id;
  value_type type;
};

constexpr std::array options{
    option_entry{"affinity", ZMQ_AFFINITY, value_type::uint64},
    option_entry{"backlog", ZMQ_BACKLOG, value_type::integer},
    option_entry{"bindtodevice", ZMQ_BINDTODEVICE, value_type::bytes},
    option_entry{"conflate", ZMQ_CONFLATE, value_type::boolean},
    option_entry{"connect_routing_id", ZMQ_CONNECT_ROUTING_ID, value_type::bytes},
    option_entry{"connect_timeout", ZMQ_CONNECT_TIMEOUT, value_type::integer},
    option_entry{"handshake_ivl", ZMQ_HANDSHAKE_IVL, value_type::integer},
    option_entry{"heartbeat_ivl", ZMQ_HEARTBEAT_IVL, value_type::integer},
    option_entry{"heartbeat_timeout", ZMQ_HEARTBEAT_TIMEOUT, value_type::integer},
    option_entry{"heartbeat_ttl", ZMQ_HEARTBEAT_TTL, value_type::integer},
    option_entry{"immediate", ZMQ_IMMEDIATE, value_type::boolean},
    option_entry{"invert_matching", ZMQ_INVERT_MATCHING, value_type::boolean},
    option_entry{"ipv6", ZMQ_IPV6, value_type::boolean},
    option_entry{"linger", ZMQ_LINGER, value_type::integer},
    option_entry{"maxmsgsize", ZMQ_MAXMSGSIZE, value_type::int64},
    option_entry{"multicast_hops", ZMQ_MULTICAST_HOPS, value_type::integer},
    option_entry{"multicast_maxtpdu", ZMQ_MULTICAST_MAXTPDU, value_type::integer},
    option_entry{"plain_password", ZMQ_PLAIN_PASSWORD, value_type::bytes},
    option_entry{"plain_server", ZMQ_PLAIN_SERVER, value_type::boolean},
    option_entry{"plain_username", ZMQ_PLAIN_USERNAME, value_type::bytes},
    option_entry{"probe_router", ZMQ_PROBE_ROUTER, value_type::boolean},
    option_entry{"rate", ZMQ_RATE, value_type::integer},
    option_entry{"rcvbuf", ZMQ_RCVBUF, value_type::integer},
    option_entry{"rcvhwm", ZMQ_RCVHWM, value_type::integer},
    option_entry{"reconnect_ivl", ZMQ_RECONNECT_IVL, value_type::integer},
    option_entry{"reconnect_ivl_max", ZMQ_RECONNECT_IVL_MAX, value_type::integer},
    option_entry{"recovery_ivl", ZMQ_RECOVERY_IVL, value_type::integer},
    option_entry{"req_correlate", ZMQ_REQ_CORRELATE, value_type::boolean},
    option_entry{"req_relaxed", ZMQ_REQ_RELAXED, value_type::boolean},
    option_entry{"router_handover", ZMQ_ROUTER_HANDOVER, value_type::boolean},
    option_entry{"router_mandatory", ZMQ_ROUTER_MANDATORY, value_type::boolean},
    option_entry{"routing_id", ZMQ_ROUTING_ID, value_type::bytes},
    option_entry{"sndbuf", ZMQ_SNDBUF, value_type::integer},
    option_entry{"sndhwm", ZMQ_SNDHWM, value_type::integer},
    option_entry{"socks_proxy", ZMQ_SOCKS_PROXY, value_type::bytes},
    option_entry{"stream_notify", ZMQ_STREAM_NOTIFY, value_type::boolean},
    option_entry{"subscribe", ZMQ_SUBSCRIBE, value_type::bytes},
    option_entry{"tcp_keepalive", ZMQ_TCP_KEEPALIVE, value_type::integer},
    option_entry{"tcp_keepalive_cnt", ZMQ_TCP_KEEPALIVE_CNT, value_type::integer},
    option_entry{"tcp_keepalive_idle", ZMQ_TCP_KEEPALIVE_IDLE, value_type::integer},
    option_entry{"tcp_keepalive_intvl", ZMQ_TCP_KEEPALIVE_INTVL, value_type::integer},
    option_entry{"tcp_maxrt", ZMQ_TCP_MAXRT, value_type::integer},
    option_entry{"tos", ZMQ_TOS, value_type::integer},
    option_entry{"unsubscribe", ZMQ_UNSUBSCRIBE, value_type::bytes},
    option_entry{"xpub_manual", ZMQ_XPUB_MANUAL, value_type::boolean},
    option_entry{"xpub_nodrop", ZMQ_XPUB_NODROP, value_type::boolean},
    option_entry{"xpub_verbose", ZMQ_XPUB_VERBOSE, value_type::boolean},
    option_entry{"xpub_verboser", ZMQ_XPUB_VERBOSER, value_type::boolean},
    option_entry{"xpub_welcome_msg", ZMQ_XPUB_WELCOME_MSG, value_type::bytes},
    option_entry{"zap_domain", ZMQ_ZAP_DOMAIN, value_type::bytes},
};

// "SNDHWM", "sndhwm" and "ZMQ_SNDHWM" all name ZMQ_SNDHWM.
const option_entry* find_option(std::string_view name) {
  std::string key(name);
  std::transform(key.begin(), key.end(), key.begin(), [](unsigned char c) { return std::tolower(c); });
  if (key.starts_with("zmq_")) key.erase(0, 4);
  for (const auto& o : options)
    if (o.name == key) return &o;
  return nullptr;
}

template <class T>
std::optional<T> parse_number(std::string_view text) {
  T value{};
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::optional<int> parse_boolean(std::string_view text) {
  if (text == "1" || text == "true" || text == "yes" || text == "on") return 1;
  if (text == "0" || text == "false" || text == "no" || text == "off") return 0;
  return std::nullopt;
}

struct parsed_option {
  const option_entry* option;
  std::string value;
};

parsed_option parse(const std::string& assignment) {
  const auto eq = assignment.find('=');
  if (eq == std::string::npos)
    throw core::error(core::errc::usage, "--sockopt", assignment, "expected NAME=VALUE, e.g. sndbuf=1048576");
  const auto* option = find_option(std::string_view(assignment).substr(0, eq));
  if (!option)
    throw core::error(core::errc::usage, "--sockopt", assignment.substr(0, eq),
                      "not a libzmq socket option nettool knows (see docs/zmq.md)");
  const std::string value = assignment.substr(eq + 1);
  const bool ok = [&] {
    switch (option->type) {
      case value_type::integer: return parse_number<int>(value).has_value();
      case value_type::int64: return parse_number<std::int64_t>(value).has_value();
      case value_type::uint64: return parse_number<std::uint64_t>(value).has_value();
      case value_type::boolean: return parse_boolean(value).has_value();
      case value_type::bytes: return true;
    }
    return false;
  }();
  if (!ok) {
    static constexpr std::array names{"an integer", "an integer", "a non-negative integer", "0 or 1", "text"};
    throw core::error(core::errc::usage, "--sockopt", assignment,
                      fmt::format("{} takes {}", option->name, names[static_cast<std::size_t>(option->type)]));
  }
  return {option, value};
}

int set(void* socket, const parsed_option& o) {
  switch (o.option->type) {
    case value_type::integer: {
      const int v = *parse_number<int>(o.value);
      return zmq_setsockopt(socket, o.option->id, &v, sizeof v);
    }
    case value_type::int64: {
      const auto v = *parse_number<std::int64_t>(o.value);
      return zmq_setsockopt(socket, o.option->id, &v, sizeof v);
    }
    case value_type::uint64: {
      const auto v = *parse_number<std::uint64_t>(o.value);
      return zmq_setsockopt(socket, o.option->id, &v, sizeof v);
    }
    case value_type::boolean: {
      const int v = *parse_boolean(o.value);
      return zmq_setsockopt(socket, o.option->id, &v, sizeof v);
    }
    case value_type::bytes: return zmq_setsockopt(socket, o.option->id, o.value.data(), o.value.size());
  }
  return -1;
}

}  // namespace

std::string check_sockopt(const std::string& assignment) {
  try {
    parse(assignment);
  } catch (const core::error& e) {
    return fmt::format("'{}': {}", e.where(), e.reason());
  }
  return {};
}

void apply_sockopts(void* socket, const std::vector<std::string>& assignments) {
  for (const auto& a : assignments) {
    const auto o = parse(a);
    if (set(socket, o) != 0)
      throw core::error(core::errc::usage, "--sockopt", a, zmq_strerror(zmq_errno()));
  }
}

}  // namespace nettool::zmq
