// libFuzzer target: the parsers http serve and the client apply to text a
// peer controls: Range headers, request targets (the traversal guard) and
// URLs (the client's, redirects'). Checks what must hold for any input: a
// range lies inside the file, a resolved path stays under the root.
#include "../../src/http/range.hpp"
#include "../../src/http/static_files.hpp"
#include "nettool/http/client.hpp"

#include "nettool/core/error.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string_view>

namespace {

using namespace nettool;

struct tree {
  std::filesystem::path root;
  int fd;
};

const tree& served() {
  static const tree t = [] {
    char dir[] = "/tmp/nettool-fuzz-XXXXXX";
    std::filesystem::path root = ::mkdtemp(dir);
    std::filesystem::create_directories(root / "d");
    std::ofstream(root / "d" / "f") << "x";
    std::filesystem::create_symlink("/etc", root / "out");
    return tree{root, ::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC)};
  }();
  return t;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  for (const std::uint64_t file_size : {0ULL, 1ULL, 10ULL, 1ULL << 40}) {
    http::byte_range r;
    if (http::parse_range(text, file_size, r) == http::range_kind::ok && !(r.first <= r.last && r.last < file_size))
      std::abort();
  }
  const auto& t = served();
  auto where = http::resolve_target(t.root, t.fd, text);
  if (auto* found = std::get_if<http::resolved_path>(&where)) {
    char path[64], real[4096];
    std::snprintf(path, sizeof path, "/proc/self/fd/%d", found->fd);
    const auto n = ::readlink(path, real, sizeof real - 1);
    if (n > 0 && !std::string_view(real, static_cast<std::size_t>(n)).starts_with(t.root.native())) std::abort();
    ::close(found->fd);
  }
  try {
    const auto url = http::parse_url(text);
    if (url.has_port() && (url.port_number() == 0)) std::abort();
  } catch (const core::error&) {
  }
  return 0;
}
