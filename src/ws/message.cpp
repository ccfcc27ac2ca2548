// The ws vocabulary shared by its verbs: JSON events, close codes, and how
// Beast's errors become the core's (SPEC §1 exit codes).
#include "ws.hpp"

#include "nettool/core/output.hpp"

#include <boost/beast/http/error.hpp>
#include <boost/beast/websocket/error.hpp>

namespace nettool::ws {

namespace websocket = beast::websocket;
using core::errc;

bool is_sendable_close_code(unsigned code) {
  // 1004-1006 and 1015 are reserved and never sent; 1016-2999 belong to the
  // RFC's future; 3000-4999 are for libraries and applications.
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
}

boost::json::object message_event(std::string_view type, std::string_view payload) {
  boost::json::object o{{"type", type}};
  core::add_payload(o, payload);
  return o;
}

boost::json::object close_event(unsigned code, std::string_view reason) {
  return boost::json::object{{"type", "close"}, {"code", code}, {"reason", reason}};
}

std::string printable(std::string_view text) {
  std::string out;
  for (const unsigned char c : text) {
    if (c < 0x20 || c == 0x7f) out += fmt::format("\\x{:02x}", c);
    else out += static_cast<char>(c);
  }
  return out;
}

core::error failure(const error_code& ec, std::string phase, std::string where) {
  if (ec == beast::error::timeout || ec == asio::error::timed_out)
    return core::error(errc::timed_out, std::move(phase), std::move(where), "no answer in time");
  if (ec == errc::timed_out)  // a write past the connection's stall limit
    return core::error(errc::timed_out, std::move(phase), std::move(where), "no progress in time: the peer is not reading");
  if (ec == errc::tls_failed) return core::error(errc::tls_failed, std::move(phase), std::move(where), "TLS failed");
  if (ec.category() == make_error_code(beast::http::error::end_of_stream).category())
    return core::error(errc::protocol, std::move(phase), std::move(where), "not a WebSocket server: " + ec.message());
  if (ec == websocket::condition::handshake_failed)
    return core::error(errc::protocol, std::move(phase), std::move(where), "not a WebSocket handshake: " + ec.message());
  // Beast has answered these with a Close of its own (RFC 6455 §7.4.1).
  if (ec == websocket::error::message_too_big)
    return core::error(errc::protocol, std::move(phase), std::move(where),
                       "a message over --max-message-size; closed with 1009");
  if (ec == websocket::error::bad_frame_payload)
    return core::error(errc::protocol, std::move(phase), std::move(where),
                       "a malformed payload (a text message that is not UTF-8?); closed with 1007");
  if (ec == websocket::condition::protocol_violation || ec == websocket::error::buffer_overflow)
    return core::error(errc::protocol, std::move(phase), std::move(where), ec.message() + "; closed with 1002");
  if ((ec == asio::error::eof || ec == asio::error::connection_reset) && phase == handshake_phase)
    return core::error(errc::protocol, std::move(phase), std::move(where),
                       "the server closed the connection instead of answering (a TLS port? try wss://)");
  if (ec == asio::error::eof || ec == asio::error::connection_reset)
    return core::error(errc::protocol, std::move(phase), std::move(where),
                       "the connection ended without a Close frame (1006)");
  return core::error(ec, std::move(phase), std::move(where));
}

}  // namespace nettool::ws
