#pragma once

#include "nettool/core/tls.hpp"

namespace nettool::tcp {
// The client TLS context for --tls and friends, or none.
core::tls_context_ptr client_tls(const core::tls_client_options& tls);
}  // namespace nettool::tcp
