// ws connect and ws serve against independent peers: Python's websockets,
// Node's ws and wscat, curl, http serve, proxies.
#include "harness.hpp"

#include <catch2/catch.hpp>

using nettool::test::sh;

// Shared by the scripts below: a Python websockets server in the
// background (its port in $WSP), a Node ws server ($NODEP).
static const char* const peers = R"sh(
ws_py() {  # ws_py NAME MODE ARGS...: Python server, port in NAME.port, log in NAME.log
  local name=$1; shift
  $PY "$PEERS/ws_peer.py" serve $name.port "$@" 2> $name.log & wait_file $name.port
}
ws_node() {
  local name=$1; shift
  node "$PEERS/ws_peer.js" serve $name.port "$@" 2> $name.log & wait_file $name.port
}
ws_serve() {  # ws_serve NAME ARGS...: nettool ws serve, port in NAME.port
  local name=$1; shift
  $NT ws serve 0 --port-file $name.port "$@" 2> $name.log & wait_file $name.port
}
)sh";

static nettool::test::result ws_sh(const std::string& script) { return sh(std::string(peers) + script); }

TEST_CASE("ws connect sends lines and prints echoes from Python websockets: UTF-8, empty, in order", "[ws][connect]") {
  auto r = ws_sh(R"sh(
    ws_py py echo
    P=$(cat py.port)
    printf 'hello\ngrüße, 世界 ✓\n\nlast' | $NT ws connect ws://127.0.0.1:$P/ --count 4; echo "rc=$?"
    $NT ws connect ws://127.0.0.1:$P/ --send one --send '' --count 2; echo "rc=$?"
    seq 10000 | $NT ws connect ws://127.0.0.1:$P/ --count 10000 > many.txt; echo "rc=$?"
    seq 10000 | cmp - many.txt && echo ordered
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out == "hello\ngrüße, 世界 ✓\n\nlast\nrc=0\none\n\nrc=0\nrc=0\nordered\n");
}

TEST_CASE("ws connect --json prints SPEC's events, binary as data_base64, and the close", "[ws][connect][json]") {
  auto r = ws_sh(R"sh(
    ws_py py close 4001 'not today'
    P=$(cat py.port)
    $NT ws connect ws://127.0.0.1:$P/ --json --send hi 2> err.txt | sed "s/$P/PORT/"; echo "rc=${PIPESTATUS[0]}"
    sed "s/$P/PORT/" err.txt
    ws_py echo echo
    printf '\000\001\377' | $NT ws connect ws://127.0.0.1:$(cat echo.port)/ --binary --json --count 1; echo "rc=$?"
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out ==
        "{\"type\":\"close\",\"code\":4001,\"reason\":\"not today\"}\n"
        "{\"event\":\"error\",\"phase\":\"close\",\"message\":\"close ws://127.0.0.1:PORT/: the peer closed with code 4001: "
        "not today\",\"exit\":7}\n"
        "rc=7\n"
        "nettool: ws connect: close ws://127.0.0.1:PORT/: the peer closed with code 4001: not today\n"
        "{\"type\":\"binary\",\"data_base64\":\"AAH/\"}\n"
        "{\"type\":\"close\",\"code\":1000,\"reason\":\"\"}\n"
        "rc=0\n");
}

TEST_CASE("ws connect --binary: a 64 MiB message in, 64 MiB of stdin out, SHA-256 equal", "[ws][connect][big]") {
  auto r = ws_sh(R"sh(
    head -c $((64 << 20)) /dev/urandom > big.bin
    ws_py py send-file big.bin
    $NT ws connect ws://127.0.0.1:$(cat py.port)/ --binary --count 1 > in.bin; echo "rc=$?"
    [ "$(sha big.bin)" = "$(sha in.bin)" ] && echo "one message in"
    # Out: stdin goes in chunks (one message per read), echoed back in order.
    ws_node node echo
    $NT ws connect ws://127.0.0.1:$(cat node.port)/ --binary < big.bin > out.bin; echo "rc=$?"
    [ "$(sha big.bin)" = "$(sha out.bin)" ] && echo "chunks echoed"
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out == "rc=0\none message in\nrc=0\nchunks echoed\n");
}

