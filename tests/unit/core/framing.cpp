#include "nettool/core/framing.hpp"

#include "nettool/core/error.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>

#include <cstring>
#include <exception>
#include <string>
#include <vector>

namespace asio = boost::asio;
using nettool::core::awaitable;

namespace {

// At most `step` bytes per read, so lines and CRLFs are cut between reads.
class dribble_input final : public nettool::core::input {
 public:
  dribble_input(std::string text, std::size_t step) : text_(std::move(text)), step_(step) {}
  awaitable<std::size_t> read_some(asio::mutable_buffer buffer) override {
    const auto n = std::min({buffer.size(), step_, text_.size() - offset_});
    std::memcpy(buffer.data(), text_.data() + offset_, n);
    offset_ += n;
    co_return n;
  }

 private:
  std::string text_;
  std::size_t step_;
  std::size_t offset_ = 0;
};

template <class T>
T run(awaitable<T> task) {
  asio::io_context io;
  T result{};
  std::exception_ptr failure;
  asio::co_spawn(io, std::move(task), [&](std::exception_ptr e, T value) {
    failure = e;
    result = std::move(value);
  });
  io.run();
  if (failure) std::rethrow_exception(failure);
  return result;
}

awaitable<std::vector<std::string>> all_lines(nettool::core::input& in, std::size_t max_line) {
  nettool::core::line_reader lines(in, max_line);
  std::vector<std::string> out;
  while (auto line = co_await lines.next()) out.push_back(*line);
  co_return out;
}

// The two-step interface, as the zmq send loop uses it.
awaitable<std::vector<std::string>> all_lines_stepwise(nettool::core::input& in) {
  nettool::core::line_reader lines(in);
  std::vector<std::string> out;
  for (;;) {
    while (const auto line = lines.try_next()) out.emplace_back(*line);
    const bool more = co_await lines.fill();
    if (!more) break;
  }
  co_return out;
}

}  // namespace

TEST_CASE("line_reader: LF and CRLF ends, empty lines, a last line without LF, any read size", "[framing]") {
  const std::string text = "one\r\n\ntwo\nthree\r\nlast";
  const std::vector<std::string> want{"one", "", "two", "three", "last"};
  for (const std::size_t step : {1, 2, 3, 7, 1000}) {
    dribble_input a(text, step), b(text, step);
    CHECK(run(all_lines(a, 1024)) == want);
    CHECK(run(all_lines_stepwise(b)) == want);
  }
  dribble_input ends_with_lf("a\nb\n", 1);
  CHECK(run(all_lines(ends_with_lf, 1024)) == std::vector<std::string>{"a", "b"});
  dribble_input empty("", 1);
  CHECK(run(all_lines(empty, 1024)).empty());
}

TEST_CASE("line_reader: a line longer than the limit is an error, not an unbounded buffer", "[framing]") {
  dribble_input in(std::string(100, 'x') + "\n", 7);
  CHECK_THROWS_AS(run(all_lines(in, 10)), nettool::core::error);
}

TEST_CASE("chunk_reader: one chunk per read, at most the given size", "[framing]") {
  auto chunks = [](nettool::core::input& in) -> awaitable<std::vector<std::string>> {
    nettool::core::chunk_reader reader(in, 4);
    std::vector<std::string> out;
    while (auto chunk = co_await reader.next()) out.push_back(*chunk);
    co_return out;
  };
  dribble_input in(std::string("abcdefghij\xff", 11), 100);
  CHECK(run(chunks(in)) == std::vector<std::string>{"abcd", "efgh", "ij\xff"});
}

TEST_CASE("message_source: the given texts, in order, without touching stdin", "[framing]") {
  const std::vector<std::string> texts{"first", "", "third"};
  auto collect = [&]() -> awaitable<std::vector<std::string>> {
    const auto ex = co_await asio::this_coro::executor;
    nettool::core::message_source source(ex, texts, false, 1024);
    std::vector<std::string> out;
    while (auto text = co_await source.next()) out.emplace_back(*text);
    co_return out;
  };
  CHECK(run(collect()) == texts);
}
