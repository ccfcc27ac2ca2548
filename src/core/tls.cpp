// The core's side of TLS: find the engine in nettool-tls.so on first use.
#include "nettool/core/tls.hpp"

#include "nettool/core/module.hpp"

namespace nettool::core {
namespace {

const tls_engine& engine() {
  static const tls_engine* loaded = [] {
    auto entry = reinterpret_cast<const tls_engine* (*)()>(load_module_symbol("tls", "nettool_tls_engine_v1"));
    return entry();
  }();
  return *loaded;
}

}  // namespace

tls_context_ptr make_client_context(const tls_client_options& options) { return engine().client(options); }
tls_context_ptr make_server_context(const tls_server_options& options) { return engine().server(options); }
pem_pair make_ephemeral_pem() { return engine().ephemeral_pem(); }

}  // namespace nettool::core
