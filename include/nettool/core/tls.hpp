// TLS (SPEC §1 "TLS"), behind an interface: OpenSSL lives in the module
// nettool-tls.so, loaded on first use, because linking libssl/libcrypto
// into the binary costs every plain `nettool tcp connect` most of its
// start-up time (docs/benchmarks.md).
#pragma once

#include <cstddef>
#include <memory>
#include <string>

namespace nettool::core {

class error;

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

// One step of a non-blocking TLS operation on a socket.
enum class tls_status {
  done,        // the step completed
  want_read,   // wait until the socket is readable, then repeat the step
  want_write,  // wait until the socket is writable, then repeat the step
  eof,         // the peer ended its stream (close_notify, or closed without it)
  failed,      // see failure()
};

class tls_session {
 public:
  virtual ~tls_session() = default;
  virtual tls_status handshake() = 0;
  virtual tls_status read(void* data, std::size_t size, std::size_t& got) = 0;
  virtual tls_status write(const void* data, std::size_t size, std::size_t& put) = 0;
  // Sends close_notify once; never waits for the peer's.
  virtual tls_status shutdown() = 0;
  // "TLSv1.3 TLS_AES_256_GCM_SHA384", for -v.
  virtual std::string summary() const = 0;
  // The last failed step as the error to throw (TLS failures → exit 5).
  virtual error failure(const std::string& peer) const = 0;
};

class tls_context {
 public:
  virtual ~tls_context() = default;
  // `fd` is a connected socket in non-blocking mode. A client verifies
  // `host` (a name or an address) unless the context is insecure, and sends
  // it as SNI when it is a name.
  virtual std::unique_ptr<tls_session> client_session(int fd, const std::string& host) = 0;
  virtual std::unique_ptr<tls_session> server_session(int fd) = 0;
};

using tls_context_ptr = std::shared_ptr<tls_context>;

// Verification against the system store (or --cacert) unless insecure; a
// client certificate when cert/key are given. Throws core::error.
tls_context_ptr make_client_context(const tls_client_options& options);
// With cert/key, or else an ephemeral self-signed certificate for localhost
// whose SHA-256 fingerprint is logged. client_ca requires client certificates.
tls_context_ptr make_server_context(const tls_server_options& options);

// The ephemeral certificate of make_server_context, as PEM, for servers
// whose TLS another library does (grpc++); its fingerprint is logged.
struct pem_pair {
  std::string cert;
  std::string key;
};
pem_pair make_ephemeral_pem();

// What the TLS module exports as `nettool_tls_engine_v1`.
struct tls_engine {
  tls_context_ptr (*client)(const tls_client_options&);
  tls_context_ptr (*server)(const tls_server_options&);
  const char* (*version)();
  pem_pair (*ephemeral_pem)();
};

}  // namespace nettool::core

extern "C" const nettool::core::tls_engine* nettool_tls_engine_v1();
