// xmlrpc serve: the introspection methods, system.multicall, echo, and
// commands exposed as methods, answered on http's server loop (its limits,
// TLS, access log and graceful stop). Every bad call gets a fault, never a
// dropped connection.
#include "xmlrpc.hpp"

#include "nettool/core/exec.hpp"
#include "nettool/core/log.hpp"
#include "nettool/core/output.hpp"
#include "nettool/core/process.hpp"

#include <boost/json/parse.hpp>
#include <fmt/format.h>

#include <unistd.h>

#include <memory>

namespace nettool::xmlrpc {
namespace {

namespace bhttp = boost::beast::http;
using clock = std::chrono::steady_clock;

// Calls in one system.multicall: each may run a command.
constexpr std::size_t max_multicall = 10'000;

// Thrown while dispatching: becomes the call's fault.
struct fault_thrown {
  fault f;
};

[[noreturn]] void fail(std::int64_t code, std::string message) { throw fault_thrown{{code, std::move(message)}}; }

struct builtin {
  std::string_view name;
  std::string_view help;
  std::vector<std::vector<std::string_view>> signatures;  // [return, arg…]
};

const std::vector<builtin>& builtins() {
  static const std::vector<builtin> table{
      {"system.listMethods", "Lists the methods this server offers.", {{"array"}}},
      {"system.methodHelp", "Returns the help text of the method named.", {{"string", "string"}}},
      {"system.methodSignature", "Returns the signatures of the method named: arrays of [return type, parameter types…], or \"undef\".", {{"array", "string"}}},
      {"system.multicall", "Runs each {methodName, params} struct of the array in order; returns [result] or a fault struct for each.", {{"array", "array"}}},
      {"echo", "Returns its parameters as one array.", {}},
  };
  return table;
}

const builtin* find_builtin(std::string_view name) {
  for (const auto& b : builtins())
    if (b.name == name) return &b;
  return nullptr;
}

std::string_view string_param(const call& c, std::size_t index = 0) {
  if (c.params.size() != index + 1)
    fail(fault_codes::invalid_params, fmt::format("{} takes {} parameter(s), got {}", c.method, index + 1, c.params.size()));
  const auto* s = std::get_if<std::string>(&c.params[index].data);
  if (!s) fail(fault_codes::invalid_params, fmt::format("{}: the parameter is a {}, not a string", c.method, type_name(c.params[index])));
  return *s;
}

class dispatcher {
 public:
  explicit dispatcher(const serve_args& args) : args_(args) {}

  // By value: echo hands its parameters back without a copy.
  // `deadline`: when the commands a call runs must be done (one
  // --method-timeout for a whole system.multicall).
  awaitable<value> invoke(call c, const std::string& peer, std::optional<clock::time_point> deadline = {},
                          bool nested = false) {
    if (!deadline) deadline = clock::now() + args_.method_timeout;
    if (c.method == "system.listMethods") co_return list_methods();
    if (c.method == "system.methodHelp") co_return method_help(string_param(c));
    if (c.method == "system.methodSignature") co_return method_signature(string_param(c));
    if (c.method == "system.multicall") {
      if (nested) fail(fault_codes::invalid_request, "system.multicall cannot be called inside system.multicall");
      co_return co_await multicall(c, peer, *deadline);
    }
    if (const auto command = args_.methods.find(c.method); command != args_.methods.end())
      co_return co_await run_command(c, command->second, peer, *deadline);
    if (c.method == "echo") co_return std::move(c.params);
    if (!args_.exec.empty()) co_return co_await run_command(c, args_.exec, peer, *deadline);
    fail(fault_codes::method_not_found, fmt::format("method '{}' not found (system.listMethods lists them)", c.method));
  }

 private:
  value list_methods() const {
    std::vector<std::string> names;
    for (const auto& b : builtins()) names.emplace_back(b.name);
    for (const auto& [name, command] : args_.methods)
      if (!find_builtin(name)) names.push_back(name);
    std::sort(names.begin(), names.end());
    array out;
    for (auto& n : names) out.emplace_back(std::move(n));
    return out;
  }

  // With --exec every name is a method (its command decides).
  bool known(std::string_view name) const {
    return find_builtin(name) || args_.methods.count(std::string(name)) > 0 || !args_.exec.empty();
  }

