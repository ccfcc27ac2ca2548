// Mapping a request target onto a directory without ever leaving it: the
// one piece of `http serve` that decides what a client can read.
#pragma once

#include "nettool/http/server.hpp"

#include <sys/stat.h>

#include <filesystem>
#include <string>
#include <string_view>
#include <variant>

namespace nettool::http {

struct resolved_path {
  std::filesystem::path file;      // inside the root
  std::filesystem::path relative;  // the same, relative to the root
  std::string url_path;            // decoded, for listings and redirects
  bool is_directory = false;
  int fd = -1;                     // open, owned by the caller (close it)
  struct stat st {};               // fstat of fd, taken when it was checked
};

// `root` must be canonical (std::filesystem::canonical) and `root_fd` an
// O_PATH or O_RDONLY descriptor of it. Refuses targets that are not
// origin-form, contain encoded slashes or backslashes, NUL, "." or ".."
// segments; then opens what is left with openat2(RESOLVE_BENEATH), so the
// kernel refuses any escape through symlinks (403). Where openat2 is not
// available (old kernels, some seccomp filters) the path is canonicalised
// and checked instead. 404 when nothing is there.
std::variant<resolved_path, refusal> resolve_target(const std::filesystem::path& root, int root_fd,
                                                    std::string_view target);
// The same for a path already split into safe segments (index.html of a
// resolved directory).
std::variant<resolved_path, refusal> open_inside(const std::filesystem::path& root, int root_fd,
                                                 const std::filesystem::path& relative, std::string url_path);

}  // namespace nettool::http
