#include "nettool/core/line_process.hpp"

#include "nettool/core/error.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <array>

namespace nettool::core {
namespace {

// One socketpair carries both directions: the child's stdin and stdout are
// its end, so closing our sending side is its EOF.
std::array<int, 2> socket_pair() {
  std::array<int, 2> pair{-1, -1};
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair.data()) != 0)
    throw error(error_code(errno, boost::system::system_category()), "exec", "socketpair");
  return pair;
}

connection our_end(const asio::any_io_executor& ex, int fd) {
  return connection(connection::socket_type(ex, asio::generic::stream_protocol(AF_UNIX, 0), fd), "exec");
}

}  // namespace

line_process::line_process(const asio::any_io_executor& ex, std::string command, environment env, std::size_t max_line)
    : line_process(ex, std::move(command), std::move(env), max_line, socket_pair()) {}

line_process::line_process(const asio::any_io_executor& ex, std::string command, environment env, std::size_t max_line,
                           std::array<int, 2> pair)
    : command_(std::move(command)),
      env_(std::move(env)),
      child_end_(pair[1]),
      ours_(our_end(ex, pair[0])),
      output_(ours_),
      lines_(output_, max_line) {}

line_process::~line_process() {
  if (child_end_ >= 0) ::close(child_end_);
}

awaitable<int> line_process::run() {
  // Once spawned, only the child holds its end: its exit is our EOF.
  const int fd = std::exchange(child_end_, -1);
  const process_spec spec{command_, env_, fd, fd, fd};
  auto waiting = run_process(spec);
  co_return co_await std::move(waiting);
}

awaitable<void> line_process::send(std::string_view message) {
  std::string line;
  line.reserve(message.size() + 1);
  line.append(message).push_back('\n');
  co_await ours_.write(asio::buffer(line));
}

void line_process::close_input() {
  if (input_closed_) return;
  input_closed_ = true;
  boost::system::error_code ignored;
  ours_.socket().shutdown(connection::socket_type::shutdown_send, ignored);
}

awaitable<std::optional<std::string>> line_process::receive() { return lines_.next(); }

}  // namespace nettool::core
