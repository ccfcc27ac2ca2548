// nettool-tls.so: TLS on OpenSSL, loaded by the core on first use
// (include/nettool/core/tls.hpp). OpenSSL runs directly on the non-blocking
// socket; the core waits for readiness with Asio. That way a half-close can
// send close_notify while a read is pending, which asio::ssl::stream's
// async_shutdown cannot do.
#include "nettool/core/error.hpp"
#include "nettool/core/log.hpp"
#include "nettool/core/tls.hpp"

#include <boost/asio/ip/address.hpp>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <unistd.h>

#include <openssl/x509v3.h>
#include <cstring>

#include <cerrno>

namespace nettool::core {
namespace {

using ssl_ctx_ptr = std::shared_ptr<SSL_CTX>;

// The most recent OpenSSL error as one line (and clears the queue).
std::string openssl_error_string() {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "unknown TLS error";
  const char* reason = ERR_reason_error_string(code);
  return reason ? reason : fmt::format("OpenSSL error {:#x}", code);
}

template <class T, void (*Free)(T*)>
struct deleter {
  void operator()(T* p) const noexcept { Free(p); }
};
using x509_ptr = std::unique_ptr<X509, deleter<X509, X509_free>>;
using pkey_ptr = std::unique_ptr<EVP_PKEY, deleter<EVP_PKEY, EVP_PKEY_free>>;

ssl_ctx_ptr new_context(const SSL_METHOD* method) {
  ssl_ctx_ptr ctx(SSL_CTX_new(method), SSL_CTX_free);
  if (!ctx) throw error(errc::tls_failed, core::phase::tls, {}, openssl_error_string());
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  // Our writes retry with the same bytes but possibly another buffer address.
  SSL_CTX_set_mode(ctx.get(), SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
  return ctx;
}

// OpenSSL reports a missing file as "OpenSSL error 0x80000002": say which
// file and why, as the system does.
void require_readable(const std::string& path) {
  if (::access(path.c_str(), R_OK) != 0)
    throw error(errc::local_failure, core::phase::file, path, std::strerror(errno));
}

void load_cert_and_key(SSL_CTX* ctx, const std::string& cert, const std::string& key) {
  require_readable(cert);
  if (!key.empty()) require_readable(key);
  if (SSL_CTX_use_certificate_chain_file(ctx, cert.c_str()) != 1)
    throw error(errc::local_failure, core::phase::file, cert, "cannot load certificate: " + openssl_error_string());
  const auto& key_file = key.empty() ? cert : key;
  if (SSL_CTX_use_PrivateKey_file(ctx, key_file.c_str(), SSL_FILETYPE_PEM) != 1)
    throw error(errc::local_failure, core::phase::file, key_file, "cannot load private key: " + openssl_error_string());
  if (SSL_CTX_check_private_key(ctx) != 1)
    throw error(errc::local_failure, core::phase::file, key_file, "private key does not match the certificate");
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
  if (!ext) throw error(errc::tls_failed, core::phase::tls, {}, "cannot build certificate: " + openssl_error_string());
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

// A P-256 certificate for localhost, 127.0.0.1 and ::1, valid for 30 days;
// its fingerprint is logged.
std::pair<pkey_ptr, x509_ptr> make_ephemeral_certificate() {
  pkey_ptr key(EVP_EC_gen("P-256"));
  x509_ptr cert(X509_new());
  if (!key || !cert) throw error(errc::tls_failed, core::phase::tls, {}, openssl_error_string());
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
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("nettool ephemeral"), -1,
                             -1, 0);
  X509_set_issuer_name(cert.get(), name);
  add_extension(cert.get(), NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1,IP:::1");
  add_extension(cert.get(), NID_basic_constraints, "critical,CA:FALSE");
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) == 0)
    throw error(errc::tls_failed, core::phase::tls, {}, "cannot sign certificate: " + openssl_error_string());
  log::notice("TLS: ephemeral self-signed certificate for localhost, SHA-256 fingerprint {}",
              sha256_fingerprint(cert.get()));
  return {std::move(key), std::move(cert)};
}

void use_ephemeral_certificate(SSL_CTX* ctx) {
  auto [key, cert] = make_ephemeral_certificate();
  SSL_CTX_use_certificate(ctx, cert.get());
  SSL_CTX_use_PrivateKey(ctx, key.get());
}

std::string pem_of(int (*write)(BIO*, void*), void* object) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), &BIO_free);
  if (!bio || write(bio.get(), object) != 1)
    throw error(errc::tls_failed, core::phase::tls, {}, openssl_error_string());
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(size));
}

