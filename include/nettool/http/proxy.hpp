// Which proxy a URL goes through, by curl's rules: --proxy first, then the
// scheme's variable (http_proxy, HTTPS_PROXY, ALL_PROXY, either case), unless
// the host is in --noproxy or NO_PROXY.
#pragma once

#include <boost/url/url_view.hpp>

#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace nettool::http {

// Reads an environment variable; replaced in unit tests.
using environment = std::function<std::optional<std::string>(const char*)>;
environment process_environment();

// True when `host` matches an entry of a NO_PROXY list: "*", a host name
// (also matching its subdomains, with or without a leading dot), or an IP
// address (v4 or v6, brackets optional).
bool bypasses_proxy(std::string_view host, std::string_view no_proxy);

// The proxy URL for `url` ("" for a direct connection), with http:// added
// to a proxy given without a scheme.
std::string proxy_for(const boost::urls::url_view& url, const std::string& explicit_proxy,
                      const std::optional<std::string>& noproxy, const environment& env);

// The same for a connection that is no URL (gRPC's HOST:PORT targets):
// `secure` picks HTTPS_PROXY over HTTP_PROXY, as https:// would.
std::string proxy_for_host(std::string_view host, bool secure, const std::string& explicit_proxy,
                           const std::optional<std::string>& noproxy, const environment& env);

}  // namespace nettool::http