TEST_CASE("ws connect: stdin EOF sends Close and still prints the replies in flight (Node ws burst)", "[ws][connect]") {
  auto r = ws_sh(R"sh(
    ws_node node burst 20000
    echo go | $NT ws connect ws://127.0.0.1:$(cat node.port)/ > got.txt; echo "rc=$?"
    wc -l < got.txt; tail -1 got.txt
    wait_log node.log CLOSED && cat node.log
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out == "rc=0\n20000\n20000\nCLOSED 1000 \n");
}

TEST_CASE("ws connect exit codes: a peer close code, --count short of N, --expect, --close-code", "[ws][connect][exit]") {
  auto r = ws_sh(R"sh(
    ws_py count count 5
    P=$(cat count.port)
    $NT ws connect ws://127.0.0.1:$P/ --count 10 --timeout 1s > /dev/null 2> err.txt; echo "short count=$? $(grep -o '5 of 10' err.txt)"
    : | $NT ws connect ws://127.0.0.1:$P/ --expect '^4$'; echo "expect=$?"
    : | $NT ws connect ws://127.0.0.1:$P/ --expect '^9$' > /dev/null 2>&1; echo "no match=$?"
    ws_py py echo
    echo x | $NT ws connect ws://127.0.0.1:$(cat py.port)/ --close-code 4002 --close-reason done > /dev/null; echo "close-code=$?"
    wait_log py.log CLOSED; grep CLOSED py.log
    $NT ws connect ws://127.0.0.1:$P/ --close-code 1005; echo "reserved code=$?"
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out == "short count=9 5 of 10\n1\n2\n3\n4\nexpect=0\nno match=10\nclose-code=7\nCLOSED 4002 done\nreserved code=2\n");
}

TEST_CASE("ws serve answers Python websockets: echo of every kind, a Close answered with its code", "[ws][serve]") {
  auto r = ws_sh(R"sh(
    ws_serve srv
    P=$(cat srv.port)
    $PY "$PEERS/ws_peer.py" client ws://127.0.0.1:$P/ script
    $PY "$PEERS/ws_peer.py" client ws://127.0.0.1:$P/ closing 4000 bye
    $PY "$PEERS/ws_peer.py" client ws://127.0.0.1:$P/ big 64
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out ==
        "'hello'\n'grüße, 世界 ✓'\n''\nb'\\x00\\x01\\xff'\nclosed 1000 \n"
        "'x'\nclosed 4000 \n"
        "True 67108864\nclosed 1000 \n");
}

TEST_CASE("ws serve --json: one event per WebSocket opened and closed, with path, query, close code and reason",
          "[ws][serve][json]") {
  auto r = ws_sh(R"sh(
    $NT ws serve 0 --port-file srv.port --json > events.txt 2> srv.log & S=$!; wait_file srv.port
    P=$(cat srv.port)
    $PY "$PEERS/ws_peer.py" client "ws://127.0.0.1:$P/chat?room=1" closing 4000 bye > /dev/null
    $PY "$PEERS/ws_peer.py" client ws://127.0.0.1:$P/ say hi > /dev/null &
    C=$!
    for _ in $(seq 1 200); do [ $(grep -c '"connected"' events.txt) = 2 ] && break; sleep 0.025; done
    kill -TERM $S; wait $S; echo "serve=$?"
    wait $C
    # Ports vary: the peer of each pair must match, then it is masked.
    $PY - <<'PY'
import json
events = [json.loads(l) for l in open("events.txt")]
print(events[0]["event"])
peers = {}
for e in events[1:]:
    peers.setdefault(e["peer"], []).append(e["event"])
    e["peer"] = "PEER"
    print(json.dumps(e, separators=(",", ":")))
print(sorted(peers.values()))
PY
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out ==
        "serve=143\n"
        "listening\n"
        "{\"event\":\"connected\",\"peer\":\"PEER\",\"path\":\"/chat\",\"query\":\"room=1\"}\n"
        "{\"event\":\"disconnected\",\"peer\":\"PEER\",\"code\":4000,\"reason\":\"bye\"}\n"
        "{\"event\":\"connected\",\"peer\":\"PEER\",\"path\":\"/\"}\n"
        "{\"event\":\"disconnected\",\"peer\":\"PEER\",\"code\":1001,\"reason\":\"server stopping\"}\n"
        "[['connected', 'disconnected'], ['connected', 'disconnected']]\n");
}

