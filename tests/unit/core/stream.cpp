#include "nettool/core/stream.hpp"

#include <boost/asio/post.hpp>
#include <catch2/catch.hpp>

#include "run_loop.hpp"

#include <array>
#include <chrono>
#include <sys/socket.h>
#include <unistd.h>

using namespace nettool::core;
using namespace std::chrono_literals;

using nettool::test::run_loop;

namespace {

// One end of a Unix socket pair as a connection, the other as a plain fd.
struct socket_pair {
  socket_pair() { REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds.data()) == 0); }
  ~socket_pair() {
    if (fds[0] >= 0) ::close(fds[0]);
    if (fds[1] >= 0) ::close(fds[1]);
  }
  connection take(const asio::any_io_executor& ex) {
    connection::socket_type s(ex, asio::generic::stream_protocol(AF_UNIX, 0), std::exchange(fds[0], -1));
    return connection(std::move(s), "pair");
  }
  void send(std::string_view data) { REQUIRE(::write(fds[1], data.data(), data.size()) == static_cast<ssize_t>(data.size())); }
  void close_peer() { ::close(std::exchange(fds[1], -1)); }
  std::array<int, 2> fds{-1, -1};
};

std::string numbered_bytes(std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>(i % 251);
  return s;
}

}  // namespace

TEST_CASE("reads of data already waiting come in order, then 0 at the peer's EOF", "[unit][stream]") {
  socket_pair pair;
  const auto sent = numbered_bytes(3000);
  pair.send(sent);
  pair.close_peer();
  std::string got;
  std::size_t at_eof = 99;
  run_loop([&]() -> awaitable<void> {
    auto conn = pair.take(co_await asio::this_coro::executor);
    std::array<char, 7> buffer{};
    for (;;) {
      const auto n = co_await conn.read_some(asio::buffer(buffer));
      if (n == 0) break;
      got.append(buffer.data(), n);
    }
    at_eof = conn.bytes_read();
  });
  CHECK(got == sent);
  CHECK(at_eof == sent.size());
}

TEST_CASE("a read loop over a socket that never runs dry still lets posted work run", "[unit][stream]") {
  // Each read finds data, so none has to wait: without a turn through the
  // event loop now and then, one flooding peer would hold it.
  socket_pair pair;
  pair.send(numbered_bytes(4096));
  std::size_t reads_before_posted = 0;
  bool posted_ran = false;
  run_loop([&]() -> awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    auto conn = pair.take(ex);
    std::size_t reads = 0;
    asio::post(ex, [&] {
      posted_ran = true;
      reads_before_posted = reads;
    });
    char byte = 0;
    // Not co_await inside a Catch macro: g++ 12 runs it twice there.
    std::size_t short_reads = 0;
    for (; reads < 4096; ++reads) {
      const auto n = co_await conn.read_some(asio::buffer(&byte, 1));
      if (n != 1) ++short_reads;
    }
    CHECK(short_reads == 0);
  });
  REQUIRE(posted_ran);
  CHECK(reads_before_posted <= 16);
}

TEST_CASE("a read waiting on an empty socket returns nullopt when cancelled, and data sent later is read", "[unit][stream]") {
  socket_pair pair;
  std::optional<std::optional<std::size_t>> cancelled;
  std::string later;
  run_loop([&]() -> awaitable<void> {
    auto conn = pair.take(co_await asio::this_coro::executor);
    std::array<char, 16> buffer{};
    auto reader = [&]() -> awaitable<void> { cancelled = co_await conn.read_some_or_cancelled(asio::buffer(buffer)); };
    co_await first_of(reader(), sleep_for(20ms));
    pair.send("after");
    const auto n = co_await conn.read_some(asio::buffer(buffer));
    later.assign(buffer.data(), n);
  });
  REQUIRE(cancelled.has_value());
  CHECK_FALSE(cancelled->has_value());
  CHECK(later == "after");
}
