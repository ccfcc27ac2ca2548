// libFuzzer target: raw bytes as one client connection to http serve's
// handler (static files from a small tree, or --echo, by the first byte),
// in process over a socketpair. Any crash, leak, sanitizer report or hang
// is a finding; the responses themselves are drained and dropped.
#include "../../src/http/http.hpp"

#include "nettool/core/log.hpp"

#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace {

namespace asio = boost::asio;
using namespace nettool;

std::string make_tree() {
  char dir[] = "/tmp/nettool-fuzz-XXXXXX";
  const std::filesystem::path root = ::mkdtemp(dir);
  std::filesystem::create_directories(root / "sub");
  std::ofstream(root / "a.txt") << "0123456789abcdef\n";
  std::ofstream(root / "sub" / "index.html") << "<p>x</p>\n";
  std::filesystem::create_symlink("../a.txt", root / "sub" / "link");
  return root.string();
}

http::serve_args args_for(bool echo) {
  static const std::string root = make_tree();
  http::serve_args args;
  args.dir = root;
  args.echo = echo;
  args.max_body = 4096;
  args.max_header_size = 2048;
  args.max_headers = 20;
  return args;
}

asio::awaitable<void> drain(asio::generic::stream_protocol::socket& s) {
  char sink[16384];
  for (;;) {
    auto [ec, n] = co_await s.async_read_some(asio::buffer(sink), asio::as_tuple(asio::use_awaitable));
    if (ec || n == 0) co_return;
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  core::log::init(-1);  // no access log: errors only
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0 || size > 60000) return 0;  // one socket buffer's worth
  static const auto echo = args_for(true), files = args_for(false);
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) std::abort();
  if (::write(pair[0], data + 1, size - 1) != static_cast<ssize_t>(size - 1)) std::abort();
  ::shutdown(pair[0], SHUT_WR);  // the request ends: the handler sees EOF, never waits for a timeout
  asio::io_context io;
  const asio::generic::stream_protocol unix_stream(AF_UNIX, SOCK_STREAM);
  asio::generic::stream_protocol::socket client(io, unix_stream, pair[0]);
  core::connection server_end(core::connection::socket_type(io, unix_stream, pair[1]), "fuzz");
  asio::co_spawn(io, http::serve_one_connection(data[0] & 1 ? echo : files, std::move(server_end)),
                 [](std::exception_ptr) {});
  asio::co_spawn(io, drain(client), asio::detached);
  io.run();
  return 0;
}
