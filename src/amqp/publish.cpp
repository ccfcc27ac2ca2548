// amqp publish: messages from --body, --body-file or stdin (a line each, or
// --binary all of it), published in batches on the session's worker, with
// publisher confirms pipelined through a window of unconfirmed messages.
#include "publisher.hpp"

#include "nettool/core/error.hpp"
#include "nettool/core/framing.hpp"
#include "nettool/core/log.hpp"
#include "nettool/core/retry.hpp"

#include <fmt/format.h>

#include <deque>
#include <optional>
#include <random>

namespace nettool::amqp {
namespace {

// Publishing that survives a lost connection (--retries N): every message
// is kept until the broker settled it (acked or nacked), and after the
// connection was lost the unsettled ones are published again on a new one,
// in order, then publishing goes on. Settled messages are never published
// twice; unsettled ones may arrive twice (at least once). Without --retries
// nothing is kept and a lost connection ends the verb.
class resilient_publisher {
 public:
  resilient_publisher(core::run_context& ctx, const publish_args& args, const destination& to)
      : ctx_(ctx), args_(args), to_(to), keep_(args.client.timeouts.retry.retries > 0 && to.confirm),
        reconnect_args_(args.client) {
    // After a lost connection the attempts in a row are counted here: a
    // session's own connect retries would multiply them.
    reconnect_args_.timeouts.retry.retries = 0;
  }

  awaitable<void> send(const batch& b) {
    if (keep_) retained_.push_back({published_, b});
    published_ += b.ends.size();
    for (int failures = 0;;) {
      std::optional<core::error> lost;
      try {
        if (!session_) {
          co_await connect();  // republishes what is retained, `b` too
          if (!keep_) {
            auto sent = publisher_->send(b);
            co_await std::move(sent);
          }
        } else {
          auto sent = publisher_->send(b);
          trim(co_await std::move(sent));
        }
        co_return;
      } catch (const core::error& e) {
        if (!retried(e, failures)) fail(e);
        lost = e;
      }
      co_await recover(*lost, failures);
    }
  }

  awaitable<session::confirm_counts> finish() {
    for (int failures = 0;;) {
      std::optional<core::error> lost;
      try {
        if (!session_) co_await connect();
        auto done = publisher_->finish();
        auto counts = co_await std::move(done);
        auto close = session_->close();
        co_await std::move(close);
        co_return add(earlier_, counts);
      } catch (const core::error& e) {
        if (!retried(e, failures)) fail(e);
        lost = e;
      }
      co_await recover(*lost, failures);
    }
  }

 private:
  // Whether a failure is one --retries starts over after: a connection lost
  // once one was made. The first connection has the core's connect retries
  // (as in every protocol); counting them here too would multiply them.
  bool retried(const core::error& e, int& failures) const {
    return keep_ && opened_ && is_lost_connection(e) && ++failures <= args_.client.timeouts.retry.retries;
  }

  // The error that ends the run. After a reconnect the session's own counts
  // (in `e`) cover only its connection: the whole run's are added.
  [[noreturn]] void fail(const core::error& e) const {
    if (sessions_ <= 1 || e.code() == core::errc::interrupted || e.code() == core::errc::terminated) throw e;
    const auto last = session_ ? session_->confirms() : session::confirm_counts{};
    const session::confirm_counts run{published_, earlier_.acked + last.acked, earlier_.nacked + last.nacked,
                                      earlier_.returned + last.returned};
    throw core::error(e.code(), e.phase(), e.where(),
                      fmt::format("{}; in all: {}", e.reason(), summary(run, true)));
  }

  struct kept {
    std::uint64_t first;  // the index of its first message, counted over the whole run
    batch messages;
  };

  static session::confirm_counts add(session::confirm_counts a, const session::confirm_counts& b) {
    a.published += b.published;
    a.acked += b.acked;
    a.nacked += b.nacked;
    a.returned += b.returned;
    return a;
  }

  awaitable<void> connect() {
    session_.emplace(ctx_, sessions_ == 0 ? args_.client : reconnect_args_);
    ++sessions_;
    auto open = session_->open();
    co_await std::move(open);
    opened_ = true;
    publisher_.emplace(*session_, to_);
    auto start = publisher_->start();
    co_await std::move(start);
    // This session's message k is the run's message base_ + k.
    // A copy: trim() drops from retained_ as confirms come in.
    const auto resend = retained_;
    for (const auto& k : resend) {
      auto again = publisher_->send(k.messages);
      trim(co_await std::move(again));
    }
  }

