// tcp servers against peers that misbehave or simply differ from the
// happy path: a command that never reads its input, clients that flood,
// vanish or read slowly. Each checks exit codes, that the server still
// serves, and its peak RSS (Release builds).
#include "harness.hpp"

#include <catch2/catch.hpp>

using nettool::test::sh;

TEST_CASE("listen --exec whose command never reads: curl gets the reply, never a reset",
          "[tcp][exec][hostile]") {
  auto r = sh(R"sh(
    $NT tcp listen 0 -k --port-file port --exec 'printf "HTTP/1.0 200 OK\r\n\r\nhi\n"' 2> server.log & SP=$!
    wait_file port; P=$(cat port)
    head -c 200000 /dev/urandom > body.bin
    ok=0
    for i in $(seq 1 20); do
      out=$(curl -sS --data-binary @body.bin http://127.0.0.1:$P/ 2>&1) && [ "$out" = hi ] && ok=$((ok+1))
    done
    echo "ok=$ok"
    rss_below $SP 30 && echo rss-ok
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out == "ok=20\nrss-ok\n");
}
