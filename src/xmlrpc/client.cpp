// xmlrpc call|list|help: one POST per call on http's client (keep-alive,
// TLS, proxies, retries, basic auth from the URL), the body checked by the
// strict decoder before anything is printed.
#include "xmlrpc.hpp"

#include "nettool/core/buffer.hpp"
#include "nettool/core/framing.hpp"
#include "nettool/core/log.hpp"
#include "nettool/core/output.hpp"
#include "nettool/http/client.hpp"

#include <boost/json/parse.hpp>
#include <fmt/format.h>

namespace nettool::xmlrpc {
namespace {

namespace bhttp = boost::beast::http;
using core::errc;

// The URL as messages show it: without a password.
std::string shown_url(const boost::urls::url& url) {
  if (!url.has_userinfo()) return std::string(url.buffer());
  auto copy = url;
  copy.remove_userinfo();
  return std::string(copy.buffer());
}

http::client_options client_options_for(const client_args& args) {
  auto o = http::client_options_from(args.connect, args.timeouts, args.tls, args.unix_socket, args.noproxy);
  o.idle_timeout = args.timeouts.idle_timeout;
  return o;
}

// One connection (kept alive) for every call a verb makes.
class session {
 public:
  explicit session(const client_args& args)
      : args_(args), url_(http::parse_url(endpoint_url(args.url))), shown_(shown_url(url_)),
        client_(client_options_for(args)) {
    bhttp::fields defaults;
    defaults.set(bhttp::field::content_type, "text/xml");
    defaults.set(bhttp::field::accept, "text/xml");
    if (const auto credentials = http::basic_credentials(url_); !credentials.empty())
      defaults.set(bhttp::field::authorization, credentials);
    headers_ = http::with_headers(defaults, args.headers);
  }

  const std::string& url() const { return shown_; }

  awaitable<response> invoke(const call& c) {
    http::request req;
    req.method = bhttp::verb::post;
    req.url = url_;
    req.headers = headers_;
    try {
      req.body.add_bytes(encode_call(c));
    } catch (const encode_error& e) {
      throw core::error(errc::usage, "argument", {}, e.what());
    }
    if (core::log::enabled(core::log::level::debug))
      core::log::debug("> {}", req.body.pieces.front().bytes);
    int attempts = 0;
    const auto head = co_await http::start_with_retries(client_, req, {args_.timeouts.retry, args_.retry_all}, attempts);
    if (head.status != 200) {
      co_await client_.skip_body();
      throw core::error(errc::peer_error, "response", shown_, fmt::format("HTTP {} {}", head.status, head.reason));
    }
    auto body = co_await read_body();
    if (core::log::enabled(core::log::level::debug)) core::log::debug("< {}", body);
    try {
      co_return decode_response(body);
    } catch (const decode_error& e) {
      throw core::error(errc::protocol, "response", shown_, e.what());
    }
  }

  // A call whose fault ends the verb (exit 7, "fault CODE: STRING").
  awaitable<value> result_of(const call& c) {
    auto answer = co_await invoke(c);
    if (const auto* f = std::get_if<fault>(&answer.outcome)) throw fault_error(*f);
    co_return std::get<value>(std::move(answer.outcome));
  }

  // The message is the server's: shown without its control characters, so
  // it cannot write over our terminal or forge lines on stderr.
  static core::error fault_error(const fault& f) {
    return core::error(errc::peer_error, "fault", std::to_string(f.code), core::printable(f.message));
  }

 private:
  awaitable<std::string> read_body() {
    std::string body;
    core::io_buffer buffer(64 * 1024);
    while (const auto n = co_await client_.read_body(buffer.space())) {
      if (body.size() + n > args_.max_size)
        throw core::error(errc::protocol, "response", shown_,
                          fmt::format("the body is larger than --max-size {}", args_.max_size));
      body.append(buffer.data(), n);
    }
    co_return body;
  }

