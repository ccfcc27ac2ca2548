#include "transport.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <sys/socket.h>

#include <array>
#include <random>

namespace nettool::ws {

awaitable<bool> transport::send_close(std::uint16_t code, std::string_view reason) {
  while (writing_ > 0) {
    write_done_.expires_at(asio::steady_timer::time_point::max());
    co_await write_done_.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  if (cut_off_) co_return false;
  // RFC 6455 §5.5.1: FIN and opcode 8, the code in network order, then the
  // reason (at most 123 bytes: control frames carry 125); §5.3: a client
  // masks every frame with a key the peer cannot predict.
  std::string payload{static_cast<char>(code >> 8), static_cast<char>(code & 0xff)};
  payload.append(reason.substr(0, 123));
  std::random_device random;
  const auto key = random();
  std::string frame{static_cast<char>(0x88), static_cast<char>(0x80 | payload.size())};
  for (int i = 0; i < 4; ++i) frame.push_back(static_cast<char>((key >> (8 * (3 - i))) & 0xff));
  for (std::size_t i = 0; i < payload.size(); ++i) frame.push_back(static_cast<char>(payload[i] ^ frame[2 + i % 4]));
  close_sent_ = true;
  try {
    co_await conn().write(asio::buffer(frame));
  } catch (const core::error&) {
    co_return false;  // the connection is gone already; its reader says why
  }
  co_return true;
}

void teardown(beast::role_type, transport& t, error_code& ec) {
  ec = {};
  t.conn().close();
}

void beast_close_socket(transport& t) { t.conn().close(); }

void reset_connection(transport& t) {
  const ::linger abort_now{1, 0};
  ::setsockopt(t.conn().native_handle(), SOL_SOCKET, SO_LINGER, &abort_now, sizeof abort_now);
  t.conn().close();
}

}  // namespace nettool::ws
