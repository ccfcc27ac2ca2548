// tcp: data integrity, half-close and --eof, against nettool itself and
// against socat and nc.
#include "harness.hpp"

#include <catch2/catch.hpp>

using nettool::test::sh;

TEST_CASE("256 MiB both ways at once between connect and listen arrive intact", "[tcp][integrity]") {
  auto r = sh(R"sh(
    two_random_files 256M
    $NT tcp listen 0 --port-file port < b.bin > got-a.bin & server=$!
    wait_file port
    $NT tcp connect 127.0.0.1 $(cat port) < a.bin > got-b.bin || exit 20
    wait $server || exit 21
    same_both_ways || exit 22
  )sh", 300);
  CHECK(r.rc == 0);
}

TEST_CASE("256 MiB both ways with socat and with nc as the other end", "[tcp][integrity]") {
  auto r = sh(R"sh(
    two_random_files 256M
    # socat listens, nettool connects; -t: socat waits for our half after its EOF
    port=$(free_port)
    socat -t 60 TCP-LISTEN:$port,bind=127.0.0.1 STDIO < b.bin > got-a.bin & peer=$!
    wait_listen $port
    $NT tcp connect 127.0.0.1 $port < a.bin > got-b.bin || exit 20
    wait $peer || exit 21
    same_both_ways || exit 22
    # nettool listens, nc connects (-N: half-close at its stdin EOF)
    rm -f got-a.bin got-b.bin port
    $NT tcp listen 0 --port-file port < b.bin > got-a.bin & server=$!
    wait_file port
    nc -N 127.0.0.1 $(cat port) < a.bin > got-b.bin || exit 30
    wait $server || exit 31
    same_both_ways || exit 32
  )sh", 300);
  CHECK(r.rc == 0);
}

TEST_CASE("256 MiB both ways over TLS", "[tcp][integrity][tls]") {
  auto r = sh(R"sh(
    make_ca
    two_random_files 256M
    $NT tcp listen 0 --port-file port --tls --cert server.pem --key server.key < b.bin > got-a.bin & server=$!
    wait_file port
    $NT tcp connect --tls --cacert ca.pem localhost $(cat port) < a.bin > got-b.bin || exit 20
    wait $server || exit 21
    same_both_ways || exit 22
  )sh", 300);
  CHECK(r.rc == 0);
}

TEST_CASE("a server that answers only after EOF gets the full request and we get its full reply", "[tcp][half-close]") {
  auto r = sh(R"sh(
    port=$(free_port)
    socat TCP-LISTEN:$port,bind=127.0.0.1 EXEC:sort & wait_listen $port
    printf 'b\na\n' | $NT tcp connect 127.0.0.1 $port
  )sh");
  CHECK(r.rc == 0);
  CHECK(r.out == "a\nb\n");
}

TEST_CASE("eof policy close ends at stdin EOF without waiting for the reply", "[tcp][half-close]") {
  // The peer answers 2 s after EOF: close must not wait for it.
  auto r = sh(R"sh(
    port=$(free_port)
    socat TCP-LISTEN:$port,bind=127.0.0.1 SYSTEM:'cat >/dev/null; sleep 2; echo late' & wait_listen $port
    start=$(date +%s%N)
    printf 'x\n' | $NT tcp connect 127.0.0.1 $port --eof close
    echo "rc=$? ms=$(( ($(date +%s%N) - start) / 1000000 ))"
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out.find("rc=0") != std::string::npos);
  CHECK(r.out.find("late") == std::string::npos);
  const auto ms = std::stoi(r.out.substr(r.out.find("ms=") + 3));
  CHECK(ms < 1500);
}

TEST_CASE("eof policy wait:DUR waits at most DUR for the reply after EOF", "[tcp][half-close]") {
  auto r = sh(R"sh(
    port=$(free_port)
    socat TCP-LISTEN:$port,bind=127.0.0.1,fork SYSTEM:'cat >/dev/null; sleep 0.3; echo quick; sleep 5; echo slow' &
    wait_listen $port
    printf 'x\n' | $NT tcp connect 127.0.0.1 $port --eof wait:1s
    echo "rc=$?"
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out == "quick\nrc=0\n");
}

TEST_CASE("eof policy ignore keeps our write side open: a peer waiting for EOF never answers", "[tcp][half-close]") {
  auto r = sh(R"sh(
    port=$(free_port)
    socat TCP-LISTEN:$port,bind=127.0.0.1 EXEC:sort & wait_listen $port
    printf 'b\na\n' | $NT tcp connect 127.0.0.1 $port --eof ignore --idle-timeout 1s
    echo "rc=$?"
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out == "rc=124\n");
}

TEST_CASE("send text, crlf and recv-only", "[tcp]") {
  auto r = sh(R"sh(
    $NT tcp listen 0 --port-file port > got.txt & server=$!
    wait_file port
    $NT tcp connect 127.0.0.1 $(cat port) --send $'one\ntwo\n' --crlf || exit 20
    wait $server
    od -c got.txt | head -2
    rm -f port
    printf 'from server\n' | $NT tcp listen 0 --port-file port & server=$!
    wait_file port
    $NT tcp connect 127.0.0.1 $(cat port) --recv-only < /dev/null || exit 21
    wait $server
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out.find("o   n   e  \\r  \\n   t   w   o  \\r  \\n") != std::string::npos);
  CHECK(r.out.find("from server\n") != std::string::npos);
}
