// tcp connect: stdin ⇄ connection, or a child process ⇄ connection.
#include "tcp.hpp"

#include "connect.hpp"
#include "exec.hpp"

#include "nettool/core/log.hpp"

namespace nettool::tcp {

core::tls_context_ptr client_tls(const core::tls_client_options& tls) {
  return tls.enabled ? core::make_client_context(tls) : core::tls_context_ptr{};
}

awaitable<int> run_connect(core::run_context& ctx, const connect_args& args) {
  auto options = args.connect;
  options.connect_timeout = args.timeouts.connect_timeout;
  options.servername = args.tls.servername;
  const core::target to{args.host, args.unix_path.empty() ? *core::parse_port(args.port) : std::uint16_t{0},
                        args.unix_path};
  const auto tls = client_tls(args.tls);
  auto conn = co_await core::with_retries<core::connection>(args.timeouts.retry,
                                                            [&] { return core::connect(to, options, tls); });
  if (!args.exec.empty()) co_return co_await exec_on_connection(conn, args.exec, args.pump);
  std::unique_ptr<core::input> in;
  if (args.send.empty()) {
    in = std::make_unique<core::stdin_reader>(ctx.executor());
  } else {
    std::string text;
    for (const auto& s : args.send) text += s;
    in = std::make_unique<core::text_input>(std::move(text));
  }
  auto pump = args.pump;
  std::optional<core::expectation> expect;
  if (!args.expect.empty()) pump.expect = &expect.emplace(args.expect);
  const auto result = co_await core::pump(conn, *in, ctx.out(), pump);
  if (expect && !result.matched) expect->fail();
  co_return 0;
}

}  // namespace nettool::tcp
