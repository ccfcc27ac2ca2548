// grpc call, list, describe: the channel, the schema, and the call itself.
#include "json.hpp"
#include "schema.hpp"
#include "stream.hpp"

#include "nettool/core/connect.hpp"
#include "nettool/core/log.hpp"
#include "nettool/core/output.hpp"
#include "nettool/core/retry.hpp"
#include "nettool/core/stdio.hpp"
#include "nettool/http/proxy.hpp"

#include <grpcpp/channel.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/create_channel_posix.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_certificate_verifier.h>
#include <grpcpp/security/tls_credentials_options.h>
#include <grpcpp/support/channel_arguments.h>
#include <boost/json.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <atomic>
#include <cctype>
#include <thread>

namespace nettool::grpc {

using core::errc;
using metadata_list = std::vector<std::pair<std::string, std::string>>;

std::vector<std::pair<std::string, std::string>> parse_metadata(const std::vector<std::string>& headers) {
  metadata_list out;
  for (const auto& h : headers) {
    const auto colon = h.find(':');
    if (colon == std::string::npos || colon == 0) throw core::error(errc::usage, "-H", h, "metadata is 'key: value'");
    std::string key = h.substr(0, colon);
    for (auto& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    for (const char c : key)
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.'))
        throw core::error(errc::usage, "-H", h, "a metadata key has only a-z, 0-9, '-', '_' and '.'");
    if (key.starts_with("grpc-")) throw core::error(errc::usage, "-H", h, "grpc-* keys are reserved for grpc itself");
    std::string value = h.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.erase(0, 1);
    if (key.ends_with("-bin")) {
      std::string raw;
      if (!core::base64_decode(value, raw)) throw core::error(errc::usage, "-H", h, "a -bin value is base64");
      value = std::move(raw);
    } else {
      for (const char c : value)
        if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7e)
          throw core::error(errc::usage, "-H", h, "a value is printable ASCII (binary values go in -bin keys)");
    }
    out.emplace_back(std::move(key), std::move(value));
  }
  return out;
}

namespace {

// HOST:PORT or unix:PATH (also unix://PATH, as grpc++ spells it).
core::target parse_target(const std::string& text) {
  core::target to;
  if (text.starts_with("unix:")) {
    to.unix_path = text.substr(text.starts_with("unix://") ? 7 : 5);
    if (to.unix_path.empty()) throw core::error(errc::usage, "target", text, "unix:PATH needs a path");
    return to;
  }
  const auto hp = core::parse_host_port(text);
  if (!hp) throw core::error(errc::usage, "target", text, "expected HOST:PORT or unix:PATH");
  to.host = hp->host;
  to.port = hp->port;
  return to;
}

std::shared_ptr<::grpc::ChannelCredentials> tls_credentials(const core::tls_client_options& tls) {
  const auto key = tls.key.empty() ? std::string() : read_pem(tls.key, "--key", pem::key);
  const auto cert = tls.cert.empty() ? std::string() : read_pem(tls.cert, "--cert", pem::certificate);
  const auto roots = tls.cacert.empty() ? std::string() : read_pem(tls.cacert, "--cacert", pem::certificate);
  if (!tls.insecure) return ::grpc::SslCredentials({roots, key, cert});
  // --insecure: grpc++'s TLS credentials with no verification at all.
  namespace ex = ::grpc::experimental;
  ex::TlsChannelCredentialsOptions options;
  if (!cert.empty()) {
    std::vector<ex::IdentityKeyCertPair> pairs{{key, cert}};
    options.set_certificate_provider(std::make_shared<ex::StaticDataCertificateProvider>(pairs));
    options.watch_identity_key_cert_pairs();
  }
  options.set_verify_server_certs(false);
  options.set_certificate_verifier(std::make_shared<ex::NoOpCertificateVerifier>());
  options.set_check_call_host(false);
  return ex::TlsCredentials(options);
}

// grpc++'s name for the address the core reached.
std::string grpc_address(core::connection& conn, const core::target& to) {
  if (!to.unix_path.empty()) return "unix:" + to.unix_path;
  const auto ep = conn.socket().remote_endpoint();
  char text[INET6_ADDRSTRLEN] = {};
  if (ep.data()->sa_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(ep.data());
    ::inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof text);
    return fmt::format("ipv6:[{}]:{}", text, ntohs(in6->sin6_port));
  }
  const auto* in4 = reinterpret_cast<const sockaddr_in*>(ep.data());
  ::inet_ntop(AF_INET, &in4->sin_addr, text, sizeof text);
  return fmt::format("ipv4:{}:{}", text, ntohs(in4->sin_port));
}

// SPEC §1: --proxy, else HTTP_PROXY (HTTPS_PROXY under --tls) or ALL_PROXY,
// unless --noproxy or NO_PROXY lists the host. Under --tls grpc++ makes the
// connection itself, and it knows http:// proxies only.
std::string chosen_proxy(const client_args& args, const core::target& to) {
  if (!to.unix_path.empty()) return {};
  auto proxy =
      http::proxy_for_host(to.host, args.tls.enabled, args.connect.proxy, args.noproxy, http::process_environment());
  if (!proxy.empty()) {  // from the environment, so not checked by the CLI yet
    auto checked = args.connect;
    checked.proxy = proxy;
    core::validate(checked);
  }
  if (args.tls.enabled && !proxy.empty() && !proxy.starts_with("http://"))
    throw core::error(errc::usage, core::phase::proxy, proxy.substr(0, proxy.find("://")),
                      "a socks5 proxy carries plaintext grpc targets only; with --tls use an http:// proxy");
  return proxy;
}

// SPEC: --connect-timeout covers the channel becoming ready, the TLS
// handshake included. grpc++ makes progress on a connection only while some
// thread polls for it, and a channel no call uses yet has none: grpc++'s
// WaitForConnected polls, on a thread of its own, in short slices, so a
// cancelled wait (the timeout, SIGINT) ends within one. A failed handshake
// ends the wait too: the call that follows fails with grpc++'s reason
// (exit 5).
//
// The polling thread is joined, never detached: the TLS handshake runs on
// it, so it holds OpenSSL's per-thread state (error queue, random
// generators), which OpenSSL frees as the thread ends. Detached, it could
// still be ending while the program exited, and LeakSanitizer found that
// state lost (docs/architecture.md). foreign_call returns only after the
// thread's last step (done), so the join waits for its exit alone. A
// jthread: should this frame ever be destroyed unresumed, its destructor
// joins instead of ending the program.
awaitable<void> wait_until_connected(std::shared_ptr<::grpc::Channel> channel) {
  auto stop = std::make_shared<std::atomic<bool>>(false);
  std::jthread poller;
  std::function<void(core::foreign_done<bool>)> start = [&poller, channel, stop](core::foreign_done<bool> done) {
    poller = std::jthread([channel, stop, done = std::move(done)]() mutable {
      bool ready = false;
      while (!stop->load()) {
        if (channel->WaitForConnected(std::chrono::system_clock::now() + std::chrono::milliseconds(50))) {
          ready = true;
          break;
        }
        if (channel->GetState(false) == GRPC_CHANNEL_TRANSIENT_FAILURE) break;
      }
      channel.reset();  // before done: the caller may end the program right after it
      done(ready);
    });
  };
  std::function<void()> cancel = [stop] { stop->store(true); };
  auto op = core::foreign_call<bool>(std::move(start), std::move(cancel));
  std::exception_ptr failure;
  try {
    (void)co_await std::move(op);
  } catch (...) {
    failure = std::current_exception();
  }
  stop->store(true);  // ends it within one slice, should the wait have ended first
  if (poller.joinable()) poller.join();
  if (failure) std::rethrow_exception(failure);
}

}  // namespace

