// posix_spawn + pidfd rather than Boost.Process v2: the v2 headers shipped
// with Boost 1.81 do not compile with g++ 12 in C++20 mode (missing
// boost::optional / std trait imports in process/v2/detail/config.hpp).
#include "nettool/core/process.hpp"

#include "nettool/core/log.hpp"

#include <boost/asio/posix/stream_descriptor.hpp>

#include <cerrno>
#include <csignal>
#include <fcntl.h>
#include <linux/close_range.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

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

awaitable<int> wait_child(pid_t pid) {
  auto ex = co_await asio::this_coro::executor;
  const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  int status = 0;
  try {
    if (pidfd >= 0) {
      asio::posix::stream_descriptor waiter(ex, pidfd);
      co_await waiter.async_wait(asio::posix::descriptor_base::wait_read, asio::use_awaitable);
    } else {  // kernels before 5.3: poll
      while (::waitpid(pid, &status, WNOHANG) == 0) co_await sleep_for(std::chrono::milliseconds(10));
      co_return decode_status(status);
    }
  } catch (...) {
    ::kill(pid, SIGTERM);
    ::waitpid(pid, &status, 0);
    throw;
  }
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  co_return decode_status(status);
}

}  // namespace

awaitable<int> run_process(const process_spec& spec) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (spec.stdin_fd >= 0) posix_spawn_file_actions_adddup2(&actions, spec.stdin_fd, 0);
  else posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  if (spec.stdout_fd >= 0) posix_spawn_file_actions_adddup2(&actions, spec.stdout_fd, 1);
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
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);

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
  const int status = co_await wait_child(pid);
  log::debug("[{}] exited with {}", pid, status);
  co_return status;
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
