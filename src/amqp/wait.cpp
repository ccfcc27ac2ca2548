// amqp wait: until the broker accepts our login (and --queue exists).
#include "session.hpp"

#include "nettool/core/wait.hpp"

namespace nettool::amqp {
namespace {

awaitable<bool> probe(core::run_context& ctx, const wait_args& args) {
  session s(ctx, args.client);
  co_await s.open();
  if (!args.queue.empty()) {
    auto exists = s.call([&args](amqp_connection_state_t conn) {
      amqp_queue_declare(conn, 1, bytes(args.queue), 1, 0, 0, 0, amqp_empty_table);  // passive: only asks
      check_reply(amqp_get_rpc_reply(conn), "queue " + args.queue);
    });
    co_await std::move(exists);
  }
  co_await s.close();
  co_return true;
}

}  // namespace

awaitable<int> run_wait(core::run_context& ctx, const wait_args& args) {
  core::wait_options options;
  options.interval = args.interval;
  options.attempt_limit = args.client.timeouts.connect_timeout;
  options.limit = args.limit;
  options.command = args.command;
  const auto url = parse_url(url_from_environment(args.client.url));
  const std::string target = url.shown + (args.queue.empty() ? "" : "?queue=" + args.queue);
  auto wait = core::wait_until_ready(
      ctx, target, [&ctx, &args] { return probe(ctx, args); }, options);
  co_await std::move(wait);
  co_return 0;
}

}  // namespace nettool::amqp