std::string read_pem(const std::string& path, std::string_view option, pem kind) {
  auto text = core::read_file(path);
  const bool key = kind == pem::key;
  if (text.find(key ? "PRIVATE KEY-----" : "-----BEGIN CERTIFICATE-----") != std::string::npos) return text;
  std::string reason = key ? "is no PEM private key" : "holds no PEM certificate";
  if (text.find(key ? "-----BEGIN CERTIFICATE-----" : "PRIVATE KEY-----") != std::string::npos) {
    reason += key ? " but a certificate" : " but a private key";
    if (option == "--cert" || option == "--key") reason += ": are --cert and --key swapped?";
  }
  throw core::error(errc::usage, std::string(option), path, reason);
}

bool tls_failure(const ::grpc::Status& status) {
  if (status.error_code() != ::grpc::StatusCode::UNAVAILABLE) return false;
  // Only TLS channels connect by themselves (plaintext ones get the core's
  // connected socket), and the core had just reached the address: grpc++
  // failing "to connect" there means the handshake failed.
  const auto& m = status.error_message();
  return m.find("failed to connect to all addresses") != std::string::npos || m.find("andshake") != std::string::npos ||
         m.find("SSL_ERROR") != std::string::npos || m.find("peer certificate") != std::string::npos;
}

std::string service_of(const std::string& method) {
  auto cut = method.rfind('/');
  if (cut == std::string::npos) cut = method.rfind('.');
  if (cut == std::string::npos || cut == 0 || cut + 1 == method.size())
    throw core::error(errc::usage, "method", method,
                      "expected SERVICE/METHOD, e.g. grpc.testing.TestService/UnaryCall");
  auto service = method.substr(0, cut);
  if (service.front() == '.') service.erase(0, 1);
  return service;
}

