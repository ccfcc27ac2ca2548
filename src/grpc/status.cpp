// gRPC status codes as errors: SPEC §1's 64+N exit codes, through the
// core's extension point (core::register_exit_codes).
#include "grpc.hpp"

#include "nettool/core/output.hpp"

#include <array>

namespace nettool::grpc {
namespace {

constexpr std::array<const char*, 17> names{
    "OK",        "CANCELLED",      "UNKNOWN",           "INVALID_ARGUMENT",   "DEADLINE_EXCEEDED",
    "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
    "ABORTED",   "OUT_OF_RANGE",   "UNIMPLEMENTED",     "INTERNAL",           "UNAVAILABLE",
    "DATA_LOSS", "UNAUTHENTICATED"};

class category_type final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "grpc"; }
  std::string message(int ev) const override { return status_name(ev); }
};

const category_type category;

}  // namespace

std::string status_name(int code) {
  if (code >= 0 && code < static_cast<int>(names.size())) return names[static_cast<std::size_t>(code)];
  return "STATUS_" + std::to_string(code);
}

std::optional<int> status_code_named(std::string_view name) {
  for (std::size_t i = 0; i < names.size(); ++i)
    if (name == names[i]) return static_cast<int>(i);
  return std::nullopt;
}

const boost::system::error_category& status_category() noexcept { return category; }

void register_status_exit_codes() {
  core::register_exit_codes(category,
                            {[](int code) { return 64 + code; },
                             [](int code) { return code == static_cast<int>(::grpc::StatusCode::UNAVAILABLE); }});
}

std::string one_line(std::string_view peer_text) {
  std::string out;
  for (const char c : core::printable(peer_text)) {
    if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

core::error status_error(const ::grpc::Status& status, std::string phase, std::string where,
                         const std::vector<std::string>& details) {
  // SPEC: a TLS failure exits 5 whatever grpc++ calls it.
  if (tls_failure(status))
    return core::error(core::errc::tls_failed, core::phase::tls, std::move(where), one_line(status.error_message()));
  auto reason = status_name(status.error_code());
  if (!status.error_message().empty()) reason += ": " + one_line(status.error_message());
  // Still one line: the details as a JSON array (each object already compact).
  if (!details.empty()) {
    reason += "; details: [";
    for (std::size_t i = 0; i < details.size(); ++i) reason += (i ? "," : "") + details[i];
    reason += "]";
  }
  return core::error(core::error_code(status.error_code(), category), std::move(phase), std::move(where), reason);
}

}  // namespace nettool::grpc
