// CURVE keys: generating them, and reading them from files.
#include "zmq.hpp"

#include "nettool/core/error.hpp"
#include "nettool/core/output.hpp"

#include <boost/json.hpp>
#include <fmt/format.h>
#include <zmq.h>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <fstream>
#include <sstream>
#include <unistd.h>

namespace nettool::zmq {
namespace {

constexpr std::size_t z85_key_size = 40;

// `which = "…"` in a czmq certificate.
std::optional<std::string> certificate_field(const std::string& text, std::string_view which) {
  const auto at = text.find(fmt::format("{} = \"", which));
  if (at == std::string::npos) return std::nullopt;
  const auto start = at + which.size() + 4;
  const auto end = text.find('"', start);
  if (end == std::string::npos) return std::nullopt;
  return text.substr(start, end - start);
}

void write_key_file(const std::string& path, const std::string& key, mode_t mode) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
  if (fd < 0) throw core::error(core::errc::local_failure, core::phase::write, path, std::strerror(errno));
  // An existing file keeps its old mode through open(): a secret written
  // into a 0644 file would be readable by everyone. Set it before writing.
  if (::fchmod(fd, mode) != 0) {
    const int err = errno;
    ::close(fd);
    throw core::error(core::errc::local_failure, core::phase::write, path, std::strerror(err));
  }
  const std::string line = key + "\n";
  const bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
  ::close(fd);
  if (!ok) throw core::error(core::errc::local_failure, core::phase::write, path, std::strerror(errno));
}

}  // namespace

bool is_z85_key(std::string_view text) {
  static constexpr std::string_view alphabet =
      "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";
  return text.size() == z85_key_size && text.find_first_not_of(alphabet) == std::string_view::npos;
}

std::string read_key_file(const std::string& path, std::string_view which) {
  std::ifstream in(path);
  if (!in) throw core::error(core::errc::usage, core::phase::read, path, "cannot read the key file");
  std::stringstream text;
  text << in.rdbuf();
  const auto content = text.str();
  auto key = certificate_field(content, which);
  if (!key) {
    std::istringstream words(content);
    std::string first;
    words >> first;
    key = first;
  }
  if (!is_z85_key(*key))
    throw core::error(core::errc::usage, core::phase::read, path, "no CURVE key in it (40 Z85 characters, or a czmq certificate)");
  return *key;
}

awaitable<int> run_keygen(core::run_context& ctx, const keygen_args& args) {
  char public_key[z85_key_size + 1], secret_key[z85_key_size + 1];
  if (zmq_curve_keypair(public_key, secret_key) != 0)
    throw core::error(core::errc::failure, "keygen", "libzmq", "this libzmq has no CURVE support");
  if (!args.write.empty()) {
    write_key_file(args.write + ".key", secret_key, 0600);  // the secret stays the owner's
    write_key_file(args.write + ".pub", public_key, 0644);
  }
  // With --write the secret goes to its file only, not to a terminal or a log.
  const bool show_secret = args.write.empty();
  if (ctx.json()) {
    boost::json::object keys{{"public_key", public_key}};
    if (show_secret) keys["secret_key"] = secret_key;
    else {
      keys["secret_key_file"] = args.write + ".key";
      keys["public_key_file"] = args.write + ".pub";
    }
    ctx.out().line(core::to_json(keys));
  } else {
    ctx.out().line(fmt::format("public-key: {}", public_key));
    if (show_secret) ctx.out().line(fmt::format("secret-key: {}", secret_key));
    else ctx.out().line(fmt::format("files: {0}.key (secret), {0}.pub", args.write));
  }
  co_return 0;
}

}  // namespace nettool::zmq