awaitable<std::shared_ptr<::grpc::Channel>> open_channel(const client_args& args) {
  const auto to = parse_target(args.target);
  // Files first: a bad one is a usage error before anything connects.
  const auto credentials = args.tls.enabled ? tls_credentials(args.tls) : nullptr;
  auto options = args.connect;
  options.proxy = chosen_proxy(args, to);
  options.connect_timeout = args.timeouts.connect_timeout;
  options.nodelay = true;  // as grpc++'s own connections: no Nagle delay on small messages
  const auto began = std::chrono::steady_clock::now();
  auto conn = co_await core::connect(to, options, nullptr);
  ::grpc::ChannelArguments channel_args;
  const int max =
      args.max_message > static_cast<std::uint64_t>(INT32_MAX) ? INT32_MAX : static_cast<int>(args.max_message);
  channel_args.SetMaxReceiveMessageSize(max);
  channel_args.SetMaxSendMessageSize(max);
  // No memory quota here: grpc++ 1.51 reads a whole response before it
  // compares it with the limit, and a client channel's quota does not stop
  // that (measured: a 60 MB response past a 1 MiB limit costs 60 MB before
  // RESOURCE_EXHAUSTED). docs/security.md says so.
  // Proxies follow SPEC §1's rules (chosen_proxy), never grpc++'s own
  // reading of the environment: grpc++ proxies only a TLS channel, and only
  // through the proxy chosen here. (Set once: grpc++ reads a repeated
  // argument's first value.)
  const bool grpc_proxies = args.tls.enabled && !options.proxy.empty();
  channel_args.SetInt(GRPC_ARG_ENABLE_HTTP_PROXY, grpc_proxies ? 1 : 0);
  const auto authority = !args.authority.empty() ? args.authority
                         : to.unix_path.empty()  ? args.target
                                                 : std::string("localhost");
  if (!args.tls.enabled) {
    const int fd = conn.socket().release();
    co_return ::grpc::CreateCustomInsecureChannelFromFd(authority, fd, channel_args);
  }
  // The core's connection proved the address (or the proxy's tunnel to it)
  // reachable, with exit 3/4 as everywhere; grpc++ opens its own for the
  // handshake: to the address the core reached, or through the same proxy.
  auto address = grpc_address(conn, to);
  conn.close();
  if (grpc_proxies) {
    channel_args.SetString(GRPC_ARG_HTTP_PROXY, options.proxy);
    // The proxy resolves the name, as for every protocol's http:// proxy.
    const bool v6 = to.host.find(':') != std::string::npos;
    address = v6 ? fmt::format("dns:///[{}]:{}", to.host, to.port) : fmt::format("dns:///{}:{}", to.host, to.port);
  }
  channel_args.SetString(GRPC_ARG_DEFAULT_AUTHORITY, authority);
  const auto name = !args.tls.servername.empty() ? args.tls.servername
                    : to.unix_path.empty()       ? to.host
                                                 : std::string("localhost");
  channel_args.SetSslTargetNameOverride(name);
  auto channel = ::grpc::CreateCustomChannel(address, credentials, channel_args);
  const auto left = std::max<core::duration>(options.connect_timeout - (std::chrono::steady_clock::now() - began),
                                             core::duration::zero());
  try {
    auto ready = core::with_timeout(wait_until_connected(channel), left, core::phase::connect, args.target);
    co_await std::move(ready);
  } catch (const core::error& e) {
    if (e.code() != errc::timed_out) throw;
    throw core::error(errc::timed_out, core::phase::connect, args.target,
                      "the TLS handshake did not finish within --connect-timeout");
  }
  co_return channel;
}

