// Errors and the one mapping from any error to the exit codes of SPEC §1.
#pragma once

#include <boost/system/error_code.hpp>

#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace nettool::core {

using error_code = boost::system::error_code;

// The exit codes of SPEC §1, named.
enum class exit_code : int {
  ok = 0,
  failure = 1,
  usage = 2,
  resolve = 3,
  connect = 4,
  tls = 5,
  protocol = 6,
  peer = 7,
  local = 8,
  nothing = 9,
  assertion = 10,
  timed_out = 124,
  interrupted = 130,
  terminated = 143,
};

// nettool's own error conditions; each maps to exactly one exit code.
enum class errc {
  timed_out = 1,
  interrupted,
  terminated,
  usage,
  protocol,
  peer_error,
  nothing_available,
  assertion_failed,
  stdout_closed,  // EPIPE on stdout: a quiet success, like `rg | head`
  tls_failed,
  local_failure,
  failure,
  connect_failed,
};

// The phases whose names decide an exit code or a retry (exit_code_for,
// is_transient, the adapters' retry rules): named once, compared by name.
namespace phase {
inline constexpr const char* connect = "connect";  // resolve + connect + handshake
inline constexpr const char* proxy = "proxy";
inline constexpr const char* tls = "tls";
inline constexpr const char* bind = "bind";
inline constexpr const char* listen = "listen";
inline constexpr const char* file = "file";
inline constexpr const char* read = "read";
inline constexpr const char* write = "write";
inline constexpr const char* wait = "wait";
inline constexpr const char* timeout = "timeout";
inline constexpr const char* signal = "signal";
}  // namespace phase

const boost::system::error_category& nettool_category() noexcept;

// The extension point for an adapter's own error category (grpc's status
// codes exit 64+N): the adapter registers how its codes map to exit codes
// and which are transient, and exit_code_for / is_transient ask it, so the
// core never names a protocol. Register once, before the verb runs; the
// category must live as long as the program.
struct exit_code_mapping {
  int (*exit_code)(int value) = nullptr;
  bool (*transient)(int value) = nullptr;  // null: never transient
};
void register_exit_codes(const boost::system::error_category& category, exit_code_mapping mapping);
error_code make_error_code(errc e) noexcept;

// The error every step throws. `phase` is the step that failed (resolve,
// connect, tls, read, write, bind, …) and decides how some system errors are
// classified; `where` names what it was applied to ("127.0.0.1:9").
class error : public std::runtime_error {
 public:
  error(error_code ec, std::string phase, std::string where = {}, std::string reason = {});
  error(errc e, std::string phase, std::string where = {}, std::string reason = {});

  const error_code& code() const noexcept { return code_; }
  const std::string& phase() const noexcept { return phase_; }
  const std::string& where() const noexcept { return where_; }
  // "<phase> <where>: <reason>", the part after "nettool: <verb>: ".
  std::string describe() const;
  std::string reason() const;
  // A peer's own "retry after" (HTTP Retry-After), replacing the backoff.
  const std::optional<std::chrono::nanoseconds>& retry_after() const noexcept { return retry_after_; }
  error& with_retry_after(std::chrono::nanoseconds d) {
    retry_after_ = d;
    return *this;
  }

 private:
  error_code code_;
  std::string phase_;
  std::string where_;
  std::string reason_;
  std::optional<std::chrono::nanoseconds> retry_after_;
};

// SPEC §1 exit code for an error code met during `phase`.
int exit_code_for(const error_code& ec, std::string_view phase);
inline int exit_code_for(const error& e) { return exit_code_for(e.code(), e.phase()); }
constexpr int to_int(exit_code c) noexcept { return static_cast<int>(c); }

// True for outcomes SPEC §1 calls transient: resolution failure, connection
// refused/reset/unreachable before application data, connect timeout.
bool is_transient(const error& e);

}  // namespace nettool::core

template <>
struct boost::system::is_error_code_enum<nettool::core::errc> : std::true_type {};
