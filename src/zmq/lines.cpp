// Lines ↔ messages: --frame-sep, --multipart, a ROUTER's identity, --json.
#include "socket.hpp"

#include "nettool/core/error.hpp"
#include "nettool/core/framing.hpp"
#include "nettool/core/output.hpp"

#include <boost/json.hpp>

namespace nettool::zmq {
namespace {

constexpr std::size_t max_chunk = 64 * 1024;  // --binary: one message per chunk of stdin

std::vector<std::string> split(std::string_view line, std::string_view sep) {
  std::vector<std::string> frames;
  for (;;) {
    const auto at = line.find(sep);
    if (at == std::string_view::npos) break;
    frames.emplace_back(line.substr(0, at));
    line.remove_prefix(at + sep.size());
  }
  frames.emplace_back(line);
  return frames;
}

}  // namespace

// A line as a message: split on --frame-sep with --multipart; a ROUTER's
// line always starts with the identity it goes to.
message to_message(std::string_view line, const socket_args& args) {
  if (args.multipart) return split(line, args.frame_sep);
  if (args.type == kind::router) {
    const auto at = line.find(args.frame_sep);
    if (at == std::string_view::npos)
      throw core::error(core::errc::usage, "send", "router",
                        "a line for a ROUTER starts with the identity it goes to, then --frame-sep");
    return {std::string(line.substr(0, at)), std::string(line.substr(at + args.frame_sep.size()))};
  }
  return {std::string(line)};
}

void print_message(core::run_context& ctx, const message& msg, const socket_args& args) {
  auto& out = ctx.out();
  if (ctx.json()) {
    boost::json::array frames;
    for (const auto& f : msg) {
      if (core::is_valid_utf8(f)) frames.emplace_back(f);
      else frames.emplace_back(boost::json::object{{"data_base64", core::base64_encode(f)}});
    }
    out.buffer(boost::json::serialize(boost::json::object{{"frames", std::move(frames)}}));
  } else {
    for (std::size_t i = 0; i < msg.size(); ++i) {
      if (i) out.buffer(args.frame_sep);
      out.buffer(msg[i]);
    }
  }
  out.buffer("\n");
}

awaitable<void> for_each_input(core::run_context& ctx, const socket_args& args,
                               const std::function<awaitable<bool>(std::string_view)>& each) {
  if (!args.send.empty()) {
    for (const auto& text : args.send)
      if (!co_await each(text)) co_return;
  } else if (args.binary) {
    core::stdin_reader in(ctx.executor());
    core::chunk_reader chunks(in, max_chunk);
    while (auto chunk = co_await chunks.next())
      if (!co_await each(*chunk)) co_return;
  } else {
    core::stdin_reader in(ctx.executor());
    core::line_reader lines(in);
    while (auto line = co_await lines.next())
      if (!co_await each(*line)) co_return;
  }
}

}  // namespace nettool::zmq
