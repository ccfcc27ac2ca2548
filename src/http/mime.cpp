#include "mime.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <string>
#include <utility>

namespace nettool::http {
namespace {

// The types a development server meets most; text types say UTF-8 so a
// browser shows them as written.
constexpr std::array<std::pair<std::string_view, std::string_view>, 40> table{{
    {"7z", "application/x-7z-compressed"},  {"avif", "image/avif"},
    {"bin", "application/octet-stream"},     {"css", "text/css; charset=utf-8"},
    {"csv", "text/csv; charset=utf-8"},      {"gif", "image/gif"},
    {"gz", "application/gzip"},              {"htm", "text/html; charset=utf-8"},
    {"html", "text/html; charset=utf-8"},    {"ico", "image/vnd.microsoft.icon"},
    {"jpeg", "image/jpeg"},                  {"jpg", "image/jpeg"},
    {"js", "text/javascript; charset=utf-8"}, {"json", "application/json"},
    {"map", "application/json"},             {"md", "text/markdown; charset=utf-8"},
    {"mjs", "text/javascript; charset=utf-8"}, {"mp3", "audio/mpeg"},
    {"mp4", "video/mp4"},                    {"ogg", "audio/ogg"},
    {"otf", "font/otf"},                     {"pdf", "application/pdf"},
    {"png", "image/png"},                    {"proto", "text/plain; charset=utf-8"},
    {"sh", "text/x-shellscript; charset=utf-8"}, {"svg", "image/svg+xml"},
    {"tar", "application/x-tar"},            {"toml", "application/toml"},
    {"ttf", "font/ttf"},                     {"txt", "text/plain; charset=utf-8"},
    {"wasm", "application/wasm"},            {"wav", "audio/wav"},
    {"webm", "video/webm"},                  {"webp", "image/webp"},
    {"woff", "font/woff"},                   {"woff2", "font/woff2"},
    {"xml", "application/xml"},              {"yaml", "application/yaml"},
    {"yml", "application/yaml"},             {"zip", "application/zip"},
}};

}  // namespace

std::string_view mime_type_for(std::string_view path) {
  const auto slash = path.find_last_of('/');
  const auto name = slash == std::string_view::npos ? path : path.substr(slash + 1);
  const auto dot = name.find_last_of('.');
  if (dot == std::string_view::npos || dot + 1 == name.size()) return "application/octet-stream";
  std::string ext(name.substr(dot + 1));
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  const auto it = std::lower_bound(table.begin(), table.end(), ext,
                                   [](const auto& entry, const std::string& key) { return entry.first < key; });
  if (it != table.end() && it->first == ext) return it->second;
  return "application/octet-stream";
}

}  // namespace nettool::http
