// Runs a bash script in a fresh temporary directory with the built binary
// as $NT and tests/peers/lib.sh sourced, and returns its exit code and
// output. Scripts start real peers (socat, openssl, nc, python) themselves.
#pragma once

#include <string>

namespace nettool::test {

struct result {
  int rc = -1;
  std::string out;
  std::string err;
};

// `limit_s` bounds the script (timeout -k); a hung script fails the test
// with rc 124 instead of hanging the suite.
result sh(const std::string& script, int limit_s = 120);

}  // namespace nettool::test
