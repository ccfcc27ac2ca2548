#include "nettool/http/proxy.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>

namespace nettool::http {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string_view strip_brackets(std::string_view s) {
  if (s.size() >= 2 && s.front() == '[' && s.back() == ']') return s.substr(1, s.size() - 2);
  return s;
}

// Lower case first, then upper case, as curl reads them.
std::optional<std::string> either_case(const environment& env, const char* lower_name, const char* upper_name) {
  if (auto v = env(lower_name); v && !v->empty()) return v;
  if (auto v = env(upper_name); v && !v->empty()) return v;
  return std::nullopt;
}

}  // namespace

environment process_environment() {
  return [](const char* name) -> std::optional<std::string> {
    const char* value = std::getenv(name);
    if (!value) return std::nullopt;
    return std::string(value);
  };
}

bool bypasses_proxy(std::string_view host, std::string_view no_proxy) {
  const std::string h = lower(strip_brackets(host));
  while (!no_proxy.empty()) {
    const auto comma = no_proxy.find(',');
    auto entry = trim(no_proxy.substr(0, comma));
    no_proxy = comma == std::string_view::npos ? std::string_view{} : no_proxy.substr(comma + 1);
    if (entry.empty()) continue;
    if (entry == "*") return true;
    if (entry.front() == '.') entry.remove_prefix(1);
    const std::string e = lower(strip_brackets(entry));
    if (h == e) return true;
    if (h.size() > e.size() && h.ends_with(e) && h[h.size() - e.size() - 1] == '.') return true;
  }
  return false;
}

std::string proxy_for(const boost::urls::url_view& url, const std::string& explicit_proxy,
                      const std::optional<std::string>& noproxy, const environment& env) {
  return proxy_for_host(url.host_address(), url.scheme_id() == boost::urls::scheme::https, explicit_proxy, noproxy,
                        env);
}

std::string proxy_for_host(std::string_view host, bool secure, const std::string& explicit_proxy,
                           const std::optional<std::string>& noproxy, const environment& env) {
  std::optional<std::string> chosen;
  if (!explicit_proxy.empty())
    chosen = explicit_proxy;
  else if (secure)
    chosen = either_case(env, "https_proxy", "HTTPS_PROXY");
  else
    chosen = either_case(env, "http_proxy", "HTTP_PROXY");
  if (!chosen) chosen = either_case(env, "all_proxy", "ALL_PROXY");
  if (!chosen) return {};
  const auto skip = noproxy ? noproxy : either_case(env, "no_proxy", "NO_PROXY");
  if (skip && bypasses_proxy(host, *skip)) return {};
  if (chosen->find("://") == std::string::npos) return "http://" + *chosen;
  return *chosen;
}

}  // namespace nettool::http