TEST_CASE("ws serve --path, --subprotocol, 426 for plain HTTP, 1009 over --max-message-size", "[ws][serve]") {
  auto r = ws_sh(R"sh(
    ws_serve srv --path /chat --subprotocol chat.v2 --subprotocol chat.v1 --max-message-size 1KiB
    P=$(cat srv.port)
    $PY "$PEERS/ws_peer.py" client ws://127.0.0.1:$P/other say x
    $PY "$PEERS/ws_peer.py" client "ws://127.0.0.1:$P/chat?room=1" subprotocol chat.v1 chat.v3
    curl -s -o /dev/null -w '%{http_code}\n' http://127.0.0.1:$P/chat
    head -c 2000 /dev/zero | tr '\0' x | $PY "$PEERS/ws_peer.py" client ws://127.0.0.1:$P/chat say "$(head -c 2000 /dev/zero | tr '\0' x)"
    $PY "$PEERS/ws_peer.py" client ws://127.0.0.1:$P/chat closing 1000 fine
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out == "rejected 404\nchosen chat.v1\nclosed 1000 \n426\nclosed 1009 \n'x'\nclosed 1000 \n");
}

TEST_CASE("ws serve --broadcast: a chat room of three, nettool and Python clients", "[ws][serve][broadcast]") {
  auto r = ws_sh(R"sh(
    ws_serve room --broadcast
    P=$(cat room.port)
    $PY "$PEERS/ws_peer.py" client ws://127.0.0.1:$P/ listen 2 > b.txt & B=$!
    $PY "$PEERS/ws_peer.py" client ws://127.0.0.1:$P/ listen 2 > c.txt & C=$!
    wait_conns $P 2
    $NT ws connect ws://127.0.0.1:$P/ --send 'hi all' --send 'bye' --close-timeout 200ms; echo "sender=$?"
    wait $B $C
    cat b.txt c.txt
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out == "sender=0\n'hi all'\n'bye'\nclosed 1000 \n'hi all'\n'bye'\nclosed 1000 \n");
}

TEST_CASE("ws serve driven by wscat: echo", "[ws][serve][wscat]") {
  auto r = ws_sh(R"sh(
    ws_serve srv
    # wscat quits at the end of its stdin, even with -x: keep it open.
    sleep 5 | wscat -c ws://127.0.0.1:$(cat srv.port)/ -x 'from wscat' -w 1
    sleep 5 | wscat -c ws://127.0.0.1:$(cat srv.port)/ -x two -w 1
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out == "from wscat\ntwo\n");
}

TEST_CASE("ws serve: SIGTERM closes every client with 1001 and exits 143 as every server", "[ws][serve][signal]") {
  auto r = ws_sh(R"sh(
    ws_serve srv; S=$!
    P=$(cat srv.port)
    $PY "$PEERS/ws_peer.py" client ws://127.0.0.1:$P/ listen 1 > a.txt & A=$!
    mkfifo in; $NT ws connect ws://127.0.0.1:$P/ < in > b.txt 2> b.err & B=$!
    exec 3> in  # stdin stays open: the server's Close ends the client
    wait_conns $P 2
    kill -TERM $S; wait $S; echo "serve=$?"
    wait $A; cat a.txt
    wait $B; echo "connect=$?"
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out == "serve=143\nclosed 1001 server stopping\nconnect=0\n");
}

