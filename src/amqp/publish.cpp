// amqp publish: messages from --body, --body-file or stdin (a line each, or
// --binary all of it), published in batches on the session's worker, with
// publisher confirms pipelined through a window of unconfirmed messages.
#include "properties.hpp"
#include "session.hpp"

#include "nettool/core/error.hpp"
#include "nettool/core/framing.hpp"
#include "nettool/core/log.hpp"

#include <fmt/format.h>

namespace nettool::amqp {
namespace {

// One hand-over to the worker: enough messages that the thread switch is
// paid once per many, few enough that stdin keeps flowing.
constexpr std::size_t batch_messages = 512;
constexpr std::size_t batch_bytes = 256 * 1024;

struct batch {
  std::string bytes;              // the bodies, back to back
  std::vector<std::size_t> ends;  // where each ends in `bytes`
  void add(std::string_view body) {
    bytes.append(body);
    ends.push_back(bytes.size());
  }
  bool full() const { return ends.size() >= batch_messages || bytes.size() >= batch_bytes; }
  void clear() {
    bytes.clear();
    ends.clear();
  }
};

std::string summary(const session::confirm_counts& c, bool confirm) {
  if (!confirm) return fmt::format("{} published", c.published);
  return fmt::format("{} published, {} confirmed, {} unconfirmed", c.published, c.acked, c.unconfirmed());
}

// Runs one step on the worker; what goes wrong says how far the publishing
// got (SPEC: the unconfirmed count on stderr when the broker went away
// mid-publish). The step has ended when this catches, so the worker no
// longer counts: reading its counts here is safe.
awaitable<void> step(session& s, std::function<void(amqp_connection_state_t)> job, bool confirm) {
  try {
    auto op = s.call(std::move(job));
    co_await std::move(op);
  } catch (const core::error& e) {
    if (e.code() == core::errc::interrupted || e.code() == core::errc::terminated) throw;
    throw core::error(e.code(), e.phase(), e.where(), e.reason() + " (" + summary(s.confirms(), confirm) + ")");
  }
}

}  // namespace

awaitable<int> run_publish(core::run_context& ctx, const publish_args& args) {
  const auto props = make_properties(args.content_type, args.persistent, args.headers, args.properties);
  // --body and --body-file are one message each; else stdin.
  std::vector<std::string> texts;
  if (args.body) texts.push_back(*args.body);
  if (!args.body_file.empty()) texts.push_back(core::read_file(args.body_file));
  const bool confirm = !args.no_confirm;

  session s(ctx, args.client);
  co_await s.open();
  if (confirm) {
    auto select = s.call([](amqp_connection_state_t conn) {
      amqp_confirm_select(conn, 1);
      check_reply(amqp_get_rpc_reply(conn), "confirm.select");
    });
    co_await std::move(select);
  }

  const std::string exchange = args.exchange;
  const std::string routing_key = args.routing_key;
  const std::uint64_t window = std::max<std::uint64_t>(args.window, 1);
  const int mandatory = args.mandatory ? 1 : 0;
  // Runs on the worker: publishes `b`, keeping at most `window` unconfirmed.
  auto publish_batch = [&s, &exchange, &routing_key, &props, window, mandatory, confirm](const batch& b) {
    return [&s, &b, &exchange, &routing_key, &props, window, mandatory, confirm](amqp_connection_state_t conn) {
      std::size_t begin = 0;
      for (const auto end : b.ends) {
        if (confirm) s.wait_confirms(window - 1);
        const amqp_bytes_t body{end - begin, const_cast<char*>(b.bytes.data() + begin)};
        check_status(
            amqp_basic_publish(conn, 1, bytes(exchange), bytes(routing_key), mandatory, 0, &props->props, body),
            "publish");
        if (confirm) s.published();
        begin = end;
      }
      s.drain();
    };
  };

  batch pending;
  std::uint64_t total = 0;
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
        if (pending.full()) {
          total += pending.ends.size();
          auto job = step(s, publish_batch(pending), confirm);
          co_await std::move(job);
          pending.clear();
        }
      }
      if (!co_await in.fill()) break;
    }
  }
  if (!pending.ends.empty()) {
    total += pending.ends.size();
    auto job = step(s, publish_batch(pending), confirm);
    co_await std::move(job);
  }

  session::confirm_counts counts;
  auto finish = step(
      s,
      [&s, &counts, confirm](amqp_connection_state_t) {
        if (confirm) s.wait_confirms(0);
        counts = s.confirms();
      },
      confirm);
  co_await std::move(finish);
  co_await s.close();
  if (!confirm) counts.published = total;
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