  value method_help(std::string_view name) const {
    if (!known(name)) fail(fault_codes::method_not_found, fmt::format("method '{}' not found", name));
    if (const auto help = args_.helps.find(std::string(name)); help != args_.helps.end()) return help->second;
    if (args_.methods.count(std::string(name))) return fmt::format("Runs: {}", args_.methods.at(std::string(name)));
    if (const auto* b = find_builtin(name)) return std::string(b->help);
    return fmt::format("Runs --exec: {}", args_.exec);
  }

  value method_signature(std::string_view name) const {
    if (!known(name)) fail(fault_codes::method_not_found, fmt::format("method '{}' not found", name));
    const auto* b = args_.methods.count(std::string(name)) ? nullptr : find_builtin(name);
    if (!b || b->signatures.empty()) return std::string("undef");  // xmlrpc-c's word for "not known"
    array out;
    for (const auto& sig : b->signatures) {
      array types;
      for (const auto t : sig) types.emplace_back(std::string(t));
      out.emplace_back(std::move(types));
    }
    return out;
  }

  // In order, all within one --method-timeout, at most max_multicall.
  awaitable<value> multicall(const call& c, const std::string& peer, clock::time_point deadline) {
    if (c.params.size() != 1 || !std::holds_alternative<array>(c.params[0].data))
      fail(fault_codes::invalid_params, "system.multicall takes one array of {methodName, params} structs");
    const auto& entries = std::get<array>(c.params[0].data);
    if (entries.size() > max_multicall)
      fail(fault_codes::invalid_params, fmt::format("system.multicall takes at most {} calls", max_multicall));
    array results;
    results.reserve(entries.size());
    for (const auto& entry : entries) {
      try {
        auto one_call = call_of(entry);
        auto running = invoke(std::move(one_call), peer, deadline, true);  // named: g++ 12 and co_await temporaries
        auto one = co_await std::move(running);
        results.emplace_back(array{std::move(one)});
      } catch (const fault_thrown& f) {
        results.push_back(fault_value(f.f));
      }
    }
    co_return results;
  }

  static call call_of(const value& entry) {
    const auto* members = std::get_if<structure>(&entry.data);
    if (!members) fail(fault_codes::invalid_params, "a system.multicall entry is not a struct");
    call out;
    bool named = false;
    for (const auto& m : *members) {
      if (m.name == "methodName") {
        const auto* name = std::get_if<std::string>(&m.v.data);
        if (!name) fail(fault_codes::invalid_params, "methodName is not a string");
        out.method = *name;
        named = true;
      } else if (m.name == "params") {
        const auto* params = std::get_if<array>(&m.v.data);
        if (!params) fail(fault_codes::invalid_params, "params is not an array");
        out.params = *params;
      }
    }
    if (!named) fail(fault_codes::invalid_params, "a system.multicall entry has no methodName");
    return out;
  }

  // SPEC: the parameters as a JSON array on the command's stdin, its
  // stdout parsed as the JSON result; an exit other than 0 is a fault
  // whose code is that status and whose string is what it wrote on stderr.
  awaitable<value> run_command(const call& c, const std::string& command, const std::string& peer,
                               clock::time_point deadline) {
    auto env = core::remote_environment(peer);
    env.emplace_back("NETTOOL_XMLRPC_METHOD", c.method);
    array params(c.params);
    const auto input = core::to_json_exact(to_json(value(std::move(params)))) + "\n";
    core::filter_result out;
    try {
      const auto left = deadline - clock::now();
      if (left <= clock::duration::zero()) throw core::error(core::errc::timed_out, "method", c.method);
      auto running = core::run_filter(command, env, input, args_.http.max_body, true);
      out = co_await core::with_timeout(std::move(running), left, "method", c.method);
    } catch (const core::error& e) {
      if (e.code() == core::errc::timed_out)
        fail(fault_codes::internal_error, fmt::format("{}: no answer within --method-timeout {}", c.method,
                                                      core::format_duration(args_.method_timeout)));
      fail(fault_codes::internal_error, fmt::format("{}: {}", c.method, e.describe()));
    }
    if (out.status != 0) {
      auto why = std::string(trimmed(out.errors));
      if (why.empty()) why = fmt::format("{} exited with {}", c.method, out.status);
      fail(out.status, std::move(why));
    }
    if (!out.errors.empty()) {  // a command's stderr passes through (SPEC §1 --exec)
      [[maybe_unused]] const auto n = ::write(2, out.errors.data(), out.errors.size());
    }
    const auto text = trimmed(out.output);
    if (text.empty()) co_return nil{};
    try {
      std::string error;
      const auto j = parse_json(text, error);
      if (!j)
        fail(fault_codes::internal_error,
             fmt::format("{}: the command's output is not JSON ({}): {}", c.method, error,
                         text.size() > 80 ? std::string(text.substr(0, 80)) + "…" : std::string(text)));
      co_return from_json(*j);
    } catch (const encode_error& e) {
      fail(fault_codes::internal_error, fmt::format("{}: {}", c.method, e.what()));
    }
  }

