// Mapping a request target onto a directory without ever leaving it: the
// one piece of `http serve` that decides what a client can read.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <variant>

namespace nettool::http {

struct resolved_path {
  std::filesystem::path file;  // inside the root, symlinks resolved
  std::string url_path;        // decoded, for listings and redirects
  bool is_directory = false;
};

// A refusal: the status to answer with and why (for the access log).
struct refusal {
  unsigned status;
  std::string reason;
};

// `root` must be canonical (std::filesystem::canonical). Refuses targets
// that are not origin-form, contain encoded slashes or backslashes, NUL,
// "." or ".." segments, or resolve (through symlinks) outside the root;
// 404 when nothing is there.
std::variant<resolved_path, refusal> resolve_target(const std::filesystem::path& root, std::string_view target);

}  // namespace nettool::http
