// tcp: --expect and tcp bench with --fail-if, for CI pipelines.
#include "harness.hpp"

#include <catch2/catch.hpp>

using nettool::test::sh;

TEST_CASE("connect --expect: a match exits 0 at once, a miss 10, a silent peer 124", "[tcp][expect]") {
  auto r = sh(R"sh(
    $NT tcp listen 0 -k --port-file port --exec 'echo "220 ready"; sleep 5' & wait_file port
    $NT tcp connect 127.0.0.1 $(cat port) --expect '^220 ' --recv-only > /dev/null; echo "match=$?"
    rm port; $NT tcp listen 0 -k --port-file port --exec 'echo "500 nope"' & wait_file port
    $NT tcp connect 127.0.0.1 $(cat port) --expect '^220 ' --recv-only > /dev/null; echo "miss=$?"
    rm port; $NT tcp listen 0 --port-file port < <(sleep 30) > /dev/null & wait_file port
    $NT tcp connect 127.0.0.1 $(cat port) --expect '^220 ' --recv-only --timeout 500ms; echo "silent=$?"
    $NT tcp connect 127.0.0.1 1 --expect '(' ; echo "bad-regex=$?"
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out == "match=0\nmiss=10\nsilent=124\nbad-regex=2\n");
  CHECK(r.err.find("the input ended without a match for '^220 '") != std::string::npos);
}

TEST_CASE("tcp bench: bulk against --discard and --rr against --echo, JSON summary", "[tcp][bench]") {
  auto r = sh(R"sh(
    $NT tcp listen 0 -k --discard --port-file discard & $NT tcp listen 0 -k --echo --port-file echo &
    wait_file discard; wait_file echo
    $NT tcp bench 127.0.0.1 $(cat discard) --bytes 64MiB -c 2 --json > bulk.json || exit 20
    $NT tcp bench 127.0.0.1 $(cat echo) --rr --size 100 -n 2000 -c 2 --json > rr.json || exit 21
    $PY - <<'PYEOF'
import json
bulk = json.load(open("bulk.json")); rr = json.load(open("rr.json"))
assert bulk["bytes"] == 2 * 64 * 1024 * 1024, bulk
assert bulk["count"] == 2 and bulk["errors"] == {}, bulk
assert rr["count"] == 2000 and rr["bytes"] == 2000 * 200, rr
lat = rr["latency"]
assert 0 < lat["p50"] <= lat["p90"] <= lat["p99"] <= lat["p99.9"] <= lat["max"], lat
for key in ("count", "errors", "duration", "rate", "latency"):
    assert key in rr, key
print("ok")
PYEOF
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out == "ok\n");
}

TEST_CASE("tcp bench --fail-if exits 10 when a clause holds and 0 otherwise", "[tcp][bench]") {
  auto r = sh(R"sh(
    $NT tcp listen 0 -k --echo --port-file echo & wait_file echo
    $NT tcp bench 127.0.0.1 $(cat echo) --rr -n 200 --fail-if 'p50>1ns' > /dev/null; echo "holds=$?"
    $NT tcp bench 127.0.0.1 $(cat echo) --rr -n 200 --fail-if 'p99>10s,errors>0' > /dev/null; echo "passes=$?"
    $NT tcp bench 127.0.0.1 $(cat echo) --rr -n 200 --fail-if 'p99>soon'; echo "bad=$?"
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out == "holds=10\npasses=0\nbad=2\n");
  CHECK(r.err.find("nettool: tcp bench: fail-if: p50>1ns (measured ") != std::string::npos);
}

TEST_CASE("tcp bench --rate paces requests: 200/s for 1 s is about 200", "[tcp][bench]") {
  auto r = sh(R"sh(
    $NT tcp listen 0 -k --echo --port-file echo & wait_file echo
    $NT tcp bench 127.0.0.1 $(cat echo) --rr --rate 200 -z 1s -c 2 --json | $PY -c 'import json,sys; print(json.load(sys.stdin)["count"])'
  )sh");
  REQUIRE(r.rc == 0);
  const int count = std::stoi(r.out);
  CHECK(count >= 196);
  CHECK(count <= 204);
}
