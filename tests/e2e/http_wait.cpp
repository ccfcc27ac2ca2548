// http wait: readiness of URLs for CI scripts.
#include "harness.hpp"

#include <catch2/catch.hpp>

#include <regex>

using nettool::test::sh;

TEST_CASE("http wait: a server that comes up later, several URLs, then the command", "[http][wait]") {
  auto r = sh(R"sh(
    start_http_peer
    mkdir www && printf '{"status":"green"}\n' > www/health
    port=$(free_port)
    # The first server starts a second after the wait: refused until then.
    (sleep 1; cd www && exec $PY -m http.server $port --bind 127.0.0.1 > /dev/null 2>&1) &
    $NT http wait -v http://127.0.0.1:$port/health "http://127.0.0.1:$HTTP_PEER/echo?green" --status 200,204 \
      --contains green -- sh -c 'echo "ran $0"; grep -c "ready after" wait.log' cmd 2> wait.log; echo "wait=$?"
  )sh");
  REQUIRE(r.rc == 0);
  // The command ran once both were ready (the log has two "ready after").
  CHECK(r.out == "ran cmd\n2\nwait=0\n");
}

TEST_CASE("http wait: wrong status, missing text and silence time out with 124 and say why", "[http][wait]") {
  auto r = sh(R"sh(
    start_http_peer
    base=http://127.0.0.1:$HTTP_PEER
    $NT http wait $base/status/503 --timeout 700ms; echo "status=$?"
    $NT http wait $base/echo --contains nope --timeout 700ms; echo "contains=$?"
    $NT http wait "$base/status/418" --status 400-499 --timeout 2s; echo "range=$?"
    $NT http wait http://127.0.0.1:$(free_port)/ --timeout 500ms; echo "refused=$?"
    $NT http wait $base/ --status 99; echo "bad-status=$?"
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out == "status=124\ncontains=124\nrange=0\nrefused=124\nbad-status=2\n");
  CHECK(std::regex_search(r.err, std::regex(R"(nettool: http wait: wait: not ready after 700\.00ms: http://127\.0\.0\.1:\d+/status/503 \(last: 503 Service Unavailable\))")));
  CHECK(r.err.find("(last: 200 OK, body without 'nope')") != std::string::npos);
  CHECK(r.err.find("Connection refused)") != std::string::npos);
}
