#include "nettool/core/pump.hpp"

#include "nettool/core/buffer.hpp"
#include "nettool/core/events.hpp"
#include "nettool/core/log.hpp"
#include "nettool/core/output.hpp"

namespace nettool::core {
namespace {

using clock = std::chrono::steady_clock;
constexpr std::size_t buffer_size = 256 * 1024;

// Thrown inside the pump to end both directions early and normally.
struct finished {};

class pump_run {
 public:
  pump_run(connection& conn, input& in, output& out, const pump_options& options, event& down_done)
      : conn_(conn), in_(in), out_(out), options_(options), down_done_(down_done) {}

  awaitable<void> upstream() {
    if (!options_.send) co_return;  // --recv-only: never read stdin, never half-close
    io_buffer buffer(buffer_size);
    std::string converted;
    for (;;) {
      const auto n = co_await in_.read_some(buffer.space());
      if (n == 0) break;
      touched_ = clock::now();
      if (options_.crlf) {
        co_await conn_.write(asio::buffer(to_crlf(buffer.data(), n, converted)));
      } else {
        co_await conn_.write(buffer.first(n));
      }
      touched_ = clock::now();
    }
    log::debug("stdin: end of input");
    co_await on_stdin_eof();
  }

  awaitable<void> downstream() {
    io_buffer buffer(buffer_size);
    for (;;) {
      const auto n = co_await conn_.read_some(buffer.space());
      if (n == 0) break;
      touched_ = clock::now();
      if (options_.receive && options_.json) out_.line(to_json(data_event(std::string_view(buffer.data(), n))));
      else if (options_.receive) out_.write(buffer.data(), n);
      if (options_.expect && options_.expect->stream(std::string_view(buffer.data(), n))) {
        matched_ = true;
        throw finished{};
      }
    }
    log::debug("{}: end of stream", conn_.peer());
    out_.close();
    down_done_.set();
    // An interactive user cannot be expected to press ^D for a peer that is
    // gone, so a terminal on stdin ends with the peer (as ncat does).
    if (options_.send && in_.is_terminal() && options_.eof != eof_policy::ignore) throw finished{};
  }

  const clock::time_point& touched() const { return touched_; }
  bool matched() const { return matched_; }

 private:
  awaitable<void> on_stdin_eof() {
    switch (options_.eof) {
      case eof_policy::shutdown:
        co_await conn_.shutdown_send();
        if (!options_.receive) throw finished{};  // --send-only quits at stdin EOF
        co_return;
      case eof_policy::ignore:
        co_return;
      case eof_policy::close:
        throw finished{};
      case eof_policy::wait:
        co_await conn_.shutdown_send();
        if (!down_done_.is_set()) {
          co_await first_of(down_done_.wait(), sleep_for(options_.eof_wait));
        }
        throw finished{};
    }
  }

  // CRLF conversion carries a lone CR across reads, so "\r\n" split over two
  // reads is not doubled.
  std::string_view to_crlf(const char* data, std::size_t n, std::string& out) {
    out.clear();
    for (std::size_t i = 0; i < n; ++i) {
      if (data[i] == '\n' && !last_was_cr_) out.push_back('\r');
      out.push_back(data[i]);
      last_was_cr_ = data[i] == '\r';
    }
    return out;
  }

  connection& conn_;
  input& in_;
  output& out_;
  const pump_options& options_;
  event& down_done_;
  clock::time_point touched_ = clock::now();
  bool last_was_cr_ = false;
  bool matched_ = false;
};

}  // namespace

std::optional<pump_options> parse_eof_policy(std::string_view text, pump_options base) {
  if (text == "shutdown") base.eof = eof_policy::shutdown;
  else if (text == "close") base.eof = eof_policy::close;
  else if (text == "ignore") base.eof = eof_policy::ignore;
  else if (text.substr(0, 5) == "wait:") {
    auto d = parse_duration(text.substr(5));
    if (!d) return std::nullopt;
    base.eof = eof_policy::wait;
    base.eof_wait = *d;
  } else {
    return std::nullopt;
  }
  return base;
}

awaitable<void> idle_watchdog(const clock::time_point& touched, duration limit) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  for (;;) {
    const auto due = touched + limit;
    if (clock::now() >= due) throw error(errc::timed_out, "idle", {}, fmt::format("no data for {}", format_duration(limit)));
    timer.expires_at(due);
    co_await timer.async_wait(asio::use_awaitable);
  }
}

awaitable<pump_result> pump(connection& conn, input& in, output& out, const pump_options& options) {
  event down_done(co_await asio::this_coro::executor);
  pump_run run(conn, in, out, options, down_done);
  try {
    if (options.idle_timeout) {
      co_await first_of(both(run.upstream(), run.downstream()), idle_watchdog(run.touched(), *options.idle_timeout));
    } else {
      co_await both(run.upstream(), run.downstream());
    }
  } catch (const finished&) {
  }
  log::info("{} closed: {} bytes sent, {} received", conn.peer(), conn.bytes_written(), conn.bytes_read());
  co_return pump_result{conn.bytes_written(), conn.bytes_read(), run.matched()};
}

}  // namespace nettool::core