  // Drops what the broker settled, in order, of this session's messages.
  void trim(const session::confirm_counts& counts) {
    const auto settled = base_ + counts.acked + counts.nacked;
    while (!retained_.empty()) {
      auto& front = retained_.front();
      const auto count = front.messages.ends.size();
      if (front.first + count <= settled) {
        retained_.pop_front();
        continue;
      }
      if (front.first < settled) cut_front(front, static_cast<std::size_t>(settled - front.first));
      break;
    }
  }

  static void cut_front(kept& k, std::size_t n) {
    batch rest;
    std::size_t begin = k.messages.ends[n - 1];
    for (std::size_t i = n; i < k.messages.ends.size(); ++i) {
      const auto end = k.messages.ends[i];
      rest.add(std::string_view(k.messages.bytes).substr(begin, end - begin));
      begin = end;
    }
    k.first += n;
    k.messages = std::move(rest);
  }

  // The session that lost its connection goes; what it settled is counted.
  awaitable<void> recover(const core::error& lost, int failures) {
    const auto counts = session_->confirms();  // its worker has stopped counting
    trim(counts);
    earlier_ = add(earlier_, session::confirm_counts{0, counts.acked, counts.nacked, counts.returned});
    base_ += counts.acked + counts.nacked;
    publisher_.reset();
    session_.reset();
    if (!rng_) rng_.emplace(std::random_device{}());
    const auto delay = core::backoff_delay(args_.client.timeouts.retry, failures, std::nullopt, *rng_);
    std::uint64_t unsettled = 0;
    for (const auto& k : retained_) unsettled += k.messages.ends.size();
    core::log::warn("{}; publishing the {} messages not yet confirmed again in {}", lost.describe(), unsettled,
                    core::format_duration(delay));
    auto pause = core::sleep_for(delay);
    co_await std::move(pause);
  }

  core::run_context& ctx_;
  const publish_args& args_;
  const destination& to_;
  const bool keep_;
  client_args reconnect_args_;  // --retries 0: see the constructor
  int sessions_ = 0;            // connections made, the first included
  bool opened_ = false;         // the first connection was made
  std::optional<session> session_;
  std::optional<publisher> publisher_;
  std::deque<kept> retained_;
  std::uint64_t published_ = 0;      // over the whole run
  std::uint64_t base_ = 0;           // settled before the current session
  session::confirm_counts earlier_;  // settled by sessions that are gone
  std::optional<std::mt19937_64> rng_;
};

}  // namespace

awaitable<int> run_publish(core::run_context& ctx, const publish_args& args) {
  const auto props = make_properties(args.content_type, args.persistent, args.headers, args.properties);
  // --body and --body-file are one message each; else stdin.
  std::vector<std::string> texts;
  if (args.body) texts.push_back(*args.body);
  if (!args.body_file.empty()) texts.push_back(core::read_file(args.body_file));
  const bool confirm = !args.no_confirm;

  const destination to{args.exchange, args.routing_key, props.get(), args.mandatory, confirm, args.window};
  resilient_publisher out(ctx, args, to);

  batch pending;
  std::uint64_t total = 0;
  auto flush = [&]() -> awaitable<void> {
    total += pending.ends.size();
    auto send = out.send(pending);
    co_await std::move(send);
    pending.clear();
  };
  if (args.binary && texts.empty()) {
    // --binary: all of stdin is one message.
    static const std::vector<std::string> none;
    core::message_source in(ctx.executor(), none, true, max_body);
    std::string whole;
    while (auto chunk = co_await in.next()) {
      if (whole.size() + chunk->size() > max_body)
        throw core::error(core::errc::failure, core::phase::read, "stdin",
                          fmt::format("more than the {} bytes one message can hold", max_body));
      whole.append(*chunk);
    }
    pending.add(whole);
  } else {
    core::message_source in(ctx.executor(), texts, false, max_body);
    for (;;) {
      while (auto body = in.try_next()) {
        pending.add(*body);
        if (pending.full()) co_await flush();
      }
      // What was read goes out before waiting for more: a slow stdin
      // (tail -f) must not hold lines back until a batch is full.
      if (!pending.empty()) co_await flush();
      if (!co_await in.fill()) break;
    }
  }
  if (!pending.empty()) co_await flush();
  auto finish = out.finish();
  auto counts = co_await std::move(finish);
  counts.published = total;
  core::log::info("{}", summary(counts, confirm));
  if (counts.nacked > 0)
    throw core::error(core::errc::peer_error, "publish", {},
                      fmt::format("the broker nacked {} of {} messages", counts.nacked, counts.published));
  if (counts.returned > 0)
    throw core::error(
        core::errc::peer_error, "publish", {},
        fmt::format("{} of {} messages were returned as unroutable (--mandatory)", counts.returned, counts.published));
  co_return 0;
}

}  // namespace nettool::amqp
