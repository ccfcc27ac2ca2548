#include "nettool/core/events.hpp"

#include "nettool/core/context.hpp"
#include "nettool/core/log.hpp"
#include "nettool/core/output.hpp"

namespace nettool::core {

boost::json::object data_event(std::string_view bytes) {
  boost::json::object o{{"event", "data"}};
  add_payload(o, bytes);
  return o;
}

boost::json::object peer_event(std::string_view event, std::string_view peer) {
  return boost::json::object{{"event", event}, {"peer", peer}};
}

void report_ready(run_context& ctx, std::string_view target, duration elapsed, int attempts) {
  log::info("{} ready after {} ({} attempt{})", target, format_duration(elapsed), attempts, attempts == 1 ? "" : "s");
  if (!ctx.json()) return;
  ctx.out().line(to_json(boost::json::object{
      {"event", "ready"}, {"target", target}, {"elapsed", to_seconds(elapsed)}, {"attempts", attempts}}));
  ctx.out().flush();
}

}  // namespace nettool::core