TEST_CASE("ws connect: handshake rejected by http serve (7, status shown), not a WebSocket server (6)", "[ws][connect][exit]") {
  auto r = ws_sh(R"sh(
    mkdir site
    $NT http serve site -p 0 --port-file http.port 2>/dev/null & wait_file http.port
    $NT ws connect ws://127.0.0.1:$(cat http.port)/nothing --send x 2> err.txt; echo "rejected=$?"
    grep -o 'HTTP/1.1 404 Not Found' err.txt
    $PY "$PEERS/hostile.py" server ssh.port --reply "b'SSH-2.0-OpenSSH_9.2\\r\\n'" & wait_file ssh.port
    $NT ws connect ws://127.0.0.1:$(cat ssh.port)/ --send x 2> err.txt; echo "not ws=$? $(grep -o 'not a WebSocket server' err.txt)"
    $NT ws connect ws://127.0.0.1:$(free_port)/ --send x 2> /dev/null; echo "refused=$?"
    $NT ws connect http://127.0.0.1:1/ 2> err.txt; echo "scheme=$? $(grep -o 'only ws:// and wss://' err.txt)"
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out == "rejected=7\nHTTP/1.1 404 Not Found\nnot ws=6 not a WebSocket server\nrefused=4\nscheme=2 only ws:// and wss://\n");
}

TEST_CASE("wss:// with a CA made now (a wrong name is 5) and ws:// through SOCKS5 and HTTP proxies and a Unix socket", "[ws][tls][proxy]") {
  auto r = ws_sh(R"sh(
    make_ca
    ws_serve tls --tls --cert server.pem --key server.key
    P=$(cat tls.port)
    $NT ws connect wss://localhost:$P/ --cacert ca.pem --send secure --count 1; echo "tls=$?"
    $NT ws connect wss://127.0.0.1:$P/ --cacert ca.pem --servername wrong.example --send x 2>/dev/null; echo "wrong name=$?"
    $NT ws connect wss://localhost:$P/ --send x 2>/dev/null; echo "unknown CA=$?"
    ws_serve plain
    Q=$(cat plain.port)
    s=$(free_port); microsocks -i 127.0.0.1 -p $s > /dev/null 2>&1 & wait_listen $s
    $NT ws connect ws://127.0.0.1:$Q/ --proxy socks5://127.0.0.1:$s --send via-socks --count 1; echo "socks=$?"
    t=$(free_port); printf 'Port %s\nListen 127.0.0.1\nAllow 127.0.0.1\nLogLevel Critical\n' $t > tp.conf
    tinyproxy -d -c tp.conf > /dev/null 2>&1 & wait_listen $t
    $NT ws connect ws://127.0.0.1:$Q/ --proxy http://127.0.0.1:$t --send via-http --count 1; echo "http proxy=$?"
    socat UNIX-LISTEN:ws.sock,fork TCP:127.0.0.1:$Q & wait_unix ws.sock
    $NT ws connect ws://localhost/ --unix-socket ws.sock --send via-unix --count 1; echo "unix=$?"
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out == "secure\ntls=0\nwrong name=5\nunknown CA=5\nvia-socks\nsocks=0\nvia-http\nhttp proxy=0\nvia-unix\nunix=0\n");
}

TEST_CASE("ws connect --compress negotiates permessage-deflate with Python websockets", "[ws][connect][compress]") {
  auto r = ws_sh(R"sh(
    ws_py py echo
    P=$(cat py.port)
    $NT ws connect ws://127.0.0.1:$P/ --compress --send "$(seq 1000)" --count 1 | wc -l
    $NT ws connect ws://127.0.0.1:$P/ --send plain --count 1
    grep -o '^EXT [a-z-]*' py.log
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out == "1000\nplain\nEXT permessage-deflate\nEXT -\n");
}

TEST_CASE("ws serve --exec: a process per connection, lines both ways, its env, its exit closes with 1000", "[ws][serve][exec]") {
  auto r = ws_sh(R"sh(
    ws_serve cat --exec cat
    printf 'one\ntwo\nthree\n' | $NT ws connect ws://127.0.0.1:$(cat cat.port)/ --count 3; echo "cat=$?"
    ws_serve env --exec 'echo "$NETTOOL_PATH $NETTOOL_QUERY $NETTOOL_REMOTE_ADDR"; read -r x; echo "got $x"; exit 3'
    $PY "$PEERS/ws_peer.py" client "ws://127.0.0.1:$(cat env.port)/room/7?user=ann" say hello
    # Its output must reach us line by line: tr buffers a pipe, stdbuf -oL does not.
    ws_serve upper --exec "stdbuf -oL tr a-z A-Z"
    wscat -c ws://127.0.0.1:$(cat upper.port)/ -x 'shout' -w 1 < <(sleep 5)
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out == "one\ntwo\nthree\ncat=0\n'/room/7 user=ann 127.0.0.1'\n'got hello'\nclosed 1000 \nSHOUT\n");
}

