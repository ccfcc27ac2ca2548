#include "nettool/core/stdio.hpp"

#include <boost/asio/post.hpp>
#include <boost/system/system_error.hpp>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

namespace nettool::core {

stdin_reader::stdin_reader(const asio::any_io_executor& ex, int fd) : fd_(fd), terminal_(::isatty(fd) == 1) {
  // Regular files and devices like /dev/null cannot be waited on (epoll
  // says EPERM) and a read on them never blocks: read them directly.
  struct stat st {};
  if (::fstat(fd, &st) != 0) return;
  if (!S_ISFIFO(st.st_mode) && !S_ISSOCK(st.st_mode) && !terminal_) return;
  // Register a duplicate so closing the waiter never closes our stdin.
  const int dup = ::fcntl(fd, F_DUPFD_CLOEXEC, 3);
  if (dup < 0) return;
  boost::system::error_code ec;
  waiter_.emplace(ex);
  waiter_->assign(dup, ec);
  if (ec) {
    waiter_.reset();
    ::close(dup);
  }
}

stdin_reader::~stdin_reader() = default;

awaitable<std::size_t> text_input::read_some(asio::mutable_buffer buffer) {
  const auto n = std::min(buffer.size(), text_.size() - offset_);
  std::memcpy(buffer.data(), text_.data() + offset_, n);
  offset_ += n;
  co_return n;
}

awaitable<std::size_t> stdin_reader::read_some(asio::mutable_buffer buffer) {
  for (;;) {
    // A regular file is always ready: yield once per read all the same, so
    // a loop fed from one lets signals and timers run.
    if (waiter_) {
      co_await waiter_->async_wait(asio::posix::descriptor_base::wait_read, asio::use_awaitable);
    } else {
      auto ex = co_await asio::this_coro::executor;  // g++ 12: not nested in the co_await below
      co_await asio::post(ex, asio::use_awaitable);
    }
    const auto n = ::read(fd_, buffer.data(), buffer.size());
    if (n >= 0) co_return static_cast<std::size_t>(n);
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      if (!waiter_) co_await sleep_for(std::chrono::milliseconds(1));
      continue;
    }
    throw error(error_code(errno, boost::system::system_category()), core::phase::read, "stdin");
  }
}

void output::flush() {
  if (pending_.empty()) return;
  std::string batch;
  batch.swap(pending_);
  write_direct(batch);
}

void output::write(std::string_view bytes) {
  flush();
  write_direct(bytes);
}

void output::write_direct(std::string_view bytes) {
  if (closed_) return;
  while (!bytes.empty()) {
    const auto n = ::write(fd_, bytes.data(), bytes.size());
    if (n >= 0) {
      bytes.remove_prefix(static_cast<std::size_t>(n));
      continue;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {  // someone made it non-blocking
      pollfd p{fd_, POLLOUT, 0};
      ::poll(&p, 1, -1);
      continue;
    }
    if (errno == EPIPE) throw error(errc::stdout_closed, core::phase::write, "stdout");
    throw error(error_code(errno, boost::system::system_category()), core::phase::file, "stdout");
  }
}

void output::line(std::string_view text) {
  flush();
  if (closed_) return;
  // One syscall per line keeps lines whole when several writers share a pipe.
  iovec parts[2] = {{const_cast<char*>(text.data()), text.size()}, {const_cast<char*>("\n"), 1}};
  const auto total = text.size() + 1;
  const auto n = ::writev(fd_, parts, 2);
  if (n == static_cast<ssize_t>(total)) return;
  if (n < 0 && errno == EPIPE) throw error(errc::stdout_closed, core::phase::write, "stdout");
  // Partial write or other condition: finish the slow way.
  const std::size_t done = n < 0 ? 0 : static_cast<std::size_t>(n);
  if (done < text.size()) {
    write(text.substr(done));
    write("\n");
  } else {
    write("\n");
  }
}

void output::close() {
  if (closed_) return;
  flush();
  closed_ = true;
  // dup2 over fd 1 rather than close(), so fd 1 is never reused by accident.
  const int null = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
  if (null >= 0) {
    ::dup2(null, fd_);
    ::close(null);
  }
}

bool output::is_terminal() const { return ::isatty(fd_) == 1; }

std::string read_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw error(error_code(errno, boost::system::system_category()), core::phase::file, path);
  std::string out;
  char chunk[65536];
  while (true) {
    const auto n = ::read(fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int e = errno;
      ::close(fd);
      throw error(error_code(e, boost::system::system_category()), core::phase::file, path);
    }
    if (n == 0) break;
    out.append(chunk, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return out;
}

}  // namespace nettool::core
