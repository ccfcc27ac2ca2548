#include "nettool/core/error.hpp"

#include <boost/asio/error.hpp>

#include <array>
#include <cerrno>

namespace nettool::core {
namespace {

class category final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "nettool"; }
  std::string message(int ev) const override {
    switch (static_cast<errc>(ev)) {
      case errc::timed_out: return "timed out";
      case errc::interrupted: return "interrupted";
      case errc::terminated: return "terminated";
      case errc::usage: return "usage error";
      case errc::protocol: return "protocol error";
      case errc::peer_error: return "the peer reported an error";
      case errc::nothing_available: return "nothing available";
      case errc::assertion_failed: return "assertion failed";
      case errc::stdout_closed: return "stdout closed";
      case errc::tls_failed: return "TLS failure";
      case errc::local_failure: return "local failure";
      case errc::failure: return "failure";
      case errc::connect_failed: return "connection failed";
    }
    return "unknown error";
  }
};

// Few adapters register (one each); a fixed table needs no lock at run time.
struct registered_mapping {
  const boost::system::error_category* category = nullptr;
  exit_code_mapping mapping;
};
std::array<registered_mapping, 8> registered;

const exit_code_mapping* mapping_for(const boost::system::error_category& category) {
  for (const auto& entry : registered)
    if (entry.category && *entry.category == category) return &entry.mapping;
  return nullptr;
}

bool phase_is(std::string_view phase, std::string_view prefix) { return phase.substr(0, prefix.size()) == prefix; }

int from_nettool(errc e) {
  switch (e) {
    case errc::timed_out: return to_int(exit_code::timed_out);
    case errc::interrupted: return to_int(exit_code::interrupted);
    case errc::terminated: return to_int(exit_code::terminated);
    case errc::usage: return to_int(exit_code::usage);
    case errc::protocol: return to_int(exit_code::protocol);
    case errc::peer_error: return to_int(exit_code::peer);
    case errc::nothing_available: return to_int(exit_code::nothing);
    case errc::assertion_failed: return to_int(exit_code::assertion);
    case errc::stdout_closed: return to_int(exit_code::ok);
    case errc::tls_failed: return to_int(exit_code::tls);
    case errc::local_failure: return to_int(exit_code::local);
    case errc::connect_failed: return to_int(exit_code::connect);
    case errc::failure: break;
  }
  return to_int(exit_code::failure);
}

int from_errno(int ev, std::string_view phase) {
  // Binding, listening and file access are local by nature, whatever errno says.
  if (phase_is(phase, core::phase::bind) || phase_is(phase, core::phase::listen) || phase_is(phase, core::phase::file))
    return to_int(exit_code::local);
  switch (ev) {
    case ECONNREFUSED:
    case ENETUNREACH:
    case EHOSTUNREACH:
    case EHOSTDOWN:
    case ENETDOWN:
      return to_int(exit_code::connect);
    case ECONNRESET:
    case ECONNABORTED:
    case EPIPE:
      // A reset is a connection failure while connecting; mid-stream it is a
      // peer that vanished, which SPEC has no narrower code for.
      return phase_is(phase, core::phase::connect) || phase_is(phase, core::phase::proxy) ? to_int(exit_code::connect)
                                                                       : to_int(exit_code::failure);
    case ETIMEDOUT:
      return phase_is(phase, core::phase::connect) ? to_int(exit_code::connect) : to_int(exit_code::timed_out);
    case EADDRINUSE:
    case EADDRNOTAVAIL:
    case EACCES:
    case EPERM:
    case ENOENT:
    case EISDIR:
    case ENOSPC:
    case EROFS:
    case EMFILE:
    case ENFILE:
      return to_int(exit_code::local);
    default:
      return to_int(exit_code::failure);
  }
}

}  // namespace

const boost::system::error_category& nettool_category() noexcept {
  static const category instance;
  return instance;
}

error_code make_error_code(errc e) noexcept { return {static_cast<int>(e), nettool_category()}; }

namespace {
std::string compose(const error_code& ec, const std::string& phase, const std::string& where, const std::string& reason) {
  std::string out = phase;
  if (!where.empty()) out += (out.empty() ? "" : " ") + where;
  if (!out.empty()) out += ": ";
  return out + (reason.empty() ? ec.message() : reason);
}
}  // namespace

error::error(error_code ec, std::string phase, std::string where, std::string reason)
    : std::runtime_error(compose(ec, phase, where, reason)),
      code_(ec),
      phase_(std::move(phase)),
      where_(std::move(where)),
      reason_(std::move(reason)) {}

error::error(errc e, std::string phase, std::string where, std::string reason)
    : error(make_error_code(e), std::move(phase), std::move(where), std::move(reason)) {}

std::string error::reason() const { return reason_.empty() ? code_.message() : reason_; }

std::string error::describe() const { return what(); }

void register_exit_codes(const boost::system::error_category& category, exit_code_mapping mapping) {
  for (auto& entry : registered) {
    if (entry.category && *entry.category != category) continue;
    entry = {&category, mapping};
    return;
  }
  throw std::logic_error("register_exit_codes: the table is full");
}

int exit_code_for(const error_code& ec, std::string_view phase) {
  if (!ec) return to_int(exit_code::ok);
  const auto& cat = ec.category();
  if (const auto* own = mapping_for(cat)) return own->exit_code(ec.value());
  if (cat == nettool_category()) return from_nettool(static_cast<errc>(ec.value()));
  if (cat == boost::asio::error::get_netdb_category() || cat == boost::asio::error::get_addrinfo_category())
    return to_int(exit_code::resolve);
  if (cat == boost::asio::error::get_misc_category()) {
    if (ec == boost::asio::error::eof) return phase_is(phase, core::phase::connect) ? to_int(exit_code::connect)
                                                                          : to_int(exit_code::protocol);
    return to_int(exit_code::failure);
  }
  if (cat == boost::system::system_category() || cat == boost::system::generic_category())
    return from_errno(ec.value(), phase);
  return to_int(exit_code::failure);
}

bool is_transient(const error& e) {
  if (const auto* own = mapping_for(e.code().category())) return own->transient && own->transient(e.code().value());
  const auto code = exit_code_for(e);
  if (code == to_int(exit_code::resolve)) return true;
  if (e.code() == errc::timed_out) return e.phase() == core::phase::connect;
  if (code != to_int(exit_code::connect)) return false;
  return true;
}

}  // namespace nettool::core
