// Standard input and output for every kind of file descriptor: terminal,
// pipe, socket and regular file (which epoll refuses, DEPS.md pitfall 8).
#pragma once

#include "nettool/core/async.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace nettool::core {

// A source of bytes for a verb to send: stdin, or text from --send.
class input {
 public:
  virtual ~input() = default;
  // Returns 0 at end of input.
  virtual awaitable<std::size_t> read_some(asio::mutable_buffer buffer) = 0;
  virtual bool is_terminal() const noexcept { return false; }
};

class text_input final : public input {
 public:
  explicit text_input(std::string text) : text_(std::move(text)) {}
  awaitable<std::size_t> read_some(asio::mutable_buffer buffer) override;

 private:
  std::string text_;
  std::size_t offset_ = 0;
};

class stdin_reader final : public input {
 public:
  explicit stdin_reader(const asio::any_io_executor& ex, int fd = 0);
  ~stdin_reader() override;
  stdin_reader(const stdin_reader&) = delete;
  stdin_reader& operator=(const stdin_reader&) = delete;

  awaitable<std::size_t> read_some(asio::mutable_buffer buffer) override;
  bool is_terminal() const noexcept override { return terminal_; }
  int fd() const noexcept { return fd_; }

 private:
  int fd_;
  bool terminal_;
  // Set when the descriptor can be waited on. The descriptor itself is never
  // switched to non-blocking mode: it is shared with the shell and other
  // processes, so we wait for readiness and then read().
  std::optional<asio::posix::stream_descriptor> waiter_;
};

// A whole file read at start-up (certificates, schemas, request bodies):
// a failure is the errno error in phase "file" (exit 8), naming the path.
std::string read_file(const std::string& path);

// stdout: payload only. Writes are synchronous (as nc and socat do): output
// is the back-pressure. EPIPE ends the program quietly (errc::stdout_closed).
class output {
 public:
  explicit output(int fd = 1) : fd_(fd) {}
  void write(std::string_view bytes);
  void write(const void* data, std::size_t size) { write({static_cast<const char*>(data), size}); }
  // Writes `line` plus a line feed (after anything buffered).
  void line(std::string_view line);
  // Collects bytes for one later write: many small messages, one syscall.
  // Callers flush() before they wait for more input.
  void buffer(std::string_view bytes) { pending_.append(bytes); }
  void flush();
  // Ends our stdout (the reader sees EOF) while the process goes on.
  void close();
  bool is_terminal() const;
  int fd() const noexcept { return fd_; }

 private:
  void write_direct(std::string_view bytes);

  int fd_;
  bool closed_ = false;
  std::string pending_;
};

}  // namespace nettool::core
