// amqp publish: messages from --body, --body-file or stdin (a line each, or
// --binary all of it), published in batches on the session's worker, with
// publisher confirms pipelined through a window of unconfirmed messages.
#include "publisher.hpp"

#include "nettool/core/error.hpp"
#include "nettool/core/framing.hpp"
#include "nettool/core/log.hpp"

#include <fmt/format.h>

namespace nettool::amqp {

awaitable<int> run_publish(core::run_context& ctx, const publish_args& args) {
  const auto props = make_properties(args.content_type, args.persistent, args.headers, args.properties);
  // --body and --body-file are one message each; else stdin.
  std::vector<std::string> texts;
  if (args.body) texts.push_back(*args.body);
  if (!args.body_file.empty()) texts.push_back(core::read_file(args.body_file));
  const bool confirm = !args.no_confirm;

  session s(ctx, args.client);
  co_await s.open();
  const destination to{args.exchange, args.routing_key, props.get(), args.mandatory, confirm, args.window};
  publisher out(s, to);
  co_await out.start();

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
          auto send = out.send(pending);
          co_await std::move(send);
          pending.clear();
        }
      }
      if (!co_await in.fill()) break;
    }
  }
  if (!pending.empty()) {
    total += pending.ends.size();
    auto send = out.send(pending);
    co_await std::move(send);
  }
  auto finish = out.finish();
  auto counts = co_await std::move(finish);
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
