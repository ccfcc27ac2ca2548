#include "static_files.hpp"

#include <boost/url/parse.hpp>

#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <fcntl.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <system_error>

namespace nettool::http {
namespace {

namespace fs = std::filesystem;

bool contains_ci(std::string_view haystack, std::string_view needle) {
  for (std::size_t i = 0; i + needle.size() <= haystack.size(); ++i) {
    bool same = true;
    for (std::size_t j = 0; j < needle.size() && same; ++j)
      same = std::tolower(static_cast<unsigned char>(haystack[i + j])) == needle[j];
    if (same) return true;
  }
  return false;
}

bool inside(const fs::path& root, const fs::path& p) {
  const auto r = root.native(), s = p.native();
  return s == r || (s.size() > r.size() && s.compare(0, r.size(), r) == 0 && (r.back() == '/' || s[r.size()] == '/'));
}

// Only regular files and directories are served: a FIFO, device or socket
// could block or never end.
std::variant<resolved_path, refusal> checked_kind(int fd, resolved_path out) {
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !(S_ISREG(st.st_mode) || S_ISDIR(st.st_mode))) {
    ::close(fd);
    return refusal{403, "not a regular file"};
  }
  out.is_directory = S_ISDIR(st.st_mode);
  out.fd = fd;
  out.st = st;
  return out;
}

}  // namespace

std::variant<resolved_path, refusal> resolve_target(const fs::path& root, int root_fd, std::string_view target) {
  if (target.empty() || target.front() != '/') return refusal{400, "not an origin-form target"};
  auto parsed = boost::urls::parse_origin_form(target);
  if (!parsed) return refusal{400, "malformed target"};
  const std::string_view raw_path = parsed->encoded_path();
  // Encoded separators would let "a%2f..%2f.." look like one segment.
  if (contains_ci(raw_path, "%2f") || contains_ci(raw_path, "%5c") || raw_path.find('\\') != std::string_view::npos)
    return refusal{400, "encoded or backslash path separator"};
  const std::string decoded = parsed->path();
  if (decoded.find('\0') != std::string::npos) return refusal{400, "NUL in path"};
  fs::path relative;
  std::string_view rest = decoded;
  while (!rest.empty()) {
    const auto slash = rest.find('/');
    const auto segment = rest.substr(0, slash);
    rest = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);
    if (segment.empty()) continue;
    if (segment == "." || segment == "..") return refusal{400, "dot segment in path"};
    relative /= std::string(segment);
  }
  return open_inside(root, root_fd, relative, decoded.empty() ? "/" : decoded);
}

std::variant<resolved_path, refusal> open_inside(const fs::path& root, int root_fd, const fs::path& relative,
                                                 std::string url_path) {
  resolved_path out;
  out.relative = relative;
  out.url_path = std::move(url_path);
  out.file = root / relative;
  open_how how{};
  // O_NONBLOCK: opening a FIFO would otherwise wait for a writer, and the
  // whole event loop with it. Regular files ignore the flag.
  how.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
  const char* name = relative.empty() ? "." : relative.c_str();
  const auto fd = static_cast<int>(::syscall(SYS_openat2, root_fd, name, &how, sizeof how));
  if (fd < 0 && (errno == EXDEV || errno == ELOOP)) return refusal{403, "outside the served directory (symlink)"};
  if (fd < 0 && errno == EACCES) return refusal{403, "permission denied"};
  if (fd < 0 && errno == ENXIO) return refusal{403, "not a regular file"};  // a socket
  if (fd < 0 && errno != ENOSYS && errno != EPERM) return refusal{404, "not found"};
  if (fd >= 0) return checked_kind(fd, std::move(out));
  // No openat2: resolve symlinks ourselves and check the result.
  std::error_code ec;
  const auto full = fs::canonical(root / relative, ec);
  if (ec) return refusal{404, "not found"};
  if (!inside(root, full)) return refusal{403, "outside the served directory (symlink)"};
  const int opened = ::open(full.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (opened < 0) return refusal{403, errno == ENXIO ? "not a regular file" : "permission denied"};
  out.file = full;
  return checked_kind(opened, std::move(out));
}

}  // namespace nettool::http
