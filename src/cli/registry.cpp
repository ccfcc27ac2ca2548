#include "nettool/cli/registry.hpp"

#include "nettool/core/error.hpp"
#include "nettool/core/module.hpp"

#include <fmt/format.h>

#include <array>

namespace nettool::tcp {
const core::protocol_descriptor* describe();
}
namespace nettool::udp {
const core::protocol_descriptor* describe();
}
namespace nettool::http {
const core::protocol_descriptor* describe();
}

namespace nettool::ws {
const core::protocol_descriptor* describe();
}

namespace nettool::cli {
namespace {

// Adding a protocol: one folder under src/ and one line here.
constexpr std::array table{
    protocol_entry{"tcp", "TCP and Unix stream sockets: connect, listen, scan, wait, bench", &tcp::describe, nullptr},
    protocol_entry{"udp", "UDP datagrams: send, listen", &udp::describe, nullptr},
    protocol_entry{"http", "HTTP/1.1: get, head, delete, options, post, put, patch, serve, wait, bench", &http::describe, nullptr},
    protocol_entry{"ws", "WebSocket (RFC 6455): connect, serve, bench", &ws::describe, nullptr},
    protocol_entry{"grpc", "gRPC: call, list, describe, health, wait, serve, bench", nullptr, "grpc"},
    protocol_entry{"amqp", "AMQP 0-9-1 (RabbitMQ): declare-queue, declare-exchange, bind, unbind, delete-queue, delete-exchange, purge, publish, consume, get, rpc, wait, bench", nullptr, "amqp"},
    protocol_entry{"xmlrpc", "XML-RPC: call, list, help, serve", nullptr, "xmlrpc"},
    protocol_entry{"zmq", "ZeroMQ sockets: pub, sub, push, pull, req, rep, dealer, router, pair; proxy, bench, keygen", nullptr, "zmq"},
};

}  // namespace

std::span<const protocol_entry> protocols() { return table; }

const protocol_entry* find_protocol(std::string_view name) {
  for (const auto& entry : table)
    if (name == entry.name) return &entry;
  return nullptr;
}

std::string module_path(const std::string& self_path, std::string_view stem) {
  return core::module_path(stem, self_path);
}

const core::protocol_descriptor& load(const protocol_entry& entry, const std::string& self_path) {
  if (entry.builtin) return *entry.builtin();
  auto entry_point = reinterpret_cast<const core::protocol_descriptor* (*)()>(
      core::load_module_symbol(entry.module, "nettool_protocol_v1", self_path));
  return *entry_point();
}

}  // namespace nettool::cli