  static std::string_view trimmed(std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
    return s;
  }

  const serve_args& args_;
};

http::reply_text xml_reply(std::string body) {
  http::reply_text r;
  r.headers.set(bhttp::field::content_type, "text/xml");
  r.body = std::move(body);
  return r;
}

http::reply_text fault_reply(const fault& f) {
  core::log::info("fault {}: {}", f.code, f.message);
  return xml_reply(encode_fault(f));
}

class server {
 public:
  server(core::run_context& ctx, const serve_args& args)
      : ctx_(ctx), args_(args), methods_(args), dumping_(args.dump) {}

  awaitable<http::reply_text> respond(bhttp::request<bhttp::string_body>& req, const std::string& peer) {
    if (req.method() != bhttp::verb::post) {
      http::reply_text r;
      r.status = 405;
      r.headers.set(bhttp::field::allow, "POST");
      r.headers.set(bhttp::field::content_type, "text/plain; charset=utf-8");
      r.body = "405 Method Not Allowed: XML-RPC calls are POST requests\n";
      co_return r;
    }
    call c;
    try {
      c = decode_call(req.body());
    } catch (const decode_error& e) {
      co_return fault_reply({e.fault_code(), e.what()});
    }
    req.body().clear();
    if (dumping_) dump(c, peer);
    const auto method = c.method;
    std::optional<fault> failed;
    try {
      auto result = co_await methods_.invoke(std::move(c), peer);
      co_return xml_reply(encode_response(result));
    } catch (const fault_thrown& f) {
      failed = f.f;
    } catch (const encode_error& e) {
      failed = fault{fault_codes::internal_error, fmt::format("{}: the result cannot be sent: {}", method, e.what())};
    }
    co_return fault_reply(*failed);
  }

 private:
  // A closed stdout (`--dump | head`) ends the dump, not the serving.
  void dump(const call& c, const std::string& peer) {
    boost::json::array params;
    for (const auto& p : c.params) params.push_back(to_json(p));
    try {
      ctx_.out().line(core::to_json_exact(
          boost::json::object{{"event", "call"}, {"peer", peer}, {"method", c.method}, {"params", std::move(params)}}));
    } catch (const core::error& e) {
      if (e.code() != core::errc::stdout_closed) throw;
      dumping_ = false;
      core::log::warn("stdout closed: --dump stops, serving goes on");
    }
  }

  core::run_context& ctx_;
  const serve_args& args_;
  dispatcher methods_;
  bool dumping_;
};

}  // namespace

awaitable<int> run_serve(core::run_context& ctx, const serve_args& args) {
  auto srv = std::make_shared<server>(ctx, args);
  http::request_hooks hooks;
  hooks.respond = [srv](bhttp::request<bhttp::string_body>& req, const std::string& peer) {
    return srv->respond(req, peer);
  };
  // A body over --max-size gets a fault in a 413 (the status tells a
  // client that is still sending to stop; the connection then closes).
  hooks.refused = [max = args.http.max_body](unsigned status, const std::string&) -> std::optional<http::reply_text> {
    if (status != 413) return std::nullopt;
    auto r = fault_reply({fault_codes::invalid_request, fmt::format("the request body is larger than --max-size {}", max)});
    r.status = 413;
    return r;
  };
  auto task = http::run_serve(ctx, args.http, std::move(hooks));
  co_return co_await std::move(task);
}

}  // namespace nettool::xmlrpc
