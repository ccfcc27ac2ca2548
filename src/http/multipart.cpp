#include "multipart.hpp"

#include "mime.hpp"

#include "nettool/core/error.hpp"

#include <fmt/format.h>

#include <random>

namespace nettool::http {
namespace {

core::error bad_field(std::string_view spec, std::string_view why) {
  return core::error(core::errc::usage, "option", "-F", fmt::format("'{}': {}", spec, why));
}

// Quotes a name for Content-Disposition: quotes and line breaks escaped as
// browsers do (WHATWG HTML, "multipart/form-data encoding algorithm").
std::string quoted(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += "%22";
    else if (c == '\r') out += "%0D";
    else if (c == '\n') out += "%0A";
    else out += c;
  }
  return out + "\"";
}

std::string base_name(std::string_view path) {
  const auto slash = path.find_last_of('/');
  return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

}  // namespace

form_field parse_form_field(std::string_view spec) {
  const auto eq = spec.find('=');
  if (eq == std::string_view::npos || eq == 0) throw bad_field(spec, "expected name=value, name=@FILE or name=<FILE");
  form_field f;
  f.name = std::string(spec.substr(0, eq));
  auto rest = spec.substr(eq + 1);
  if (rest.empty() || (rest.front() != '@' && rest.front() != '<')) {
    f.value = std::string(rest);
    return f;
  }
  f.upload = rest.front() == '@';
  rest.remove_prefix(1);
  // FILE[;type=T][;filename=N]
  const auto semi = rest.find(';');
  f.file = std::string(rest.substr(0, semi));
  if (f.file.empty()) throw bad_field(spec, "no file name after @ or <");
  auto attrs = semi == std::string_view::npos ? std::string_view{} : rest.substr(semi + 1);
  while (!attrs.empty()) {
    const auto next = attrs.find(';');
    const auto attr = attrs.substr(0, next);
    attrs = next == std::string_view::npos ? std::string_view{} : attrs.substr(next + 1);
    if (attr.starts_with("type=")) f.type = std::string(attr.substr(5));
    else if (attr.starts_with("filename=")) f.filename = std::string(attr.substr(9));
    else throw bad_field(spec, fmt::format("unknown attribute '{}' (type= or filename=)", attr));
  }
  if (f.upload && f.filename.empty()) f.filename = base_name(f.file);
  if (f.upload && f.type.empty()) f.type = std::string(mime_type_for(f.file));
  return f;
}

body_source multipart_body(const std::vector<form_field>& fields, const std::string& boundary) {
  body_source body;
  for (const auto& f : fields) {
    std::string head = fmt::format("--{}\r\nContent-Disposition: form-data; name={}", boundary, quoted(f.name));
    if (f.upload) head += "; filename=" + quoted(f.filename);
    head += "\r\n";
    if (!f.type.empty()) head += fmt::format("Content-Type: {}\r\n", f.type);
    head += "\r\n";
    if (f.file.empty()) {
      body.add_bytes(head + f.value + "\r\n");
    } else {
      body.add_bytes(std::move(head));
      body.add_file(f.file);
      body.add_bytes("\r\n");
    }
  }
  body.add_bytes(fmt::format("--{}--\r\n", boundary));
  return body;
}

std::string random_boundary() {
  std::random_device rd;
  std::uniform_int_distribution<int> hex(0, 15);
  std::string b = "------------------------";
  for (int i = 0; i < 24; ++i) b += "0123456789abcdef"[hex(rd)];
  return b;
}

}  // namespace nettool::http