ssl_ctx_ptr openssl_client_context(const tls_client_options& options) {
  auto ctx = new_context(TLS_client_method());
  if (!options.insecure) {
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
    if (!options.cacert.empty()) {
      require_readable(options.cacert);
      if (SSL_CTX_load_verify_locations(ctx.get(), options.cacert.c_str(), nullptr) != 1)
        throw error(errc::local_failure, core::phase::file, options.cacert,
                    "cannot load CA file: " + openssl_error_string());
    } else if (SSL_CTX_set_default_verify_paths(ctx.get()) != 1) {
      throw error(errc::tls_failed, core::phase::tls, {}, "cannot load the system certificate store");
    }
  }
  if (!options.cert.empty()) load_cert_and_key(ctx.get(), options.cert, options.key);
  return ctx;
}

ssl_ctx_ptr openssl_server_context(const tls_server_options& options) {
  auto ctx = new_context(TLS_server_method());
  if (!options.cert.empty())
    load_cert_and_key(ctx.get(), options.cert, options.key);
  else
    use_ephemeral_certificate(ctx.get());
  if (!options.client_ca.empty()) {
    require_readable(options.client_ca);
    if (SSL_CTX_load_verify_locations(ctx.get(), options.client_ca.c_str(), nullptr) != 1)
      throw error(errc::local_failure, core::phase::file, options.client_ca,
                  "cannot load client CA: " + openssl_error_string());
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
    // Tell clients which CAs we accept, as openssl s_server -Verify does.
    if (auto* names = SSL_load_client_CA_file(options.client_ca.c_str())) SSL_CTX_set_client_CA_list(ctx.get(), names);
  }
  return ctx;
}

// What OpenSSL says when the bytes that came back are not TLS at all (a
// plain HTTP server, an echo server): the usual mistake behind them.
bool speaks_no_tls(std::string_view reason) {
  for (const std::string_view r : {"wrong version number", "unexpected message", "packet length too long",
                                   "record layer failure", "http request", "unknown protocol"})
    if (reason == r) return true;
  return false;
}

// What went wrong in the last failed step, kept until failure() is asked.
struct failure_info {
  int ssl_error = 0;
  int sys_errno = 0;
  long verify = X509_V_OK;
  std::string reason;
  const char* phase = core::phase::tls;
  bool in_handshake = false;
};

class openssl_session final : public tls_session {
 public:
  openssl_session(const ssl_ctx_ptr& ctx, int fd) : ctx_(ctx), ssl_(SSL_new(ctx.get())) {
    if (!ssl_) throw error(errc::tls_failed, core::phase::tls, {}, openssl_error_string());
    SSL_set_fd(ssl_, fd);
  }
  ~openssl_session() override { SSL_free(ssl_); }
  openssl_session(const openssl_session&) = delete;
  openssl_session& operator=(const openssl_session&) = delete;

