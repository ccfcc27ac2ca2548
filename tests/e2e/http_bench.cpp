// http bench against nettool's own server, counted by its access log.
#include "harness.hpp"

#include <catch2/catch.hpp>

#include <regex>

using nettool::test::sh;

TEST_CASE("http bench: counts match the server's access log, JSON summary, statuses", "[http][bench]") {
  auto r = sh(R"sh(
    $NT http serve -p 0 --port-file port --status 201 --body ok 2> access.log & wait_file port
    $NT http bench http://127.0.0.1:$(cat port)/x -n 500 -c 4 --json > summary.json; echo "bench=$?"
    sleep 0.2
    grep -c '"GET /x" 201 2 ' access.log
    $PY -c 'import json; d=json.load(open("summary.json")); print(d["count"], d["status"], sorted(d["latency"]))'
    $NT http bench http://127.0.0.1:$(free_port)/ -n 5 -c 1 --connect-timeout 1s; echo "refused=$?"
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out.find("bench=0\n500\n500 {'201': 500} ['max', 'mean', 'min', 'p50', 'p90', 'p99', 'p99.9']\n") == 0);
  // Errors are counted by kind, as wrk does, and fail only with --fail-if.
  CHECK(r.out.find("errors: connect 5\n") != std::string::npos);
  CHECK(r.out.find("refused=0\n") != std::string::npos);
}

TEST_CASE("http bench --rate sends the planned number, --fail-if sees a slow server", "[http][bench]") {
  auto r = sh(R"sh(
    $NT http serve -p 0 --port-file fast --echo 2> fast.log & wait_file fast
    $NT http bench http://127.0.0.1:$(cat fast)/ --rate 200 --duration 3s -c 4 > rate.txt; echo "rate=$?"
    sleep 0.2
    echo "served=$(grep -c '"GET /" 200' fast.log)"
    $NT http serve -p 0 --port-file slow --delay 20ms 2> /dev/null & wait_file slow
    $NT http bench http://127.0.0.1:$(cat slow)/ -n 20 -c 2 --fail-if 'p99>1ms' > /dev/null; echo "slow=$?"
    $NT http bench http://127.0.0.1:$(cat slow)/ -n 20 -c 2 --fail-if 'p99>5s' > /dev/null; echo "ok=$?"
  )sh");
  REQUIRE(r.rc == 0);
  std::smatch m;
  REQUIRE(std::regex_search(r.out, m, std::regex(R"(served=(\d+))")));
  CHECK(std::stoi(m[1]) >= 588);
  CHECK(std::stoi(m[1]) <= 612);
  CHECK(r.out.find("rate=0\n") == 0);
  CHECK(r.out.find("slow=10\nok=0\n") != std::string::npos);
  CHECK(r.err.find("p99>1ms") != std::string::npos);
}

TEST_CASE("http bench --threads: the event loops share -n and -c exactly, SIGINT stops them all", "[http][bench]") {
  auto r = sh(R"sh(
    $NT http serve -p 0 --port-file port --body ok 2> access.log & wait_file port
    url=http://127.0.0.1:$(cat port)/x
    $NT http bench $url -n 1001 -c 5 --threads 3 --json -v > summary.json 2> bench.err; echo "bench=$?"
    sleep 0.2
    grep -o 'on [0-9]* threads' bench.err
    echo "served=$(grep -c '"GET /x" 200 2 ' access.log)"
    # One client port per keep-alive connection.
    echo "connections=$(grep -o '127.0.0.1:[0-9]* "GET' access.log | sort -u | wc -l)"
    $PY -c 'import json; print("count", json.load(open("summary.json"))["count"])'
    $NT http bench $url -c 4 --threads 2 -z 60s > /dev/null & b=$!
    sleep 1; kill -INT $b; t0=$(date +%s%N); wait $b; echo "int=$?"
    echo "stopped_ms=$(( ($(date +%s%N) - t0) / 1000000 ))"
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out.find("bench=0\non 3 threads\nserved=1001\nconnections=5\ncount 1001\nint=130\n") == 0);
  std::smatch m;
  REQUIRE(std::regex_search(r.out, m, std::regex(R"(stopped_ms=(\d+))")));
  CHECK(std::stoi(m[1]) < 1000);
}
