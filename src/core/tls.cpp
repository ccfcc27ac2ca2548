#include "nettool/core/tls.hpp"

#include "nettool/core/error.hpp"
#include "nettool/core/log.hpp"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

namespace nettool::core {
namespace {

template <class T, void (*Free)(T*)>
struct deleter {
  void operator()(T* p) const noexcept { Free(p); }
};
using x509_ptr = std::unique_ptr<X509, deleter<X509, X509_free>>;
using pkey_ptr = std::unique_ptr<EVP_PKEY, deleter<EVP_PKEY, EVP_PKEY_free>>;

ssl_context new_context(const SSL_METHOD* method) {
  ssl_context ctx(SSL_CTX_new(method), SSL_CTX_free);
  if (!ctx) throw error(errc::tls_failed, "tls", {}, openssl_error_string());
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  // Our writes retry with the same bytes but possibly another buffer address.
  SSL_CTX_set_mode(ctx.get(), SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
  return ctx;
}

void load_cert_and_key(SSL_CTX* ctx, const std::string& cert, const std::string& key) {
  if (SSL_CTX_use_certificate_chain_file(ctx, cert.c_str()) != 1)
    throw error(errc::local_failure, "file", cert, "cannot load certificate: " + openssl_error_string());
  const auto& key_file = key.empty() ? cert : key;
  if (SSL_CTX_use_PrivateKey_file(ctx, key_file.c_str(), SSL_FILETYPE_PEM) != 1)
    throw error(errc::local_failure, "file", key_file, "cannot load private key: " + openssl_error_string());
  if (SSL_CTX_check_private_key(ctx) != 1)
    throw error(errc::local_failure, "file", key_file, "private key does not match the certificate");
}

std::string sha256_fingerprint(X509* cert) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  X509_digest(cert, EVP_sha256(), md, &len);
  std::string out;
  for (unsigned i = 0; i < len; ++i) out += fmt::format("{}{:02X}", i ? ":" : "", md[i]);
  return out;
}

void add_extension(X509* cert, int nid, const char* value) {
  X509V3_CTX v3;
  X509V3_set_ctx_nodb(&v3);
  X509V3_set_ctx(&v3, cert, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &v3, nid, value);
  if (!ext) throw error(errc::tls_failed, "tls", {}, "cannot build certificate: " + openssl_error_string());
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

// A P-256 certificate for localhost, 127.0.0.1 and ::1, valid for 30 days.
void use_ephemeral_certificate(SSL_CTX* ctx) {
  pkey_ptr key(EVP_EC_gen("P-256"));
  x509_ptr cert(X509_new());
  if (!key || !cert) throw error(errc::tls_failed, "tls", {}, openssl_error_string());
  X509_set_version(cert.get(), 2);
  unsigned char serial[16];
  RAND_bytes(serial, sizeof serial);
  serial[0] &= 0x7f;
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 30L * 24 * 3600);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("nettool ephemeral"), -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  add_extension(cert.get(), NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1,IP:::1");
  add_extension(cert.get(), NID_basic_constraints, "critical,CA:FALSE");
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) == 0)
    throw error(errc::tls_failed, "tls", {}, "cannot sign certificate: " + openssl_error_string());
  SSL_CTX_use_certificate(ctx, cert.get());
  SSL_CTX_use_PrivateKey(ctx, key.get());
  log::notice("TLS: ephemeral self-signed certificate for localhost, SHA-256 fingerprint {}",
              sha256_fingerprint(cert.get()));
}

}  // namespace

std::string openssl_error_string() {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "unknown TLS error";
  const char* reason = ERR_reason_error_string(code);
  return reason ? reason : fmt::format("OpenSSL error {:#x}", code);
}

ssl_context make_client_context(const tls_client_options& options) {
  auto ctx = new_context(TLS_client_method());
  if (!options.insecure) {
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
    if (!options.cacert.empty()) {
      if (SSL_CTX_load_verify_locations(ctx.get(), options.cacert.c_str(), nullptr) != 1)
        throw error(errc::local_failure, "file", options.cacert, "cannot load CA file: " + openssl_error_string());
    } else if (SSL_CTX_set_default_verify_paths(ctx.get()) != 1) {
      throw error(errc::tls_failed, "tls", {}, "cannot load the system certificate store");
    }
  }
  if (!options.cert.empty()) load_cert_and_key(ctx.get(), options.cert, options.key);
  return ctx;
}

ssl_context make_server_context(const tls_server_options& options) {
  auto ctx = new_context(TLS_server_method());
  if (!options.cert.empty()) load_cert_and_key(ctx.get(), options.cert, options.key);
  else use_ephemeral_certificate(ctx.get());
  if (!options.client_ca.empty()) {
    if (SSL_CTX_load_verify_locations(ctx.get(), options.client_ca.c_str(), nullptr) != 1)
      throw error(errc::local_failure, "file", options.client_ca, "cannot load client CA: " + openssl_error_string());
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
    // Tell clients which CAs we accept, as openssl s_server -Verify does.
    if (auto* names = SSL_load_client_CA_file(options.client_ca.c_str())) SSL_CTX_set_client_CA_list(ctx.get(), names);
  }
  return ctx;
}

}  // namespace nettool::core
