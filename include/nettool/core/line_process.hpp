// --exec for message protocols (SPEC §1): a child process that speaks in
// lines, websocketd's contract. Each message sent is one line on its
// stdin; each line it prints (LF or CRLF not included) is one message back;
// its exit ends the exchange. ws serve runs one per connection; amqp and
// zmq can run one per consumer.
#pragma once

#include "nettool/core/framing.hpp"
#include "nettool/core/process.hpp"
#include "nettool/core/stdio.hpp"
#include "nettool/core/stream.hpp"

#include <array>
#include <optional>
#include <string>
#include <string_view>

namespace nettool::core {

class line_process {
 public:
  // Nothing runs until run(). A line the child prints longer than
  // `max_line` is an error (its memory stays bounded).
  line_process(const asio::any_io_executor& ex, std::string command, environment env,
               std::size_t max_line = 64 * 1024 * 1024);
  ~line_process();
  line_process(const line_process&) = delete;
  line_process& operator=(const line_process&) = delete;

  // Starts the command and waits for it to exit: its status (128+N when
  // killed by signal N). Cancelling the wait ends the child (SIGTERM to its
  // process group, as every --exec).
  awaitable<int> run();
  // One message to the child's stdin, as a line. Throws when the child no
  // longer reads (it exited).
  awaitable<void> send(std::string_view message);
  // The end of the child's stdin: it reads EOF after what was sent.
  void close_input();
  // The child's next line; nullopt once its stdout is closed (it exited).
  awaitable<std::optional<std::string>> receive();

 private:
  line_process(const asio::any_io_executor& ex, std::string command, environment env, std::size_t max_line,
               std::array<int, 2> pair);

  // line_reader reads from an input: the child's side of our socket.
  class child_output final : public input {
   public:
    explicit child_output(connection& conn) : conn_(conn) {}
    awaitable<std::size_t> read_some(asio::mutable_buffer buffer) override { return conn_.read_some(buffer); }

   private:
    connection& conn_;
  };

  std::string command_;
  environment env_;
  int child_end_ = -1;  // the child's stdin and stdout, ours to close once it runs
  connection ours_;
  child_output output_;
  line_reader lines_;
  bool input_closed_ = false;
};

}  // namespace nettool::core
