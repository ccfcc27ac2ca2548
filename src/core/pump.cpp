#include "nettool/core/pump.hpp"

#include "nettool/core/buffer.hpp"
#include "nettool/core/events.hpp"
#include "nettool/core/log.hpp"
#include "nettool/core/output.hpp"

namespace nettool::core {
namespace {

namespace exp = asio::experimental;
using clock = std::chrono::steady_clock;
constexpr std::size_t buffer_size = 256 * 1024;

// The pump's two directions end together once either fails or either
// finishes the pump (finish()); otherwise each waits for the other.
struct until_failed_or_finished {
  const bool* finished;
  asio::cancellation_type_t operator()(const std::exception_ptr& failure) const {
    return failure || *finished ? asio::cancellation_type::all : asio::cancellation_type::none;
  }
};

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
      const auto got = co_await conn_.read_some_or_cancelled(buffer.space());
      if (!got && finished_) co_return;  // the other direction finished the pump
      if (!got) throw error(asio::error::operation_aborted, phase::read, conn_.peer());
      const auto n = *got;
      if (n == 0) break;
      touched_ = clock::now();
      if (options_.receive && options_.json) out_.line(to_json(data_event(std::string_view(buffer.data(), n))));
      else if (options_.receive) out_.write(buffer.data(), n);
      if (options_.expect && options_.expect->stream(std::string_view(buffer.data(), n))) {
        matched_ = true;
        finish();
        co_return;
      }
    }
    log::debug("{}: end of stream", conn_.peer());
    out_.close();
    down_done_.set();
    // An interactive user cannot be expected to press ^D for a peer that is
    // gone, so a terminal on stdin ends with the peer (as ncat does).
    if (options_.send && in_.is_terminal() && options_.eof != eof_policy::ignore) finish();
  }

  // Both directions at once, until both end or one fails or finishes the
  // pump. Once finished, the other direction's failure is its cancellation.
  awaitable<void> both_ways() {
    auto ex = co_await asio::this_coro::executor;
    auto [order, up_failure, down_failure] =
        co_await exp::make_parallel_group(asio::co_spawn(ex, upstream(), asio::deferred),
                                          asio::co_spawn(ex, downstream(), asio::deferred))
            .async_wait(until_failed_or_finished{&finished_}, asio::use_awaitable);
    const auto& first = order[0] == 0 ? up_failure : down_failure;
    const auto& second = order[0] == 0 ? down_failure : up_failure;
    if (first) std::rethrow_exception(first);
    if (second && !finished_) std::rethrow_exception(second);
  }

  const clock::time_point& touched() const { return touched_; }
  bool matched() const { return matched_; }

 private:
  // Ends both directions early and normally: the other one is cancelled.
  void finish() { finished_ = true; }

  awaitable<void> on_stdin_eof() {
    switch (options_.eof) {
      case eof_policy::shutdown:
        co_await conn_.shutdown_send();
        if (!options_.receive) finish();  // --send-only quits at stdin EOF
        co_return;
      case eof_policy::ignore:
        co_return;
      case eof_policy::close:
        finish();
        co_return;
      case eof_policy::wait:
        co_await conn_.shutdown_send();
        if (!down_done_.is_set()) {
          co_await wait_at_most(down_done_.wait(), options_.eof_wait);
        }
        finish();
        co_return;
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
  bool finished_ = false;
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
  if (options.idle_timeout) {
    co_await first_of(run.both_ways(), idle_watchdog(run.touched(), *options.idle_timeout));
  } else {
    co_await run.both_ways();
  }
  log::info("{} closed: {} bytes sent, {} received", conn.peer(), conn.bytes_written(), conn.bytes_read());
  co_return pump_result{conn.bytes_written(), conn.bytes_read(), run.matched()};
}

}  // namespace nettool::core
