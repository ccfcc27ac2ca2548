#include "publisher.hpp"

#include "nettool/core/error.hpp"

#include <fmt/format.h>

namespace nettool::amqp {

std::string summary(const session::confirm_counts& c, bool confirm) {
  if (!confirm) return fmt::format("{} published", c.published);
  return fmt::format("{} published, {} confirmed, {} unconfirmed", c.published, c.acked, c.unconfirmed());
}

awaitable<void> publisher::start() {
  if (!to_.confirm) co_return;
  auto select = s_.call([](amqp_connection_state_t conn) {
    amqp_confirm_select(conn, 1);
    check_reply(amqp_get_rpc_reply(conn), "confirm.select");
  });
  co_await std::move(select);
}

// SPEC: the unconfirmed count on stderr when the broker went away
// mid-publish. The step has ended when this catches, so the worker no
// longer counts: reading its counts here is safe.
awaitable<void> publisher::step(std::function<void(amqp_connection_state_t)> job) {
  try {
    auto op = s_.call(std::move(job));
    co_await std::move(op);
  } catch (const core::error& e) {
    if (e.code() == core::errc::interrupted || e.code() == core::errc::terminated) throw;
    throw core::error(e.code(), e.phase(), e.where(), e.reason() + " (" + summary(s_.confirms(), to_.confirm) + ")");
  }
}

awaitable<session::confirm_counts> publisher::send(const batch& b) {
  session::confirm_counts counts;
  // Runs on the worker: keeps at most `window` unconfirmed.
  auto job = [this, &b, &counts](amqp_connection_state_t conn) {
    const auto& to = to_;
    const auto window = std::max<std::uint64_t>(to.window, 1);
    std::size_t begin = 0;
    for (const auto end : b.ends) {
      if (to.confirm) s_.wait_confirms(window - 1);
      const amqp_bytes_t body{end - begin, const_cast<char*>(b.bytes.data() + begin)};
      check_status(amqp_basic_publish(conn, 1, bytes(to.exchange), bytes(to.routing_key), to.mandatory ? 1 : 0, 0,
                                      &to.properties->props, body),
                   "publish");
      if (to.confirm) s_.published();
      begin = end;
    }
    s_.drain();
    counts = s_.confirms();
  };
  auto op = step(std::move(job));
  co_await std::move(op);
  co_return counts;
}

awaitable<session::confirm_counts> publisher::finish() {
  session::confirm_counts counts;
  auto op = step([this, &counts](amqp_connection_state_t) {
    if (to_.confirm) s_.wait_confirms(0);
    counts = s_.confirms();
  });
  co_await std::move(op);
  co_return counts;
}

}  // namespace nettool::amqp
