// TLS contexts built from the TLS option groups (SPEC §1 "TLS").
#pragma once

#include <memory>
#include <string>

struct ssl_ctx_st;

namespace nettool::core {

struct tls_client_options {
  bool enabled = false;
  std::string cacert;
  std::string cert;
  std::string key;
  std::string servername;
  bool insecure = false;
};

struct tls_server_options {
  bool enabled = false;
  std::string cert;
  std::string key;
  std::string client_ca;
};

using ssl_context = std::shared_ptr<ssl_ctx_st>;

// Verification against the system store (or --cacert) unless insecure;
// a client certificate when cert/key are given. Throws core::error.
ssl_context make_client_context(const tls_client_options& options);
// With cert/key, or else an ephemeral self-signed certificate for localhost
// whose SHA-256 fingerprint is logged. client_ca requires client certificates.
ssl_context make_server_context(const tls_server_options& options);

// The most recent OpenSSL error as one line (and clears the queue).
std::string openssl_error_string();

}  // namespace nettool::core
