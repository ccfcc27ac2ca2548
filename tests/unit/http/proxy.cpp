#include "nettool/http/proxy.hpp"

#include <catch2/catch.hpp>

#include <boost/url/parse.hpp>

#include <map>

using namespace nettool::http;

namespace {

environment fake(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const char* name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

std::string pick(std::string_view url, std::map<std::string, std::string> vars, std::string explicit_proxy = {},
                 std::optional<std::string> noproxy = std::nullopt) {
  return proxy_for(*boost::urls::parse_uri(url), explicit_proxy, noproxy, fake(std::move(vars)));
}

}  // namespace

TEST_CASE("NO_PROXY entries: names, subdomains, addresses, *", "[http][proxy]") {
  CHECK(bypasses_proxy("example.com", "example.com"));
  CHECK(bypasses_proxy("api.example.com", "example.com"));
  CHECK(bypasses_proxy("api.example.com", ".example.com"));
  CHECK(bypasses_proxy("API.Example.COM", "example.com"));
  CHECK_FALSE(bypasses_proxy("badexample.com", "example.com"));
  CHECK_FALSE(bypasses_proxy("example.com.evil", "example.com"));
  CHECK(bypasses_proxy("10.0.0.1", "localhost, 10.0.0.1"));
  CHECK(bypasses_proxy("::1", "[::1]"));
  CHECK(bypasses_proxy("anything", "*"));
  CHECK_FALSE(bypasses_proxy("example.com", ""));
  CHECK_FALSE(bypasses_proxy("example.com", " , ,"));
}

TEST_CASE("which proxy a URL uses, by curl's rules", "[http][proxy]") {
  const std::map<std::string, std::string> env{
      {"http_proxy", "http://p1:3128"}, {"HTTPS_PROXY", "p2:3128"}, {"ALL_PROXY", "socks5h://p3:1080"}};
  CHECK(pick("http://a.com/", env) == "http://p1:3128");
  CHECK(pick("https://a.com/", env) == "http://p2:3128");  // no scheme: http://
  CHECK(pick("https://a.com/", {{"ALL_PROXY", "socks5h://p3:1080"}}) == "socks5h://p3:1080");
  CHECK(pick("http://a.com/", {{"HTTP_PROXY", "http://upper:1"}}) == "http://upper:1");
  CHECK(pick("http://a.com/", {{"http_proxy", "http://lower:1"}, {"HTTP_PROXY", "http://upper:1"}}) ==
        "http://lower:1");
  CHECK(pick("http://a.com/", {}).empty());
  // --proxy wins over the environment; NO_PROXY and --noproxy apply to both.
  CHECK(pick("http://a.com/", env, "socks5://x:1") == "socks5://x:1");
  CHECK(pick("http://a.com/", {{"NO_PROXY", "a.com"}, {"http_proxy", "http://p1:3128"}}).empty());
  CHECK(pick("http://a.com/", {{"NO_PROXY", "a.com"}}, "http://x:1").empty());
  CHECK(pick("http://a.com/", {{"NO_PROXY", "a.com"}, {"http_proxy", "http://p1:3128"}}, {}, std::string("b.com")) ==
        "http://p1:3128");
  CHECK(pick("http://a.com/", env, {}, std::string("*")).empty());
}
