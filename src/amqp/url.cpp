// SPEC §2 amqp's broker URL, as RabbitMQ's URI spec reads it.
#include "amqp.hpp"

#include "nettool/core/error.hpp"

#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

#include <charconv>
#include <cstdlib>

namespace nettool::amqp {
namespace {

int query_number(const std::string& value, const char* name, int max, const std::string& url) {
  int n = 0;
  const auto* end = value.data() + value.size();
  const auto [p, ec] = std::from_chars(value.data(), end, n);
  if (value.empty() || ec != std::errc() || p != end || n < 0 || n > max)
    throw core::error(core::errc::usage, "--url", url,
                      std::string(name) + "=" + value + " is not a whole number from 0 to " + std::to_string(max));
  return n;
}

}  // namespace

std::string url_from_environment(const std::string& option) {
  if (!option.empty()) return option;
  for (const char* name : {"NETTOOL_AMQP_URL", "AMQP_URL"})
    if (const char* v = std::getenv(name); v && *v) return v;
  return "amqp://guest:guest@localhost:5672";
}

broker_url parse_url(const std::string& text) {
  auto parsed = boost::urls::parse_uri(text);
  if (!parsed) throw core::error(core::errc::usage, "--url", text, "not a URL (amqp://USER:PASS@HOST:PORT/VHOST)");
  const auto& u = *parsed;
  broker_url out;
  if (u.scheme() == "amqps") {
    out.tls = true;
    out.port = 5671;
  } else if (u.scheme() != "amqp") {
    throw core::error(core::errc::usage, "--url", text, "the scheme is amqp:// or amqps://");
  }
  if (u.host().empty()) throw core::error(core::errc::usage, "--url", text, "no host");
  out.host = u.host_type() == boost::urls::host_type::ipv6 ? u.host_address() : u.host();
  if (u.has_port()) {
    if (u.port_number() == 0) throw core::error(core::errc::usage, "--url", text, "the port is 1-65535");
    out.port = u.port_number();
  }
  if (u.has_userinfo()) {
    out.user = u.user();
    out.password = u.has_password() ? std::string(u.password()) : std::string();
  }
  // No path: the default vhost "/". A path is the vhost, percent-decoded,
  // so "/" alone is the empty vhost and "/%2f" is "/".
  const std::string path = u.path();
  if (!path.empty()) {
    if (std::string_view(u.encoded_path()).find('/', 1) != std::string_view::npos)
      throw core::error(core::errc::usage, "--url", text, "the path is one vhost: a '/' in it is written %2f");
    out.vhost = path.substr(1);
  }
  for (const auto& param : u.params()) {
    const std::string key = param.key;
    const std::string value = param.value;
    if (key == "heartbeat")
      out.heartbeat = query_number(value, "heartbeat", 65535, text);
    else if (key == "frame_max") {
      out.frame_max = query_number(value, "frame_max", 1 << 30, text);
      if (out.frame_max != 0 && out.frame_max < 4096)
        throw core::error(core::errc::usage, "--url", text, "frame_max is at least 4096 (AMQP's minimum)");
    } else {
      throw core::error(core::errc::usage, "--url", text, "unknown URL parameter '" + key + "' (heartbeat, frame_max)");
    }
  }
  out.shown = std::string(u.scheme()) + "://" + (u.has_userinfo() ? std::string(u.encoded_user()) + "@" : "") +
              std::string(u.encoded_host_and_port()) + std::string(u.encoded_path());
  return out;
}

}  // namespace nettool::amqp
