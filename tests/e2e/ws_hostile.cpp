// ws against hostile peers: malformed frames, oversized messages, clients
// that drip, stall, flood or vanish, servers that lie or never answer;
// each checks the exit code, that a server still serves, and memory.
#include "harness.hpp"

#include <catch2/catch.hpp>

using nettool::test::sh;

static const char* const kit = R"sh(
serve() {  # nettool ws serve in the background: $SP, port $P, log serve.log
  $NT ws serve 0 --port-file serve.port "$@" 2> serve.log & SP=$!
  wait_file serve.port; P=$(cat serve.port)
}
still_serves() { $NT ws connect ws://127.0.0.1:$P/ --send ok --count 1 2>&1 | sed 's/^/then /'; }
raw() { $PY "$PEERS/ws_peer.py" raw $P "$@"; }
)sh";

TEST_CASE("ws serve closes on malformed frames with RFC 6455's codes and goes on serving", "[ws][serve][hostile]") {
  auto r = sh(std::string(kit) + R"sh(
    serve
    raw "b'\x81\x02hi'"                                              # not masked
    raw "b'\xc1\x82\0\0\0\0hi'"                                      # RSV1 without an extension
    raw "b'\x83\x80\0\0\0\0'"                                        # reserved opcode
    raw "b'\x89\xfe\x00\x7e\0\0\0\0' + b'p' * 126"                   # a ping over 125 bytes
    raw "b'\x09\x80\0\0\0\0'"                                        # a fragmented ping
    raw "b'\x80\x81\0\0\0\0x'"                                       # a continuation with no start
    raw "b'\x81\x82\0\0\0\0\xff\xfe'"                                # text that is not UTF-8
    raw "b'\x88\x82\0\0\0\0\x03\xed'"                                # Close with 1005, never sent
    raw "b'\x82\xff' + (1 << 62).to_bytes(8, 'big') + b'\0\0\0\0'"  # 4 EiB announced
    still_serves
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out == "close 1002\nclose 1002\nclose 1002\nclose 1002\nclose 1002\nclose 1002\nclose 1007\nclose 1002\n"
                 "close 1009\nthen ok\n");
}

TEST_CASE("ws serve refuses a 100 MiB message with 1009 from its header, memory bounded", "[ws][serve][hostile][memory]") {
  auto r = sh(std::string(kit) + R"sh(
    serve
    $PY "$PEERS/ws_peer.py" client ws://127.0.0.1:$P/ big 100
    still_serves
    rss_below $SP 40 && echo rss-ok
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out == "closed 1009 \nthen ok\nrss-ok\n");
}

TEST_CASE("ws serve: a client dripping its upgrade request is cut off at --header-timeout", "[ws][serve][hostile]") {
  auto r = sh(std::string(kit) + R"sh(
    serve --header-timeout 1s
    start=$(date +%s)
    $PY "$PEERS/hostile.py" client $P --drip "b'GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n'" --every 0.2 --read 10
    [ $(( $(date +%s) - start )) -le 4 ] && echo "within the timeout"
    still_serves
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out.find("within the timeout\nthen ok\n") != std::string::npos);
}

TEST_CASE("ws serve --broadcast drops a client that never reads with 1008 while the others keep receiving",
          "[ws][serve][hostile][broadcast][memory]") {
  auto r = sh(std::string(kit) + R"sh(
    serve --broadcast --max-queue 2MiB -v
    $PY "$PEERS/ws_peer.py" client ws://127.0.0.1:$P/ stall 2> stall.err & wait_log stall.err STALLING
    $NT ws connect ws://127.0.0.1:$P/ --count 320 < /dev/null > listener.txt & L=$!
    wait_conns $P 2
    # 320 messages of 64 KiB, one every 5 ms: 20 MiB, far over what the
    # stalled client's socket buffers and its 2 MiB queue hold, at a pace a
    # reader that reads keeps up with even on a loaded machine.
    $PY -c '
import sys, time
for i in range(320):
    sys.stdout.write("m%03d" % i + "x" * 65532 + "\n"); sys.stdout.flush(); time.sleep(0.005)' |
      $NT ws connect ws://127.0.0.1:$P/ --close-timeout 200ms; echo "sender=$?"
    wait $L; echo "listener=$? got $(grep -c ^m listener.txt)"
    grep -c 'closing with 1008' serve.log
    # The room goes on: a new member hears a new message. (Joined once its
    # upgrade is logged: the stalled client's socket may still count as
    # established while its Close handshake times out.)
    $NT ws connect ws://127.0.0.1:$P/ --count 1 < /dev/null > after.txt & A=$!
    wait_log serve.log '" 101 ' 4
    $NT ws connect ws://127.0.0.1:$P/ --send ok --close-timeout 200ms
    wait $A; cat after.txt
    rss_below $SP 80 && echo rss-ok
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out == "sender=0\nlistener=0 got 320\n1\nok\nrss-ok\n");
}

