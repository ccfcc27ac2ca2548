// tcp scan: open ports of one host, printed in ascending order as soon as
// every lower port is decided.
#include "tcp.hpp"

#include "nettool/core/log.hpp"
#include "nettool/core/output.hpp"

#include <boost/json.hpp>

namespace nettool::tcp {
namespace {

enum class port_state : std::uint8_t { pending, open, closed };

struct scan_state {
  std::vector<std::uint16_t> ports;
  std::vector<port_state> states;
  std::size_t next = 0;     // next port to probe
  std::size_t printed = 0;  // ports already reported
  bool any_open = false;
};

void print_ready(core::run_context& ctx, scan_state& s, bool all) {
  while (s.printed < s.ports.size() && s.states[s.printed] != port_state::pending) {
    const auto port = s.ports[s.printed];
    const bool open = s.states[s.printed] == port_state::open;
    ++s.printed;
    if (!open && !all) continue;
    if (ctx.json()) ctx.out().line(core::to_json(boost::json::object{{"port", port}, {"open", open}}));
    else if (all) ctx.out().line(fmt::format("{} {}", port, open ? "open" : "closed"));
    else ctx.out().line(std::to_string(port));
  }
}

awaitable<void> probe_worker(core::run_context& ctx, scan_state& s, const asio::ip::address address,
                             const core::connect_options& options, bool all) {
  while (s.next < s.ports.size()) {
    const auto index = s.next++;
    const core::target to{address.to_string(), s.ports[index], {}};
    try {
      auto conn = co_await core::connect(to, options, {});
      s.states[index] = port_state::open;
      s.any_open = true;
    } catch (const core::error& e) {
      core::log::debug("{}: {}", to.describe(), e.describe());
      s.states[index] = port_state::closed;
    }
    print_ready(ctx, s, all);
  }
}

}  // namespace

awaitable<int> run_scan(core::run_context& ctx, const scan_args& args) {
  auto options = args.connect;
  options.connect_timeout = args.timeouts.connect_timeout;
  scan_state s;
  s.ports = *core::parse_port_list(args.ports);
  s.states.assign(s.ports.size(), port_state::pending);
  // Resolve once; every probe goes to the same address.
  const auto endpoints = co_await core::resolve(args.host, s.ports.front(), options);
  const auto address = endpoints.front().address();
  std::vector<awaitable<void>> workers;
  for (std::size_t i = 0; i < std::min(args.concurrency, s.ports.size()); ++i)
    workers.push_back(probe_worker(ctx, s, address, options, args.all));
  co_await core::all_of(std::move(workers));
  co_return s.any_open ? 0 : core::to_int(core::exit_code::connect);
}

}  // namespace nettool::tcp
