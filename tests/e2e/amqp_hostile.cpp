// amqp against brokers that misbehave: tests/peers/amqp_broker.py speaks raw
// AMQP frames to lie, stall, drip, go silent or refuse to answer; a second
// real RabbitMQ node is stopped under a publisher. Each case asserts the
// exit code, the time it took, and memory where a broker could inflate it.
#include "harness.hpp"

#include <catch2/catch.hpp>

using nettool::test::sh;

namespace {

// fake_broker SCENARIO: starts amqp_broker.py, sets $U to its URL.
const std::string fake_broker = R"sh(
fake_broker() {
  rm -f "$1.port"  # a scenario run twice must not find the first one's port
  $PY "$PEERS/amqp_broker.py" "$1.port" "$1" & wait_file "$1.port"
  U=amqp://127.0.0.1:$(cat "$1.port")
}
# timed CMD...: runs CMD, then prints "rc=N" and whether it took under $LIMIT s.
timed() {
  local start=$(date +%s%N); "$@"; local rc=$?
  local ms=$(( ($(date +%s%N) - start) / 1000000 ))
  echo "rc=$rc $([ $ms -lt $((LIMIT * 1000)) ] && echo "in time" || echo "took ${ms} ms")"
}
# max_rss_mib_below MIB CMD...: CMD's peak RSS (GNU time) under MIB; always true under sanitizers.
max_rss_below() {
  local mib=$1; shift
  command time -f %M -o rss.kb "$@"; local rc=$?
  [ "${NETTOOL_SANITIZED:-0}" = 1 ] || [ "$(tail -1 rss.kb)" -lt $((mib * 1024)) ] || echo "peak RSS $(tail -1 rss.kb) KiB" >&2
  return $rc
}
)sh";

}  // namespace

TEST_CASE("amqp hostile: a 1 GiB content header is refused before any allocation, exit 6", "[amqp][hostile]") {
  auto r = sh(fake_broker + R"sh(
    fake_broker huge; LIMIT=3
    timed max_rss_below 48 $NT amqp consume q --url $U 2> err
    grep -o "a message of 1073741824 bytes announced (at most 134217728 are accepted)" err
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out == "rc=6 in time\na message of 1073741824 bytes announced (at most 134217728 are accepted)\n");
}

TEST_CASE("amqp hostile: a message stalled mid-body ends at --timeout, SIGINT ends it too", "[amqp][hostile]") {
  auto r = sh(fake_broker + R"sh(
    fake_broker stall; LIMIT=6
    timed $NT amqp consume q --url $U --timeout 1s 2> /dev/null
    $NT amqp consume q --url $U & c=$!
    sleep 0.5; kill -INT $c; LIMIT=4; timed wait $c
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out == "rc=124 in time\nrc=130 in time\n");
}

TEST_CASE("amqp hostile: a broker that never answers our close: --count 1 does not claim success", "[amqp][hostile]") {
  auto r = sh(fake_broker + R"sh(
    fake_broker deaf-close; LIMIT=6
    timed $NT amqp consume q --url $U --count 1 2> err
    grep -o "the broker did not answer our close" err
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out == "one\nrc=4 in time\nthe broker did not answer our close\n");
}

TEST_CASE("amqp hostile: a peer that drops us in the handshake is transient (exit 4, retried)", "[amqp][hostile]") {
  auto r = sh(fake_broker + R"sh(
    fake_broker drop; LIMIT=5
    timed $NT amqp get q --url $U --retries 2 --retry-delay 10ms 2> err
    wc -l < drop.port.conns
    grep -c "the peer closed the connection during the AMQP handshake" err
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out == "rc=4 in time\n3\n1\n");
}

TEST_CASE("amqp hostile: channel.close instead of content exits 7, control characters stay on one line",
          "[amqp][hostile]") {
  auto r = sh(fake_broker + R"sh(
    fake_broker closing-get; LIMIT=3
    timed $NT amqp get q --url $U 2> get.err
    cat get.err
    fake_broker ctrl
    timed $NT amqp consume q --url $U 2> ctrl.err
    wc -l < ctrl.err
    grep -c "406 BAD .u001b\[31mRED.u000d.u000anettool: forged second line" ctrl.err
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out ==
        "rc=7 in time\nnettool: amqp get: channel: the broker closed the channel: 406 PRECONDITION_FAILED - changed my "
        "mind\n"
        "rc=7 in time\n1\n1\n");
}

