// udp: send/listen against each other and against socat.
#include "harness.hpp"

#include <catch2/catch.hpp>

using nettool::test::sh;

TEST_CASE("10 000 datagrams reach udp listen --count 10000 in order", "[udp]") {
  auto r = sh(R"sh(
    $NT udp listen 0 --count 10000 --port-file port > got.txt & server=$!
    wait_file port
    seq 1 10000 | $NT udp send 127.0.0.1 $(cat port) || exit 20
    wait $server || exit 21
    seq 1 10000 | cmp - got.txt && echo same
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out == "same\n");
}

TEST_CASE("echo round trip with --wait-reply, and socat as the client", "[udp]") {
  auto r = sh(R"sh(
    $NT udp listen 0 --echo --port-file port > server.txt & wait_file port
    $NT udp send 127.0.0.1 $(cat port) --message ping --wait-reply 500ms
    echo 'from socat' | socat -t 0.5 - UDP:127.0.0.1:$(cat port)
    cat server.txt
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out == "ping\nfrom socat\nping\nfrom socat\n");
}

TEST_CASE("udp listen --json fields, listening event and binary payloads", "[udp][json]") {
  auto r = sh(R"sh(
    $NT udp listen 0 --json --count 2 --port-file port > got.jsonl & server=$!
    wait_file port
    $NT udp send 127.0.0.1 $(cat port) --message 'héllo'
    printf '\xff\xfe' | $NT udp send 127.0.0.1 $(cat port) --binary
    wait $server
    sed -E 's/"from":"127\.0\.0\.1:[0-9]+"/"from":"X"/; s/"port":[0-9]+/"port":P/' got.jsonl
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out ==
        "{\"event\":\"listening\",\"address\":\"127.0.0.1\",\"port\":P}\n"
        "{\"event\":\"data\",\"data\":\"h\xc3\xa9llo\",\"from\":\"X\",\"size\":6}\n"
        "{\"event\":\"data\",\"data_base64\":\"//4=\",\"from\":\"X\",\"size\":2}\n");
}

TEST_CASE("udp listen --count N not reached before --timeout exits 9", "[udp][exit-codes]") {
  auto r = sh(R"sh(
    $NT udp listen 0 --count 3 --timeout 500ms --port-file port; echo "rc=$?"
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out == "rc=9\n");
  CHECK(r.err.find("0 of 3 datagrams") != std::string::npos);
}

TEST_CASE("udp --repeat/--interval repeat each message, --count counts replies, oversized lines are refused", "[udp]") {
  auto r = sh(R"sh(
    $NT udp listen 0 --count 4 --port-file port > got.txt & server=$!
    wait_file port
    $NT udp send 127.0.0.1 $(cat port) --send tick --message tock --repeat 2 --interval 10ms
    wait $server; cat got.txt
    $NT udp send 127.0.0.1 $(cat port) --send x --count 3 2>&1 | grep -c -- '--repeat N'
    rm port; $NT udp listen 0 --echo --port-file port > /dev/null & wait_file port
    $NT udp send 127.0.0.1 $(cat port) --send a --send b --send c --wait-reply 5s --count 2; echo "replies=$?"
    head -c 70000 /dev/zero | tr '\0' a | $NT udp send 127.0.0.1 $(cat port); echo "oversized=$?"
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out == "tick\ntick\ntock\ntock\n1\na\nb\nreplies=0\noversized=1\n");
}

TEST_CASE("udp --expect on received datagrams and on replies", "[udp][expect]") {
  auto r = sh(R"sh(
    $NT udp listen 0 --port-file port --expect 'ready' > got.txt & server=$!
    wait_file port
    $NT udp send 127.0.0.1 $(cat port) --message 'not yet'
    $NT udp send 127.0.0.1 $(cat port) --message 'service ready'
    wait $server; echo "listen-match=$?"
    rm port; $NT udp listen 0 --port-file port --count 2 --expect 'ready' > /dev/null & server=$!
    wait_file port
    $NT udp send 127.0.0.1 $(cat port) --message a --repeat 2
    wait $server; echo "listen-miss=$?"
    rm port; $NT udp listen 0 --echo --port-file port > /dev/null & wait_file port
    $NT udp send 127.0.0.1 $(cat port) --message pong --wait-reply 2s --expect pong > /dev/null; echo "reply-match=$?"
    $NT udp send 127.0.0.1 $(cat port) --message ping --wait-reply 200ms --expect pong > /dev/null; echo "reply-miss=$?"
    cat got.txt
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out == "listen-match=0\nlisten-miss=10\nreply-match=0\nreply-miss=10\nnot yet\nservice ready\n");
}

// Multicast and broadcast never leave this machine: both ends run in a
// private network namespace (unshare -n) where lo carries multicast
// (DEPS.md pitfall 11). Needs root, as CI has.
TEST_CASE("multicast and broadcast inside a private network namespace", "[udp][multicast]") {
  auto r = sh(R"sh(
    [ "$(id -u)" = 0 ] || { echo "needs root for unshare -n"; exit 30; }
    unshare --net bash -c '
      source "$PEERS/lib.sh"
      ip link set lo up && ip link set lo multicast on && ip route add 224.0.0.0/4 dev lo || exit 31
      $NT udp listen 0 --multicast 239.1.2.3 --bind 127.0.0.1 --port-file port --count 1 > group.txt & server=$!
      wait_file port
      $NT udp send 239.1.2.3 $(cat port) --message hello-group --ttl 1
      wait $server; echo "group=$? $(cat group.txt)"
      $NT udp listen 0 --bind 0.0.0.0 --port-file bport --count 1 > all.txt & server=$!
      wait_file bport
      $NT udp send 127.255.255.255 $(cat bport) --message no-flag; echo "no-flag=$?"
      $NT udp send 127.255.255.255 $(cat bport) --broadcast --message hello-all
      wait $server; echo "broadcast=$? $(cat all.txt)"
    '
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out == "group=0 hello-group\nno-flag=2\nbroadcast=0 hello-all\n");
  CHECK(r.err.find("a broadcast address needs --broadcast") != std::string::npos);
}
