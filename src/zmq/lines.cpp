// Lines ↔ messages: --frame-sep, --multipart, a ROUTER's identity, --json.
#include "socket.hpp"

#include "nettool/core/error.hpp"
#include "nettool/core/framing.hpp"
#include "nettool/core/output.hpp"

#include <boost/json.hpp>

namespace nettool::zmq {
namespace {

constexpr std::size_t max_line = 64 * 1024 * 1024;  // one message; --binary reads smaller chunks

}  // namespace

// A line as a message: split on --frame-sep with --multipart; a ROUTER's
// line always starts with the identity it goes to.
void to_frames(std::string_view line, const socket_args& args, frame_views& out) {
  out.clear();
  if (args.multipart) {
    for (;;) {
      const auto at = line.find(args.frame_sep);
      if (at == std::string_view::npos) break;
      out.push_back(line.substr(0, at));
      line.remove_prefix(at + args.frame_sep.size());
    }
  } else if (args.type == kind::router) {
    const auto at = line.find(args.frame_sep);
    if (at == std::string_view::npos)
      throw core::error(core::errc::usage, "send", "router",
                        "a line for a ROUTER starts with the identity it goes to, then --frame-sep");
    out.push_back(line.substr(0, at));
    line.remove_prefix(at + args.frame_sep.size());
  }
  out.push_back(line);
}

std::string joined(const message& msg, const std::string& sep) {
  std::string out;
  for (std::size_t i = 0; i < msg.size(); ++i) {
    if (i) out += sep;
    out += msg[i];
  }
  return out;
}

void print_message(core::run_context& ctx, const message& msg, const socket_args& args) {
  auto& out = ctx.out();
  if (ctx.json()) {
    boost::json::array frames;
    for (const auto& f : msg) frames.push_back(core::payload_value(f));
    out.buffer(core::to_json(boost::json::object{{"frames", std::move(frames)}}));
  } else {
    for (std::size_t i = 0; i < msg.size(); ++i) {
      if (i) out.buffer(args.frame_sep);
      out.buffer(msg[i]);
    }
  }
  out.buffer("\n");
}

core::message_source open_input(core::run_context& ctx, const socket_args& args) {
  return core::message_source(ctx.executor(), args.send, args.binary, max_line);
}

}  // namespace nettool::zmq