TEST_CASE("amqp hostile: a broker gone silent is noticed by heartbeats, one that never confirms by --timeout",
          "[amqp][hostile]") {
  auto r = sh(fake_broker + R"sh(
    fake_broker silent; LIMIT=5
    timed $NT amqp consume q --url $U 2> silent.err
    grep -c "heartbeat timeout" silent.err
    fake_broker no-confirms; LIMIT=3
    timed $NT amqp publish -r q --body x --url $U --timeout 1s 2> /dev/null
    seq 10 | $NT amqp publish -r q --url $U & p=$!
    sleep 0.5; kill -INT $p; LIMIT=3; timed wait $p
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out == "rc=4 in time\n1\nrc=124 in time\nrc=130 in time\n");
}

TEST_CASE("amqp hostile: --no-ack into a stdout nobody reads stays bounded in memory", "[amqp][hostile]") {
  auto r = sh(R"sh(
    amqp_env; q=$(uniq_name flood)
    $NT amqp declare-queue $q > /dev/null
    head -c 262143 /dev/zero | tr '\0' x > big.txt
    for _ in $(seq 400); do cat big.txt; echo; done | $NT amqp publish -r $q; echo "published=$?"
    mkfifo out
    $NT amqp consume $q --no-ack > out & c=$!
    exec 3< out  # opened, never read
    sleep 3
    rss_below $c 100 && echo "bounded while stdout is stuck"
    # Blocked in a write to stdout (synchronous, as in every verb): SIGKILL.
    kill -9 $c; wait $c; echo "killed=$?"
    exec 3<&-
    $NT amqp delete-queue $q
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out == "published=0\nbounded while stdout is stuck\nkilled=137\n");
}

TEST_CASE("amqp hostile: a 32 MiB message in 4 KiB frames costs about its size", "[amqp][hostile]") {
  auto r = sh(fake_broker + R"sh(
    amqp_env; q=$(uniq_name frames)
    $NT amqp declare-queue $q > /dev/null
    head -c 33554432 /dev/urandom > big.bin
    $NT amqp publish -r $q --body-file big.bin; echo "published=$?"
    max_rss_below 100 $NT amqp get $q --url "$AMQP_URL?frame_max=4096" > got.bin 2> rss.out; echo "get=$?"
    cat rss.out
    [ "$(stat -c %s got.bin)" = 33554433 ] && head -c 33554432 got.bin | cmp - big.bin && echo "intact"
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out == "published=0\nget=0\nintact\n");
}

TEST_CASE("amqp hostile: the broker stopped mid-publish: exit 4 with the unconfirmed count", "[amqp][hostile]") {
  auto r = sh(R"sh(
    bash "$PEERS/rabbitmq.sh" start "$PWD/node" > /dev/null || exit 1
    . "$PWD/node/env"
    seq 3000000 | $NT amqp publish -r nowhere --url "$AMQP_URL" 2> pub.err & p=$!
    sleep 1
    bash "$PEERS/rabbitmq.sh" stop "$PWD/node"
    LIMIT=20
    start=$(date +%s); wait $p; rc=$?; echo "publish=$rc $([ $(( $(date +%s) - start )) -lt 20 ] && echo "in time")"
    grep -o "published, [0-9]* confirmed, [0-9]* unconfirmed" pub.err | sed 's/[0-9][0-9]*/N/g'
  )sh",
              180);
  REQUIRE(r.rc == 0);
  CHECK(r.out == "publish=4 in time\npublished, N confirmed, N unconfirmed\n");
}

