// Moves bytes both ways between stdio and a connection, with SPEC §1's
// half-close rules, the --eof policy and --idle-timeout.
#pragma once

#include "nettool/core/async.hpp"
#include "nettool/core/expect.hpp"
#include "nettool/core/stdio.hpp"
#include "nettool/core/stream.hpp"

#include <optional>

namespace nettool::core {

enum class eof_policy {
  shutdown,  // stdin EOF → half-close; wait for the peer to finish (default)
  close,     // stdin EOF → end at once
  wait,      // stdin EOF → half-close; end at most `eof_wait` later
  ignore,    // stdin EOF → keep the write side open; end when the peer closes
};

struct pump_options {
  eof_policy eof = eof_policy::shutdown;
  duration eof_wait{};
  std::optional<duration> idle_timeout;
  bool send = true;     // false: --recv-only, stdin is not read
  bool receive = true;  // false: --send-only, received bytes are dropped
  bool crlf = false;    // LF from stdin becomes CRLF
  bool json = false;    // --json: each chunk received is a data event line (core/events.hpp)
  expectation* expect = nullptr;  // --expect: end with `matched` once it matches
};

// Parses `shutdown|close|ignore|wait:DUR`.
std::optional<pump_options> parse_eof_policy(std::string_view text, pump_options base = {});

struct pump_result {
  std::uint64_t sent = 0;
  std::uint64_t received = 0;
  bool matched = false;  // --expect matched the received stream
};

awaitable<pump_result> pump(connection& conn, input& in, output& out, const pump_options& options);

// Ends with errc::timed_out ("idle") once nothing moved for `limit`;
// `touched` is the time of the last transfer, updated by the caller.
awaitable<void> idle_watchdog(const std::chrono::steady_clock::time_point& touched, duration limit);

}  // namespace nettool::core