  void as_client(const std::string& host) {
    boost::system::error_code not_ip;
    boost::asio::ip::make_address(host, not_ip);
    if (not_ip) {
      SSL_set_tlsext_host_name(ssl_, host.c_str());
      SSL_set1_host(ssl_, host.c_str());
    } else {
      X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_), host.c_str());
    }
    SSL_set_connect_state(ssl_);
  }
  void as_server() { SSL_set_accept_state(ssl_); }

  tls_status handshake() override {
    prepare();
    const int rc = SSL_do_handshake(ssl_);
    if (rc == 1) return tls_status::done;
    return classify(rc, core::phase::tls, true);
  }

  tls_status read(void* data, std::size_t size, std::size_t& got) override {
    prepare();
    got = 0;
    if (SSL_read_ex(ssl_, data, size, &got) == 1) return tls_status::done;
    const int err = SSL_get_error(ssl_, 0);
    if (err == SSL_ERROR_ZERO_RETURN) return tls_status::eof;
    if ((err == SSL_ERROR_SYSCALL && errno == 0) ||
        (err == SSL_ERROR_SSL && ERR_GET_REASON(ERR_peek_error()) == SSL_R_UNEXPECTED_EOF_WHILE_READING)) {
      // Many peers close without close_notify; as Beast's stream_truncated,
      // this is the end of the stream, not a failure.
      ERR_clear_error();
      log::debug("peer closed without TLS close_notify");
      return tls_status::eof;
    }
    return classify(0, core::phase::read, false, err);
  }

  tls_status write(const void* data, std::size_t size, std::size_t& put) override {
    prepare();
    put = 0;
    if (SSL_write_ex(ssl_, data, size, &put) == 1) return tls_status::done;
    return classify(0, core::phase::write, false, SSL_get_error(ssl_, 0));
  }

  tls_status shutdown() override {
    prepare();
    const int rc = SSL_shutdown(ssl_);
    if (rc >= 0) return tls_status::done;
    const int err = SSL_get_error(ssl_, rc);
    if (err == SSL_ERROR_WANT_WRITE) return tls_status::want_write;
    ERR_clear_error();
    return tls_status::done;  // the peer is gone already: nothing left to tell it
  }

  std::string summary() const override {
    return fmt::format("{} {}", SSL_get_version(ssl_), SSL_get_cipher_name(ssl_));
  }

  error failure(const std::string& peer) const override {
    const auto& f = failure_;
    if (f.ssl_error == SSL_ERROR_SYSCALL && f.sys_errno != 0)
      return error(error_code(f.sys_errno, boost::system::system_category()), f.phase, peer);
    if (f.verify != X509_V_OK)
      return error(errc::tls_failed, core::phase::tls, peer,
                   fmt::format("certificate verify failed: {}", X509_verify_cert_error_string(f.verify)));
    if (f.in_handshake && (f.ssl_error == SSL_ERROR_SYSCALL || f.ssl_error == SSL_ERROR_ZERO_RETURN))
      return error(errc::tls_failed, core::phase::tls, peer, "the peer closed the connection during the TLS handshake");
    if (f.in_handshake && speaks_no_tls(f.reason))
      return error(errc::tls_failed, core::phase::tls, peer, f.reason + ": the server does not speak TLS on this port");
    return error(errc::tls_failed, core::phase::tls, peer, f.reason.empty() ? "TLS failure" : f.reason);
  }

 private:
  // The error queue and errno are per thread: clear them before each call
  // so SSL_get_error reads only this call's outcome.
  void prepare() {
    ERR_clear_error();
    errno = 0;
  }

  tls_status classify(int rc, const char* phase, bool in_handshake, int err = -1) {
    if (err < 0) err = SSL_get_error(ssl_, rc);
    if (err == SSL_ERROR_WANT_READ) return tls_status::want_read;
    if (err == SSL_ERROR_WANT_WRITE) return tls_status::want_write;
    failure_.ssl_error = err;
    failure_.sys_errno = errno;
    failure_.verify = SSL_get_verify_result(ssl_);
    failure_.phase = phase;
    failure_.in_handshake = in_handshake;
    failure_.reason = err == SSL_ERROR_SSL ? openssl_error_string() : std::string{};
    ERR_clear_error();
    return tls_status::failed;
  }

  ssl_ctx_ptr ctx_;  // the session keeps its context alive
  SSL* ssl_;
  failure_info failure_;
};

class openssl_context final : public tls_context {
 public:
  explicit openssl_context(ssl_ctx_ptr ctx) : ctx_(std::move(ctx)) {}
  std::unique_ptr<tls_session> client_session(int fd, const std::string& host) override {
    auto s = std::make_unique<openssl_session>(ctx_, fd);
    s->as_client(host);
    return s;
  }
  std::unique_ptr<tls_session> server_session(int fd) override {
    auto s = std::make_unique<openssl_session>(ctx_, fd);
    s->as_server();
    return s;
  }

 private:
  ssl_ctx_ptr ctx_;
};

tls_context_ptr client(const tls_client_options& o) {
  return std::make_shared<openssl_context>(openssl_client_context(o));
}
tls_context_ptr server(const tls_server_options& o) {
  return std::make_shared<openssl_context>(openssl_server_context(o));
}
const char* version() { return OpenSSL_version(OPENSSL_VERSION); }

pem_pair ephemeral_pem() {
  auto [key, cert] = make_ephemeral_certificate();
  pem_pair out;
  out.cert = pem_of([](BIO* b, void* x) { return PEM_write_bio_X509(b, static_cast<X509*>(x)); }, cert.get());
  out.key = pem_of(
      [](BIO* b, void* k) {
        return PEM_write_bio_PrivateKey(b, static_cast<EVP_PKEY*>(k), nullptr, nullptr, 0, nullptr, nullptr);
      },
      key.get());
  return out;
}

constexpr tls_engine openssl_engine{&client, &server, &version, &ephemeral_pem};

}  // namespace
}  // namespace nettool::core

extern "C" const nettool::core::tls_engine* nettool_tls_engine_v1() { return &nettool::core::openssl_engine; }