namespace {

void show_metadata(const char* what, const std::multimap<::grpc::string_ref, ::grpc::string_ref>& md) {
  if (!core::log::enabled(core::log::level::info)) return;
  for (const auto& [key, value] : md) {
    const std::string k(key.data(), key.size()), v(value.data(), value.size());
    core::log::info("{} {}: {}", what, k, k.ends_with("-bin") ? core::base64_encode(v) : core::printable(v));
  }
}

struct call_state {
  core::run_context& ctx;
  const call_args& args;
  schema& types;
  const pb::MethodDescriptor& method;
  bool& read_stdin;  // set once stdin was read: an attempt after that has nothing to send
  std::uint64_t sent = 0, received = 0;
};

// The requests, each sent as soon as it is read.
awaitable<void> send_requests(call_state& st, stream& s) {
  const bool many = st.method.client_streaming();
  std::vector<std::string> texts;
  json_texts splitter;
  auto send_ready = [&]() -> awaitable<bool> {
    for (auto& text : texts) {
      if (!many && st.sent == 1)
        throw core::error(errc::usage, "request", st.method.full_name(),
                          "this method takes one request message, got more");
      const auto message = request_from_json(st.types, *st.method.input_type(), text);
      const bool ok = co_await s.write(message);
      if (!ok) co_return false;  // the call is over: its status says why
      ++st.sent;
    }
    texts.clear();
    co_return true;
  };
  const auto& data = st.args.data;
  bool open = true;
  if (data == "@-") {
    st.read_stdin = true;
    core::stdin_reader in(st.ctx.executor());
    std::vector<char> chunk(64 * 1024);
    while (open) {
      const auto n = co_await in.read_some(core::asio::buffer(chunk));
      if (n == 0) break;
      splitter.feed({chunk.data(), n}, texts);
      open = co_await send_ready();
      splitter.throw_if_failed();  // after sending the texts that were whole
    }
  } else {
    const auto text = data.empty() ? std::string("{}") : data.starts_with('@') ? core::read_file(data.substr(1)) : data;
    splitter.feed(text, texts);
    splitter.throw_if_failed();
  }
  if (!open) co_return;
  splitter.finish(texts);
  open = co_await send_ready();
  if (!open) co_return;
  if (st.sent == 0 && !many)
    throw core::error(errc::usage, "request", st.method.full_name(), "no request message (give -d JSON)");
  (void)co_await s.writes_done();
}

awaitable<void> print_responses(call_state& st, stream& s) {
  while (true) {
    auto message = co_await s.read();
    if (!message) co_return;
    if (st.received == 0) show_metadata("<", s.context().GetServerInitialMetadata());
    ++st.received;
    auto text = response_to_json(st.types, *st.method.output_type(), *message, st.args.emit_defaults);
    if (st.ctx.json()) text = R"({"event":"message","message":)" + text + "}";
    st.ctx.out().line(text);
  }
}

awaitable<void> never() { co_await core::sleep_for(std::chrono::hours(24 * 365)); }

// The responses end the call: a server that finishes while we still read
// stdin needs nothing more from it.
awaitable<void> exchange(call_state& st, stream& s) {
  auto writer = [&]() -> awaitable<void> {
    co_await send_requests(st, s);
    co_await never();
  };
  auto race = core::first_of(print_responses(st, s), writer());
  co_await std::move(race);
}

bool deadline_passed(const core::run_context& ctx, std::chrono::steady_clock::time_point start) {
  const auto& limit = ctx.common().timeout;
  return limit && std::chrono::steady_clock::now() - start >= *limit - std::chrono::milliseconds(5);
}

awaitable<void> call_once(core::run_context& ctx, const call_args& args, schema* files, const metadata_list& metadata,
                          bool& reached, bool& read_stdin, std::chrono::steady_clock::time_point start) {
  auto channel = co_await open_channel(args);
  std::unique_ptr<schema> fetched;
  if (!files) {
    auto op = load_reflection(channel, metadata, service_of(args.method));
    fetched = co_await std::move(op);
  }
  auto& types = files ? *files : *fetched;
  const auto& method = types.method(args.method);
  const auto path = "/" + method.service()->full_name() + "/" + method.name();

  ::grpc::GenericStub stub(channel);
  ::grpc::ClientContext context;
  for (const auto& [key, value] : metadata) context.AddMetadata(key, value);
  // SPEC: --timeout is sent as the call's deadline.
  if (ctx.common().timeout)
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::duration_cast<std::chrono::system_clock::duration>(
                             *ctx.common().timeout - (std::chrono::steady_clock::now() - start)));
  call_state st{ctx, args, types, method, read_stdin};
  const auto began = std::chrono::steady_clock::now();
  stream s(stub, path, context);
  std::function<awaitable<void>(stream&)> body = [&st](stream& str) { return exchange(st, str); };
  auto run = s.run(std::move(body));
  const auto status = co_await std::move(run);
  reached = s.got_headers() || st.received > 0;
  if (st.received == 0 && reached) show_metadata("<", context.GetServerInitialMetadata());
  show_metadata("< trailer", context.GetServerTrailingMetadata());
  core::log::info("{} {} in {}: {} sent, {} received", path, status_name(status.error_code()),
                  core::format_duration(std::chrono::steady_clock::now() - began), st.sent, st.received);
  const auto details = status.ok() ? std::vector<std::string>{} : types.details_of(status);
  if (ctx.json()) {
    boost::json::object event{{"event", "status"},
                              {"code", static_cast<int>(status.error_code())},
                              {"status", status_name(status.error_code())},
                              {"message", status.error_message()}};
    if (!details.empty()) {
      auto& list = event["details"].emplace_array();
      for (const auto& d : details) list.push_back(boost::json::parse(d));
    }
    ctx.out().line(core::to_json(event));
  }
  // grpc++'s generic stream does not check cardinality as its unary calls
  // do: an OK with no response (a peer that is no gRPC server can get one)
  // must not pass for success.
  if (status.ok() && !method.server_streaming() && st.received != 1)
    throw core::error(errc::protocol, "call", path,
                      fmt::format("the server ended the call with {} responses; the method has one", st.received));
  if (status.ok()) co_return;
  if (status.error_code() == ::grpc::StatusCode::DEADLINE_EXCEEDED && deadline_passed(ctx, start))
    throw core::error(errc::timed_out, core::phase::timeout, {}, "--timeout reached (the call's deadline)");
  throw status_error(status, "call", path, details);
}

}  // namespace