TEST_CASE("ws serve --stdio: what clients send goes to stdout, stdin lines go to every client", "[ws][serve][stdio]") {
  auto r = ws_sh(R"sh(
    mkfifo in
    $NT ws serve 0 --port-file stdio.port --stdio < in > got.txt 2> stdio.log & S=$!
    exec 3> in
    wait_file stdio.port; P=$(cat stdio.port)
    $PY "$PEERS/ws_peer.py" client ws://127.0.0.1:$P/ listen 1 > a.txt & A=$!
    $PY "$PEERS/ws_peer.py" client ws://127.0.0.1:$P/ listen 1 > b.txt & B=$!
    wait_conns $P 2
    echo 'to everyone' >&3
    wait $A $B; cat a.txt b.txt
    $NT ws connect ws://127.0.0.1:$P/ --send 'to the server' --close-timeout 200ms
    wait_file got.txt; cat got.txt
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out == "'to everyone'\nclosed 1000 \n'to everyone'\nclosed 1000 \nto the server\n");
}

TEST_CASE("ws connect --reconnect: a dropped connection comes back, nothing sent twice", "[ws][connect][reconnect]") {
  auto r = ws_sh(R"sh(
    ws_py py drop-first
    mkfifo in
    $NT ws connect ws://127.0.0.1:$(cat py.port)/ --reconnect --retry-delay 50ms < in > got.txt 2> err.txt & C=$!
    exec 3> in
    echo one >&3
    wait_log py.log DROPPING
    echo two >&3; echo three >&3
    for _ in $(seq 1 200); do [ "$(wc -l < got.txt)" -ge 3 ] && break; sleep 0.05; done
    exec 3>&-
    wait $C; echo "rc=$?"
    cat got.txt
    grep -c 'reconnecting in' err.txt
    ws_py plain drop-first
    echo one | $NT ws connect ws://127.0.0.1:$(cat plain.port)/ --count 2 2> /dev/null; echo "without --reconnect=$?"
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out == "rc=0\none\ntwo\nthree\n1\none\nwithout --reconnect=6\n");
}

TEST_CASE("ws bench: round trips against Python websockets and ws serve, JSON summary, --fail-if", "[ws][bench]") {
  auto r = ws_sh(R"sh(
    ws_py py echo
    $NT ws bench ws://127.0.0.1:$(cat py.port)/ -n 300 -c 3 --size 100 --json > py.json; echo "bench=$?"
    $PY -c 'import json; d=json.load(open("py.json")); print(d["count"], d["errors"], d["bytes"], sorted(d["latency"]))'
    ws_serve srv
    $NT ws bench ws://127.0.0.1:$(cat srv.port)/ -n 2000 -c 4 --binary --fail-if 'errors>0' > text.txt; echo "ours=$?"
    head -1 text.txt | grep -o '^2000 messages'
    # Replies that are not echoes (this server first sends "1".."5") are errors.
    ws_py count count 5
    $NT ws bench ws://127.0.0.1:$(cat count.port)/ -n 20 -c 1 --fail-if 'errors>0' > /dev/null 2> fail.txt; echo "not echo=$?"
    $NT ws bench ws://127.0.0.1:$(free_port)/ -n 3 -c 1 --connect-timeout 1s | grep -o 'errors: connect 3'
    # A server that answers nothing (a chat room of one) cannot hold the run.
    ws_serve room --broadcast
    timeout 10 $NT ws bench ws://127.0.0.1:$(cat room.port)/ --duration 1s --idle-timeout 300ms | grep -o 'errors: reply'
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out == "bench=0\n300 {} 30000 ['max', 'mean', 'min', 'p50', 'p90', 'p99', 'p99.9']\nours=0\n2000 messages\n"
                 "not echo=10\nerrors: connect 3\nerrors: reply\n");
}