TEST_CASE("ws serve --broadcast: a member that drips its reads cannot hold its 1008 Close off",
          "[ws][serve][hostile][broadcast]") {
  auto r = sh(std::string(kit) + R"sh(
    serve --broadcast --max-queue 256KiB --header-timeout 1s --idle-timeout 2s -v
    # Takes 200 bytes every 0.2 s: never stalled long enough for
    # --send-timeout, far too slow for the room.
    $PY - $P > drip.out <<'PY' &
import socket, sys, time
port = int(sys.argv[1])
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.connect(("127.0.0.1", port))
s.sendall(("GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
start = time.time()
while time.time() - start < 60:
    try:
        if not s.recv(200):
            break
    except OSError:  # the server's cut-off is a reset
        break
    time.sleep(0.2)
print("closed after %d s" % (time.time() - start))
PY
    D=$!
    wait_log serve.log '" 101 ' 1
    $PY -c '
import sys, time
for i in range(200):
    sys.stdout.write("m%03d" % i + "x" * 65532 + "\n"); sys.stdout.flush(); time.sleep(0.002)' |
      $NT ws connect ws://127.0.0.1:$P/ --close-timeout 200ms; echo "sender=$?"
    wait $D
    sed 's/closed after [0-9]* s/closed/' drip.out
    [ "$(sed 's/closed after \([0-9]*\) s/\1/' drip.out)" -lt 15 ] && echo "within 15 s"
    grep -c 'closing with 1008' serve.log
    grep -c 'still not taken' serve.log
    # The room goes on: a new member hears a new message.
    $NT ws connect ws://127.0.0.1:$P/ --count 1 < /dev/null > after.txt & A=$!
    wait_log serve.log '" 101 ' 3
    $NT ws connect ws://127.0.0.1:$P/ --send ok --close-timeout 200ms
    wait $A; cat after.txt
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out == "sender=0\nclosed\nwithin 15 s\n1\n1\nok\n");
}

TEST_CASE("ws serve --echo closes a client that floods and never reads, within --send-timeout", "[ws][serve][hostile]") {
  auto r = sh(std::string(kit) + R"sh(
    serve --send-timeout 1s
    # 64 MiB of messages to an echo, reading none of the echoes.
    $PY - $P <<'PY'
import socket, sys, time
port = int(sys.argv[1])
s = socket.create_connection(("127.0.0.1", port))
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.sendall(("GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
frame = bytes([0x82, 0xfe, 0xff, 0xfc, 0, 0, 0, 0]) + b"x" * 65532
start = time.time()
try:
    for _ in range(1024):
        s.sendall(frame)
    print("flood went through")
except OSError:
    print("cut off" if time.time() - start < 10 else "cut off late")
PY
    still_serves
    rss_below $SP 60 && echo rss-ok
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out == "cut off\nthen ok\nrss-ok\n");
}

TEST_CASE("ws serve: clients that vanish mid-frame or mid-handshake leave nothing behind", "[ws][serve][hostile]") {
  auto r = sh(std::string(kit) + R"sh(
    serve -v
    for i in $(seq 1 20); do
      $PY -c "
import socket
s = socket.create_connection(('127.0.0.1', $P))
s.sendall(b'GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n')
s.recv(4096)
s.sendall(b'\x82\xfe\x10\x00\0\0\0\0half a frame')
s.close()"
      $PY -c "
import socket
s = socket.create_connection(('127.0.0.1', $P))
s.sendall(b'GET / HTTP/1.1\r\nHost: x\r\nUpgr')
s.close()"
    done
    still_serves
    for _ in $(seq 1 200); do [ "$(ss -Htn state established "sport = :$P" | wc -l)" = 0 ] && break; sleep 0.05; done
    echo "open after: $(ss -Htn state established "sport = :$P" | wc -l)"
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out == "then ok\nopen after: 0\n");
}

TEST_CASE("ws connect against lying servers: silent, a bad accept key, a huge message, a vanishing peer",
          "[ws][connect][hostile]") {
  auto r = sh(std::string(kit) + R"sh(
    for mode in silent bad-accept huge vanish; do
      $PY "$PEERS/ws_peer.py" evil $mode.port $mode 100 & wait_file $mode.port
      /usr/bin/time -f '%M' -o rss.txt $NT ws connect ws://127.0.0.1:$(cat $mode.port)/ --connect-timeout 1s \
        --send x --count 1 --timeout 20s > out.txt 2> err.txt
      echo "$mode=$? $(grep -o -e 'no answer in time' -e 'not a WebSocket handshake' -e 'closed with 1009' \
        -e 'without a Close frame' err.txt | head -1)"
      if [ "${NETTOOL_SANITIZED:-0}" = 1 ] || [ "$(tail -1 rss.txt)" -lt 40000 ]; then echo rss-ok; fi
    done
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out ==
        "silent=124 no answer in time\nrss-ok\n"
        "bad-accept=6 not a WebSocket handshake\nrss-ok\n"
        "huge=6 closed with 1009\nrss-ok\n"
        "vanish=6 without a Close frame\nrss-ok\n");
}

TEST_CASE("ws connect: SIGINT mid-session exits 130, SIGTERM 143", "[ws][connect][hostile][signal]") {
  auto r = sh(std::string(kit) + R"sh(
    serve
    mkfifo in
    for sig in INT TERM; do
      $NT ws connect ws://127.0.0.1:$P/ < in > out.txt & C=$!
      exec 3> in
      echo hi >&3
      wait_file out.txt
      kill -$sig $C; wait $C; echo "$sig=$?"
      exec 3>&-
    done
    still_serves
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out == "INT=130\nTERM=143\nthen ok\n");
}

TEST_CASE("ws serve closes a client that neither sends nor answers pings after --idle-timeout", "[ws][serve][hostile]") {
  auto r = sh(std::string(kit) + R"sh(
    serve --idle-timeout 1s
    start=$(date +%s%N)
    $PY - $P <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
          b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
s.settimeout(10)
got = b""
while True:
    chunk = s.recv(4096)
    if not chunk:
        break
    got += chunk
print("pinged" if b"\x89\x00" in got else "no ping", "then closed")
PY
    [ $(( ($(date +%s%N) - start) / 1000000 )) -lt 5000 ] && echo "within 5 s"
    # A client that answers the pings (Python's websockets) stays.
    $PY - $P <<'PY'
import asyncio, sys, websockets
async def main():
    async with websockets.connect(f"ws://127.0.0.1:{sys.argv[1]}/") as ws:
        await asyncio.sleep(2.5)
        await ws.send("still here")
        print(await ws.recv())
asyncio.run(main())
PY
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out == "pinged then closed\nwithin 5 s\nstill here\n");
}

TEST_CASE("ws serve --broadcast: one message larger than --max-queue reaches the others, no one is dropped",
          "[ws][serve][hostile][broadcast]") {
  auto r = sh(std::string(kit) + R"sh(
    serve --broadcast --max-queue 1MiB -v
    $NT ws connect ws://127.0.0.1:$P/ --count 1 < /dev/null > got.txt & L=$!
    wait_conns $P 1
    $PY -c 'print("x" * (3 << 20))' | $NT ws connect ws://127.0.0.1:$P/ --close-timeout 500ms; echo "sender=$?"
    wait $L; wc -c < got.txt
    grep -c 'closing with 1008' serve.log || true
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out == "sender=0\n3145729\n0\n");
}

TEST_CASE("ws connect refuses a subprotocol or an extension it did not offer", "[ws][connect][hostile]") {
  auto r = sh(std::string(kit) + R"sh(
    $PY "$PEERS/ws_peer.py" serve py.port echo chat.v1 2> py.log & wait_file py.port
    # The Python server picks none when none is offered: fine. Offered, it
    # picks chat.v1; a lying server is played by the test's evil peer below.
    $NT ws connect ws://127.0.0.1:$(cat py.port)/ --send a --count 1; echo "none offered=$?"
    $NT ws connect ws://127.0.0.1:$(cat py.port)/ --subprotocol chat.v1 --send b --count 1; echo "offered=$?"
    $PY "$PEERS/ws_peer.py" evil evil.port subprotocol & wait_file evil.port
    $NT ws connect ws://127.0.0.1:$(cat evil.port)/ --send c 2> err.txt; echo "unasked=$? $(grep -o 'which was not offered' err.txt)"
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out == "a\nnone offered=0\nb\noffered=0\nunasked=6 which was not offered\n");
}

TEST_CASE("ws connect: invalid UTF-8 in a text message from Python websockets is closed with 1007, exit 6",
          "[ws][connect][hostile]") {
  auto r = sh(std::string(kit) + R"sh(
    $PY "$PEERS/ws_peer.py" serve py.port badutf8 2> py.log & wait_file py.port
    $NT ws connect ws://127.0.0.1:$(cat py.port)/ --count 1 < /dev/null 2> err.txt; echo "rc=$?"
    grep -o 'closed with 1007' err.txt
    wait_log py.log CLOSED; grep -o 'CLOSED 1007' py.log
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out == "rc=6\nclosed with 1007\nCLOSED 1007\n");
}
