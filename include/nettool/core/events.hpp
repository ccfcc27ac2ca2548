// The JSON events (SPEC §1 "Output formats") that several verbs print, in
// one place so their shapes cannot drift apart: received bytes and readiness.
// Protocol-specific events (http responses, zmq frames) build on these.
#pragma once

#include "nettool/core/parse.hpp"

#include <boost/json/object.hpp>

#include <string_view>

namespace nettool::core {

class run_context;

// {"event":"data","data":"…"} for bytes that are valid UTF-8, else
// {"event":"data","data_base64":"…"}: one per chunk read from a byte stream
// or per received message.
boost::json::object data_event(std::string_view bytes);

// A server's client came or went: {"event":"connected"|"disconnected",
// "peer":"ADDR:PORT"}; a protocol adds its own fields (ws: the path, the
// close code and reason).
boost::json::object peer_event(std::string_view event, std::string_view peer);

// A wait's target became ready: logged at -v, and with --json printed (and
// flushed) as {"event":"ready","target":"…","elapsed":S,"attempts":N}.
void report_ready(run_context& ctx, std::string_view target, duration elapsed, int attempts);

}  // namespace nettool::core