  const client_args& args_;
  boost::urls::url url_;
  std::string shown_;
  http::client client_;
  bhttp::fields headers_;
};

std::vector<value> parameters(const std::vector<std::string>& words) {
  std::vector<value> params;
  for (const auto& word : words) {
    try {
      params.push_back(parse_argument(word));
    } catch (const encode_error& e) {
      throw core::error(errc::usage, "argument", {}, e.what());
    }
  }
  return params;
}

std::string json_text(const value& v) { return core::to_json_exact(to_json(v)); }

void print_fault(core::run_context& ctx, const std::string& method, const fault& f) {
  ctx.out().line(core::to_json_exact(boost::json::object{
      {"event", "fault"}, {"method", method}, {"faultCode", f.code}, {"faultString", f.message}}));
}

void print_result(core::run_context& ctx, const std::string& method, const value& v) {
  if (ctx.json())
    ctx.out().line(core::to_json_exact(boost::json::object{{"event", "result"}, {"method", method}, {"result", to_json(v)}}));
  else
    ctx.out().line(json_text(v));
}

// One --multicall line: ["METHOD", ARG...] or {"methodName":…, "params":[…]}.
structure multicall_entry(std::string_view line, std::size_t number) {
  auto bad = [&](std::string_view why) {
    return core::error(errc::usage, "--multicall", fmt::format("line {}", number), std::string(why));
  };
  std::string method;
  array params;
  try {
    std::string error;
    const auto parsed = parse_json(line, error);
    if (!parsed) throw bad(fmt::format("not JSON: {}", error));
    const auto& j = *parsed;
    if (j.is_array() && !j.get_array().empty() && j.get_array().front().is_string()) {
      method = std::string(j.get_array().front().get_string());
      for (std::size_t i = 1; i < j.get_array().size(); ++i) params.push_back(from_json(j.get_array()[i]));
    } else if (j.is_object() && j.get_object().contains("methodName") && j.get_object().at("methodName").is_string()) {
      method = std::string(j.get_object().at("methodName").get_string());
      if (const auto* p = j.get_object().if_contains("params")) {
        if (!p->is_array()) throw bad("\"params\" is not an array");
        for (const auto& item : p->get_array()) params.push_back(from_json(item));
      }
    } else {
      throw bad(R"(expected ["METHOD", ARG...] or {"methodName": "METHOD", "params": [...]})");
    }
  } catch (const encode_error& e) {
    throw bad(e.what());
  }
  return {{"methodName", method}, {"params", std::move(params)}};
}

awaitable<std::vector<structure>> read_multicall(core::run_context& ctx, const client_args& args) {
  core::stdin_reader in(ctx.executor());
  core::line_reader lines(in, args.max_size);
  std::vector<structure> calls;
  std::size_t number = 0;
  while (auto line = co_await lines.next()) {
    ++number;
    if (line->find_first_not_of(" \t\r") == std::string::npos) continue;
    calls.push_back(multicall_entry(*line, number));
  }
  if (calls.empty()) throw core::error(errc::usage, "--multicall", "stdin", "no calls (one JSON array per line)");
  co_return calls;
}

// The error a multicall with faults ends with: the first, and how many.
core::error multicall_fault(const fault& f, std::size_t index, std::size_t count, const std::string& method,
                            std::size_t faults) {
  const std::string_view plural = faults == 1 ? "" : "s";
  return core::error(errc::peer_error, "fault", std::to_string(f.code),
                     fmt::format("{} (call {} of {}, {}; {} fault{} in all)", core::printable(f.message), index, count,
                                 method, faults, plural));
}

// system.multicall's answer: for each call [result] or a fault struct.
awaitable<int> run_multicall(core::run_context& ctx, const client_args& args) {
  auto calls = co_await read_multicall(ctx, args);
  session s(args);
  array entries;
  std::vector<std::string> methods;
  for (auto& c : calls) {
    methods.push_back(std::get<std::string>(c.front().v.data));
    entries.push_back(std::move(c));
  }
  const auto count = entries.size();
  const call request{std::string("system.multicall"), {value(std::move(entries))}};
  const auto outcome = co_await s.result_of(request);
  const auto* results = std::get_if<array>(&outcome.data);
  if (!results || results->size() != count)
    throw core::error(errc::protocol, "response", s.url(),
                      fmt::format("system.multicall answered {} for {} calls", results ? std::to_string(results->size()) + " results" : std::string(type_name(outcome)), count));
  // Every result is checked before the first is printed: a malformed
  // answer leaves stdout empty.
  std::vector<std::optional<fault>> faults_of(count);
  for (std::size_t i = 0; i < count; ++i) {
    const auto& entry = (*results)[i];
    if (const auto* one = std::get_if<array>(&entry.data); one && one->size() == 1) continue;
    faults_of[i] = fault_from(entry);
    if (!faults_of[i])
      throw core::error(errc::protocol, "response", s.url(),
                        fmt::format("system.multicall result {} is neither [value] nor a fault", i + 1));
  }
  struct first {
    fault f;
    std::size_t index;
    std::string method;
  };
  std::optional<first> first_fault;
  std::size_t faults = 0;
  for (std::size_t i = 0; i < count; ++i) {
    const auto& method = methods[i];
    if (!faults_of[i]) {
      print_result(ctx, method, std::get<array>((*results)[i].data).front());
      continue;
    }
    // A faulted call keeps its line, so line N of the output is call N.
    print_fault(ctx, method, *faults_of[i]);
    ++faults;
    if (!first_fault) first_fault = first{*faults_of[i], i + 1, method};
  }
  if (first_fault) throw multicall_fault(first_fault->f, first_fault->index, count, first_fault->method, faults);
  co_return 0;
}

}  // namespace

std::string endpoint_url(std::string_view text) {
  std::string url(text);
  // "HOST:PORT" alone (no scheme, no path).
  if (url.find("://") == std::string::npos && url.find('/') == std::string::npos) url += "/RPC2";
  auto parsed = http::parse_url(url);
  if (parsed.encoded_path().empty()) parsed.set_path("/RPC2");
  return std::string(parsed.buffer());
}

awaitable<int> run_call(core::run_context& ctx, const client_args& args) {
  if (args.multicall) co_return co_await run_multicall(ctx, args);
  auto params = parameters(args.arguments);
  session s(args);
  const call request{args.method, std::move(params)};
  auto answer = co_await s.invoke(request);
  if (const auto* f = std::get_if<fault>(&answer.outcome)) {
    if (ctx.json()) print_fault(ctx, args.method, *f);
    throw session::fault_error(*f);
  }
  print_result(ctx, args.method, std::get<value>(answer.outcome));
  co_return 0;
}

awaitable<int> run_list(core::run_context& ctx, const client_args& args) {
  session s(args);
  const call request{std::string("system.listMethods"), {}};
  const auto names = co_await s.result_of(request);
  const auto* list = std::get_if<array>(&names.data);
  if (!list) throw core::error(errc::protocol, "response", s.url(), "system.listMethods did not answer an array");
  for (const auto& name : *list)
    if (!std::holds_alternative<std::string>(name.data))
      throw core::error(errc::protocol, "response", s.url(), "system.listMethods answered a name that is not a string");
  for (const auto& name : *list) {
    const auto& text = std::get<std::string>(name.data);
    if (ctx.json()) ctx.out().line(core::to_json(boost::json::object{{"event", "method"}, {"name", text}}));
    else ctx.out().line(text);
  }
  co_return 0;
}

// Signatures as [[return, arg…], …]; anything else (xmlrpc-c's "undef",
// Python's "signatures not supported", a fault) means none is known.
std::vector<std::vector<std::string>> signatures_of(const response& answer) {
  std::vector<std::vector<std::string>> out;
  const auto* v = std::get_if<value>(&answer.outcome);
  const auto* list = v ? std::get_if<array>(&v->data) : nullptr;
  if (!list) return out;
  for (const auto& sig : *list) {
    const auto* types = std::get_if<array>(&sig.data);
    if (!types || types->empty()) return {};
    std::vector<std::string> names;
    for (const auto& t : *types) {
      const auto* name = std::get_if<std::string>(&t.data);
      if (!name) return {};
      names.push_back(*name);
    }
    out.push_back(std::move(names));
  }
  return out;
}

awaitable<int> run_help(core::run_context& ctx, const client_args& args) {
  session s(args);
  const call help_request{std::string("system.methodHelp"), {value(args.method)}};
  const auto help = co_await s.result_of(help_request);
  const auto* text = std::get_if<std::string>(&help.data);
  if (!text) throw core::error(errc::protocol, "response", s.url(), "system.methodHelp did not answer a string");
  const call signature_request{std::string("system.methodSignature"), {value(args.method)}};
  const auto signature_answer = co_await s.invoke(signature_request);
  const auto signatures = signatures_of(signature_answer);
  if (ctx.json()) {
    boost::json::value sigs = nullptr;
    if (!signatures.empty()) {
      boost::json::array list;
      for (const auto& sig : signatures) {
        boost::json::array types;
        for (const auto& t : sig) types.emplace_back(t);
        list.emplace_back(std::move(types));
      }
      sigs = std::move(list);
    }
    ctx.out().line(core::to_json(boost::json::object{{"event", "help"}, {"method", args.method}, {"help", *text}, {"signatures", sigs}}));
    co_return 0;
  }
  ctx.out().line(*text);
  for (const auto& sig : signatures) {
    std::string params;
    for (std::size_t i = 1; i < sig.size(); ++i) params += (i > 1 ? ", " : "") + sig[i];
    ctx.out().line(fmt::format("signature: {}({}) -> {}", args.method, params, sig[0]));
  }
  co_return 0;
}

}  // namespace nettool::xmlrpc
