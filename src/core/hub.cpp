#include "nettool/core/hub.hpp"

namespace nettool::core {

hub::member_ptr hub::join() {
  auto m = std::make_shared<member>(ex_, next_id_++);
  members_.push_back(m);
  return m;
}

void hub::leave(const member_ptr& m) {
  m->closed = true;
  m->queue.clear();
  m->queued = 0;
  m->wake.cancel();
  members_.remove(m);
  space_.cancel();
}

bool hub::full() const {
  for (const auto& m : members_)
    if (m->queued > max_queued_) return true;
  return false;
}

awaitable<void> hub::publish(const member* from, std::string data) {
  while (full()) {
    co_await space_.async_wait(asio::as_tuple(asio::use_awaitable));
    co_await throw_if_cancelled();
  }
  auto shared = std::make_shared<const std::string>(std::move(data));
  for (const auto& m : members_) {
    if (m.get() == from) continue;
    m->queue.push_back(shared);
    m->queued += shared->size();
    m->wake.cancel();
  }
}

awaitable<hub::chunk> hub::next(const member_ptr& m) {
  while (m->queue.empty()) {
    if (m->closed) co_return nullptr;
    co_await m->wake.async_wait(asio::as_tuple(asio::use_awaitable));
    co_await throw_if_cancelled();
  }
  auto c = std::move(m->queue.front());
  m->queue.pop_front();
  m->queued -= c->size();
  space_.cancel();
  co_return c;
}

}  // namespace nettool::core
