// posix_spawn + pidfd rather than Boost.Process v2: the v2 headers shipped
// with Boost 1.81 do not compile with g++ 12 in C++20 mode (missing
// boost::optional / std trait imports in process/v2/detail/config.hpp).
#include "nettool/core/process.hpp"

#include "nettool/core/log.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/write.hpp>
#include <fmt/format.h>

#include <cerrno>
#include <csignal>
#include <fcntl.h>
#include <linux/close_range.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <optional>
#include <thread>
#include <utility>

extern char** environ;

namespace nettool::core {
namespace {

std::vector<std::string> merged_environment(const environment& extra) {
  std::vector<std::string> out;
  for (char** e = environ; *e; ++e) {
    const std::string_view entry(*e);
    const auto name = entry.substr(0, entry.find('='));
    bool replaced = false;
    for (const auto& [k, v] : extra) replaced = replaced || k == name;
    if (!replaced) out.emplace_back(entry);
  }
  for (const auto& [k, v] : extra) out.push_back(k + "=" + v);
  return out;
}

int decode_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

// Ends a child that is still running when its waiter goes (a stop, an
// error, or the coroutine frame destroyed at exit): SIGTERM to its whole
// process group (`sh -c 'sleep 30; cat'` would leave the sleep behind),
// SIGKILL if it is still there after 20 ms, and reaps it. The short wait
// blocks the loop, so it stays short: a stop with many children must end
// within its 2 s.
void end_child(pid_t pid) {
  ::kill(-pid, SIGTERM);
  int status = 0;
  for (int i = 0; i < 4; ++i) {
    if (::waitpid(pid, &status, WNOHANG) != 0) {
      ::kill(-pid, SIGKILL);  // what the shell left of the group
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ::kill(-pid, SIGKILL);
  ::waitpid(pid, &status, 0);
}

struct child_guard {
  pid_t pid;
  bool reaped = false;
  ~child_guard() {
    if (!reaped) end_child(pid);
  }
};

awaitable<int> wait_child(pid_t pid) {
  child_guard guard{pid};
  auto ex = co_await asio::this_coro::executor;
  const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  int status = 0;
  if (pidfd >= 0) {
    asio::posix::stream_descriptor waiter(ex, pidfd);
    co_await waiter.async_wait(asio::posix::descriptor_base::wait_read, asio::use_awaitable);
  } else {  // kernels before 5.3: poll
    while (::waitpid(pid, &status, WNOHANG) == 0) co_await sleep_for(std::chrono::milliseconds(10));
    guard.reaped = true;
    co_return decode_status(status);
  }
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  guard.reaped = true;
  co_return decode_status(status);
}

pid_t spawn(const process_spec& spec) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (spec.stdin_fd >= 0) posix_spawn_file_actions_adddup2(&actions, spec.stdin_fd, 0);
  else posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  if (spec.stdout_fd >= 0) posix_spawn_file_actions_adddup2(&actions, spec.stdout_fd, 1);
  if (spec.stderr_fd >= 0) posix_spawn_file_actions_adddup2(&actions, spec.stderr_fd, 2);
  // Our other descriptors (the listening socket, other clients) must not
  // leak into the child: a client's FIN would wait for the child to exit.
  posix_spawn_file_actions_addclosefrom_np(&actions, 3);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  // The child starts with default signal dispositions (we ignore SIGPIPE).
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  sigaddset(&defaults, SIGINT);
  sigaddset(&defaults, SIGTERM);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  // Its own process group, so that ending it ends what it started too.
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETPGROUP);

  auto env_strings = merged_environment(spec.env);
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::string sh = "/bin/sh", dash_c = "-c", command = spec.command;
  char* argv[] = {sh.data(), dash_c.data(), command.data(), nullptr};

  pid_t pid = 0;
  const int rc = ::posix_spawn(&pid, "/bin/sh", &actions, &attr, argv, envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) throw error(error_code(rc, boost::system::system_category()), "exec", spec.command);
  log::debug("started [{}] {}", pid, spec.command);
  return pid;
}

}  // namespace

awaitable<int> run_process(const process_spec& spec) {
  pid_t pid = -1;
  try {
    pid = spawn(spec);
  } catch (...) {
    if (spec.close_after_spawn >= 0) ::close(spec.close_after_spawn);
    throw;
  }
  if (spec.close_after_spawn >= 0) ::close(spec.close_after_spawn);
  const int status = co_await wait_child(pid);
  log::debug("[{}] exited with {}", pid, status);
  co_return status;
}

namespace {

awaitable<void> write_and_close(asio::posix::stream_descriptor& to, std::string_view input) {
  auto [ec, n] = co_await asio::async_write(to, asio::buffer(input), asio::as_tuple(asio::use_awaitable));
  // A command that does not read its input (`date`) closes the pipe: fine.
  if (ec && ec != asio::error::broken_pipe) throw error(ec, core::phase::write, "--exec stdin");
  to.close();
}

awaitable<void> read_all(asio::posix::stream_descriptor& from, std::string& out, std::size_t limit) {
  char chunk[16 * 1024];
  for (;;) {
    auto [ec, n] = co_await from.async_read_some(asio::buffer(chunk), asio::as_tuple(asio::use_awaitable));
    if (ec == asio::error::eof) co_return;
    if (ec) throw error(ec, core::phase::read, "--exec stdout");
    if (out.size() + n > limit)
      throw error(errc::failure, core::phase::read, "--exec stdout", fmt::format("more than {} bytes of output", limit));
    out.append(chunk, n);
  }
}

// Keeps the first `keep` bytes, drains the rest: a chatty stderr must not
// block the child, nor fill our memory.
awaitable<void> read_some_of(asio::posix::stream_descriptor& from, std::string& out, std::size_t keep) {
  char chunk[16 * 1024];
  for (;;) {
    auto [ec, n] = co_await from.async_read_some(asio::buffer(chunk), asio::as_tuple(asio::use_awaitable));
    if (ec) co_return;  // EOF, or a pipe we can no longer read: what we have is what it said
    out.append(chunk, std::min(n, keep - std::min(keep, out.size())));
  }
}

// A pipe whose both ends close with it (the child's end once it is spawned).
struct pipe_pair {
  int fds[2] = {-1, -1};
  explicit pipe_pair(const std::string& command) {
    if (::pipe2(fds, O_CLOEXEC) != 0) throw error(error_code(errno, boost::system::system_category()), "exec", command);
  }
  ~pipe_pair() {
    for (int fd : fds)
      if (fd >= 0) ::close(fd);
  }
  pipe_pair(const pipe_pair&) = delete;
  pipe_pair& operator=(const pipe_pair&) = delete;
  int take(int end) { return std::exchange(fds[end], -1); }
  void close(int end) { ::close(take(end)); }
};

constexpr std::size_t captured_errors = 64 * 1024;

}  // namespace

awaitable<filter_result> run_filter(const std::string& command, const environment& env, std::string_view input,
                                    std::size_t max_output, bool capture_errors) {
  pipe_pair in(command), out(command);
  std::optional<pipe_pair> err;
  if (capture_errors) err.emplace(command);
  auto ex = co_await asio::this_coro::executor;
  asio::posix::stream_descriptor to_child(ex, in.take(1)), from_child(ex, out.take(0));
  std::optional<asio::posix::stream_descriptor> errors_from_child;
  if (err) errors_from_child.emplace(ex, err->take(0));
  process_spec spec{command, env, in.fds[0], out.fds[1]};
  if (err) spec.stderr_fd = err->fds[1];
  const pid_t pid = spawn(spec);
  // Ended with its process group if this frame goes before the child was
  // waited for: a stop at the end of the grace destroys frames, it does not
  // resume them.
  child_guard guard{pid};
  // Our copies of the child's ends go, so its exit shows as EOF here.
  in.close(0);
  out.close(1);
  if (err) err->close(1);
  filter_result result;
  std::exception_ptr failed;
  try {
    auto talk = both(write_and_close(to_child, input), read_all(from_child, result.output, max_output));
    if (errors_from_child) talk = both(std::move(talk), read_some_of(*errors_from_child, result.errors, captured_errors));
    co_await std::move(talk);
  } catch (...) {
    failed = std::current_exception();
  }
  if (failed) std::rethrow_exception(failed);  // the guard ends the child: its output was refused, or a stop
  guard.reaped = true;  // wait_child's own guard takes over
  result.status = co_await wait_child(pid);
  log::debug("[{}] exited with {}", pid, result.status);
  co_return result;
}

void exec_replacing(const std::vector<std::string>& command) {
  std::vector<char*> argv;
  for (const auto& a : command) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  // CMD starts as if run by the shell: default signals, none of our descriptors.
  for (int sig : {SIGPIPE, SIGINT, SIGTERM}) std::signal(sig, SIG_DFL);
  ::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
  ::execvp(argv[0], argv.data());
  throw error(error_code(errno, boost::system::system_category()), "exec", command.front());
}

}  // namespace nettool::core
