#include "harness.hpp"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <sys/wait.h>

namespace nettool::test {
namespace {

std::string slurp(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// A failure's report shows both ends of long output: a sanitizer's report
// or a peer's last words come at the end, after everything else the script
// printed.
std::string head_and_tail(const std::string& s) {
  constexpr std::size_t head = 2000, tail = 6000;
  if (s.size() <= head + tail) return s;
  return s.substr(0, head) + "\n[... " + std::to_string(s.size() - head - tail) + " bytes left out ...]\n" +
         s.substr(s.size() - tail);
}

}  // namespace

result sh(const std::string& script, int limit_s) {
  char templ[] = "/tmp/nettool-e2e-XXXXXX";
  const std::filesystem::path dir = ::mkdtemp(templ);
  {
    std::ofstream f(dir / "test.sh");
    f << "set -u\n"
      << "export NT='" << NETTOOL_BIN << "'\n"
      << "export PEERS='" << NETTOOL_PEERS << "'\n"
      << "export PEER_BIN='" << NETTOOL_PEER_BIN << "'\n"
      << "export NODE_MODULES='" << NETTOOL_NODE_MODULES << "'\n"
      << "export BROKER_DIR='" << NETTOOL_BROKER_DIR << "'\n"
#ifdef NETTOOL_SANITIZED
      << "export NETTOOL_SANITIZED=1\n"  // lib.sh's rss_below: ASan's quarantine and shadow inflate RSS
#endif
      << "source \"$PEERS/lib.sh\"\n"
      << script << "\n";
  }
  const auto cmd = "cd '" + dir.string() + "' && timeout -k 5 " + std::to_string(limit_s) +
                   " setsid bash test.sh </dev/null >.stdout 2>.stderr";
  const int status = std::system(cmd.c_str());
  result r;
  r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = slurp(dir / ".stdout");
  r.err = slurp(dir / ".stderr");
  if (std::getenv("NETTOOL_E2E_VERBOSE"))
    std::cerr << "script:\n" << script << "\nrc=" << r.rc << "\nstdout:\n" << r.out << "\nstderr:\n" << r.err << "\n";
  UNSCOPED_INFO("script:\n" << script << "\nrc=" << r.rc << "\nstdout:\n"
                            << head_and_tail(r.out) << "\nstderr:\n"
                            << head_and_tail(r.err));
  // Not throwing: a peer the script started (nginx) may still be writing
  // its temp files while it dies, and a failed cleanup is not the test's.
  std::error_code ignored;
  if (r.rc == 0 || std::getenv("NETTOOL_KEEP_E2E") == nullptr) std::filesystem::remove_all(dir, ignored);
  return r;
}

}  // namespace nettool::test