awaitable<int> run_call(core::run_context& ctx, const call_args& args) {
  const auto start = std::chrono::steady_clock::now();
  const auto metadata = parse_metadata(args.headers);
  // Files are read before anything connects: their errors are usage errors.
  std::unique_ptr<schema> files;
  if (!args.schema.reflection()) files = load_files(args.schema);
  // SPEC §1: UNAVAILABLE is transient, but only before anything arrived.
  // Nor once stdin was read: another attempt would send nothing.
  bool reached = false, read_stdin = false;
  auto transient = [&](const core::error& e) {
    if (read_stdin) return false;
    if (e.code().category() == status_category()) return !reached && core::is_transient(e);
    return core::is_transient(e);
  };
  auto attempt = [&]() -> awaitable<int> {
    auto op = call_once(ctx, args, files.get(), metadata, reached, read_stdin, start);
    co_await std::move(op);
    co_return 0;
  };
  auto op = core::with_retries<int>(args.timeouts.retry, attempt, transient);
  const int code = co_await std::move(op);
  co_return code;
}

namespace {

awaitable<std::unique_ptr<schema>> schema_for(const list_args& args, const std::string& symbol) {
  if (!args.schema.reflection()) co_return load_files(args.schema);
  auto channel = co_await open_channel(args);
  auto op = load_reflection(channel, parse_metadata(args.headers), symbol);
  auto s = co_await std::move(op);
  co_return s;
}

}  // namespace

awaitable<int> run_list(core::run_context& ctx, const list_args& args) {
  auto op = schema_for(args, args.symbol);
  auto types = co_await std::move(op);
  std::vector<std::string> names;
  if (args.symbol.empty()) {
    names = types->services();
    // Reflection lists itself at least: an empty list is a broken server.
    if (names.empty() && args.schema.reflection())
      throw core::error(errc::protocol, "list", args.target, "the server lists no services");
  } else {
    names = types->methods_of(args.symbol);
  }
  std::string out;
  for (const auto& name : names) {
    if (ctx.json())
      out += core::to_json(boost::json::object{{"name", name}}) + "\n";
    else
      out += name + "\n";
  }
  ctx.out().write(out);
  co_return 0;
}

awaitable<int> run_describe(core::run_context& ctx, const list_args& args) {
  auto op = schema_for(args, args.symbol);
  auto types = co_await std::move(op);
  ctx.out().write(types->describe(args.symbol, ctx.json()));
  co_return 0;
}

}  // namespace nettool::grpc