TEST_CASE("amqp hostile: publish --retries over a connection cut midway: every message arrives, settled ones once",
          "[amqp][hostile]") {
  auto r = sh(R"sh(
    amqp_env; q=$(uniq_name cut)
    $NT amqp declare-queue $q > /dev/null
    p=$(free_port)
    start_hop $p $AMQP_PORT
    # Half the lines, a pause while the hop is cut and back, the other half.
    { seq 1 50000; while [ ! -f resumed ]; do sleep 0.05; done; seq 50001 100000; } |
      $NT amqp publish -r $q --retries 5 --retry-delay 100ms --url amqp://guest:guest@127.0.0.1:$p 2> pub.err & c=$!
    for _ in $(seq 400); do [ "$($PY "$PEERS/amqp_peer.py" count $q)" -ge 20000 ] && break; sleep 0.05; done
    cut_hop $p
    start_hop $p $AMQP_PORT; touch resumed
    wait $c; echo "publish=$?"
    # One loss; each attempt while the hop is down is logged, at most --retries.
    n=$(grep -c "publishing the [0-9]* messages not yet confirmed again" pub.err)
    [ "$n" -ge 1 ] && [ "$n" -le 5 ] && echo "loss logged"
    n=$($PY "$PEERS/amqp_peer.py" count $q)
    $NT amqp consume $q --count "$n" > all.out
    sort -n all.out | uniq | cmp - <(seq 100000) && echo "all 100000"
    # Only what was unconfirmed when the hop was cut can come twice: a window and a batch.
    [ $((n - 100000)) -le 1512 ] && echo "duplicates bounded"
    cut_hop $p
    seq 10 | $NT amqp publish -r $q --url amqp://guest:guest@127.0.0.1:$p 2> /dev/null; echo "gone, no retries=$?"
    # The hop gone for good: the retries run out, and the error counts the
    # whole run, not only the last connection (which confirmed nothing).
    q2=$(uniq_name gone); $NT amqp declare-queue $q2 > /dev/null
    start_hop $p $AMQP_PORT
    { seq 1 20000; while [ ! -f cut ]; do sleep 0.05; done; seq 20001 30000; } |
      $NT amqp publish -r $q2 --retries 2 --retry-delay 100ms --url amqp://guest:guest@127.0.0.1:$p 2> gone.err & c=$!
    for _ in $(seq 400); do [ "$($PY "$PEERS/amqp_peer.py" count $q2)" -ge 20000 ] && break; sleep 0.05; done
    sleep 0.5; cut_hop $p; touch cut
    wait $c; echo "retries used up=$?"
    # The last connection confirmed nothing: what is counted came before it.
    grep -o "in all: .*" gone.err | awk '{print ($5 > 0 && $5 <= 20000 && $3 >= 20000) ? "run totals" : $0}'
  )sh",
              180);
  REQUIRE(r.rc == 0);
  CHECK(r.out == "publish=0\nloss logged\nall 100000\nduplicates bounded\ngone, no retries=4\nretries used up=4\nrun totals\n");
}

TEST_CASE("amqp hostile: stops and timeouts settle nothing they did not finish", "[amqp][hostile]") {
  auto r = sh(fake_broker + R"sh(
    amqp_env; q=$(uniq_name stop)
    $NT amqp declare-queue $q > /dev/null
    seq 3 | $NT amqp publish -r $q
    # SIGINT while two commands run: their messages go back, none is rejected.
    $NT amqp consume $q --exec 'sleep 5' --concurrency 2 2> exec.err & c=$!
    sleep 1; kill -INT $c; wait $c; echo "exec=$?"
    grep -c rejected exec.err
    $PY "$PEERS/amqp_peer.py" count $q
    # --count reached, then a broker deaf to our close: no reconnect, exit 4.
    fake_broker deaf-close; LIMIT=8
    timed $NT amqp consume q --url $U --count 1 --reconnect 2> deaf.err
    grep -c "reconnecting" deaf.err
    # --count reached, the close cut by --timeout: a timeout (124), not 9.
    fake_broker deaf-close; LIMIT=5
    timed $NT amqp consume q --url $U --count 1 --timeout 1s 2> deafto.err
    grep -o "all 1 messages were printed, but the close did not finish" deafto.err
    # --count with --timeout, never logged in: a timeout (124), not "nothing available" (9).
    fake_broker mute; LIMIT=5
    timed $NT amqp consume q --url $U --count 1 --timeout 1s 2> /dev/null
    # bench at a low --rate: every message counted, no drain errors.
    $NT amqp bench --rate 20 --duration 1s --json | $PY -c 'import json,sys; e=json.load(sys.stdin); print(e["count"], e["published"], e["errors"])'
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out ==
        "exec=130\n0\n3\none\nrc=4 in time\n0\none\nrc=124 in time\nall 1 messages were printed, but the close did not "
        "finish\nrc=124 in time\n20 20 {}\n");
}
