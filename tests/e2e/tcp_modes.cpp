// tcp: server modes (exec, broker, chat, echo, keep-open), scan, wait, and
// reaching the peer (proxies, Unix sockets, --resolve).
#include "harness.hpp"

#include <catch2/catch.hpp>

using nettool::test::sh;

TEST_CASE("listen --exec runs a command per connection with NETTOOL_REMOTE_* set", "[tcp][exec]") {
  auto r = sh(R"sh(
    $NT tcp listen 0 -k --port-file port --exec 'echo "peer $NETTOOL_REMOTE_ADDR port-set=${NETTOOL_REMOTE_PORT:+yes}"; tr a-z A-Z' &
    wait_file port
    echo hello | $NT tcp connect 127.0.0.1 $(cat port)
    echo again | $NT tcp connect 127.0.0.1 $(cat port)
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out == "peer 127.0.0.1 port-set=yes\nHELLO\npeer 127.0.0.1 port-set=yes\nAGAIN\n");
}

TEST_CASE("connect --exec and --exec over TLS", "[tcp][exec][tls]") {
  auto r = sh(R"sh(
    $NT tcp listen 0 --port-file port --echo --tls & wait_file port
    $NT tcp connect 127.0.0.1 $(cat port) --tls --insecure --exec 'echo ping; read reply; echo "got $reply" >&2'
    echo "rc=$?"
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out == "rc=0\n");
  CHECK(r.err.find("got ping") != std::string::npos);
}

TEST_CASE("broker mode relays each client's data to the other clients", "[tcp][broker]") {
  auto r = sh(R"sh(
    $NT tcp listen 0 --broker --port-file port -v 2> broker.log & wait_file port
    p=$(cat port)
    (sleep 3) | $NT tcp connect 127.0.0.1 $p --eof close > c2.out & c2=$!
    (sleep 3) | $NT tcp connect 127.0.0.1 $p --eof close > c3.out & c3=$!
    wait_log broker.log "connection from" 2
    (echo 'hello all'; sleep 1) | $NT tcp connect 127.0.0.1 $p --eof close > c1.out
    wait $c2 $c3
    echo "c1=[$(cat c1.out)] c2=[$(cat c2.out)] c3=[$(cat c3.out)]"
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out == "c1=[] c2=[hello all] c3=[hello all]\n");
}

TEST_CASE("chat mode prefixes lines with the sender's id", "[tcp][broker]") {
  auto r = sh(R"sh(
    $NT tcp listen 0 --chat --port-file port -v 2> chat.log & wait_file port
    p=$(cat port)
    (sleep 2) | $NT tcp connect 127.0.0.1 $p --eof close > c1.out & c1=$!
    wait_log chat.log "connection from" 1
    (echo 'hi there'; sleep 1) | $NT tcp connect 127.0.0.1 $p --eof close > /dev/null
    wait $c1
    grep -c '^<user2> hi there$' c1.out
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out == "1\n");
}

TEST_CASE("listen -k sends stdin to every client and prints what they send", "[tcp]") {
  auto r = sh(R"sh(
    mkfifo in; sleep 30 > in & holder=$!
    $NT tcp listen 0 -k --port-file port -v < in > server.out 2> server.log & wait_file port
    (sleep 2) | $NT tcp connect 127.0.0.1 $(cat port) --eof close > c1.out & c1=$!
    wait_log server.log "connection from" 1
    echo 'to clients' > in
    echo 'from a client' | $NT tcp connect 127.0.0.1 $(cat port) --eof close > /dev/null
    wait $c1
    cat c1.out server.out
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out == "to clients\nfrom a client\n");
}

TEST_CASE("listen -k after stdin ended: a client still gets stdin's data if it came before, a later one is only read and half-closed", "[tcp]") {
  auto r = sh(R"sh(
    mkfifo in early.in; sleep 30 > in & holder=$!
    sleep 30 > early.in & early_holder=$!
    $NT tcp listen 0 -k --port-file port -vv < in > server.out 2> server.log & wait_file port
    $NT tcp connect 127.0.0.1 $(cat port) < early.in > early.out & early=$!
    wait_log server.log "connection from" 1
    echo 'to clients' > in
    kill $holder; wait $holder 2> /dev/null
    wait_log server.log "stdin ended" 1
    # The late client waits for the server's EOF (the default half-close):
    # it comes once the client's own EOF was read.
    echo 'late client' | timeout 5 $NT tcp connect 127.0.0.1 $(cat port); echo "late=$?"
    grep -c 'only read (stdin has ended)' server.log
    kill $early_holder; wait $early; echo "early=$?"
    cat early.out server.out
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out == "late=0\n1\nearly=0\nto clients\nlate client\n");
}

TEST_CASE("tcp scan prints the open ports of a range in order, none open exits 4", "[tcp][scan]") {
  auto r = sh(R"sh(
    $NT tcp listen 0 -k --port-file p1 & $NT tcp listen 0 -k --port-file p2 &
    wait_file p1; wait_file p2
    a=$(cat p1); b=$(cat p2); [ $a -lt $b ] || { t=$a; a=$b; b=$t; }
    $NT tcp scan 127.0.0.1 "$a,$((a+1))-$((a+3)),$b"; echo "rc=$?"
    $NT tcp scan 127.0.0.1 "$a,$b" --json --all | head -1
    closed=$(free_port)
    $NT tcp scan 127.0.0.1 $closed; echo "none=$?"
    echo "expect $a $b"
  )sh");
  REQUIRE(r.rc == 0);
  const auto expect = r.out.substr(r.out.rfind("expect ") + 7);
  const auto a = expect.substr(0, expect.find(' '));
  const auto b = expect.substr(expect.find(' ') + 1, expect.find('\n') - expect.find(' ') - 1);
  CHECK(r.out.find(a + "\n" + b + "\nrc=0\n") == 0);
  CHECK(r.out.find("{\"port\":" + a + ",\"open\":true}\n") != std::string::npos);
  CHECK(r.out.find("none=4\n") != std::string::npos);
}

TEST_CASE("tcp wait: ready runs the command after --, a port that never opens exits 124", "[tcp][wait]") {
  auto r = sh(R"sh(
    port=$(free_port)
    (sleep 0.5; exec $NT tcp listen $port -k) &
    $NT tcp wait 127.0.0.1:$port --interval 100ms -- sh -c 'echo ran; exit 7'; echo "ready=$?"
    closed=$(free_port)
    $NT tcp wait 127.0.0.1:$closed --timeout 700ms --interval 100ms; echo "timeout=$?"
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out == "ran\nready=7\ntimeout=124\n");
  CHECK(r.err.find("not ready after 700.00ms: 127.0.0.1:") != std::string::npos);
}

TEST_CASE("through SOCKS5 (microsocks) and HTTP CONNECT (tinyproxy) proxies", "[tcp][proxy]") {
  auto r = sh(R"sh(
    # Proxies close both ways at the first EOF, so the client keeps its write
    # side open (--eof ignore) and the target closes after answering.
    $NT tcp listen 0 -k --port-file port --exec 'read line; echo "got $line"' & wait_file port
    socks=$(free_port)
    microsocks -i 127.0.0.1 -p $socks > /dev/null 2>&1 & wait_listen $socks
    http=$(free_port)
    printf 'Port %s\nListen 127.0.0.1\nAllow 127.0.0.1\nMaxClients 10\nLogLevel Critical\n' $http > tinyproxy.conf
    tinyproxy -d -c tinyproxy.conf > /dev/null 2>&1 & wait_listen $http
    echo via-socks5 | $NT tcp connect localhost $(cat port) --eof ignore --proxy socks5://127.0.0.1:$socks
    echo via-socks5h | $NT tcp connect 127.0.0.1 $(cat port) --eof ignore --proxy socks5h://127.0.0.1:$socks
    echo via-http | $NT tcp connect 127.0.0.1 $(cat port) --eof ignore --proxy http://127.0.0.1:$http
    closed=$(free_port)
    echo x | $NT tcp connect 127.0.0.1 $closed --proxy socks5://127.0.0.1:$socks; echo "socks-refused=$?"
    echo x | $NT tcp connect 127.0.0.1 $closed --proxy http://127.0.0.1:$http; echo "http-refused=$?"
    $NT tcp connect 127.0.0.1 1 --proxy ftp://x; echo "bad-proxy=$?"
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out == "got via-socks5\ngot via-socks5h\ngot via-http\nsocks-refused=4\nhttp-refused=4\nbad-proxy=2\n");
}

TEST_CASE("Unix sockets with socat on the other end, both directions", "[tcp][unix]") {
  auto r = sh(R"sh(
    socat UNIX-LISTEN:$PWD/up.sock EXEC:'tr a-z A-Z' & wait_unix up.sock
    echo shout | $NT tcp connect --unix up.sock
    $NT tcp listen --unix $PWD/our.sock > got.txt & server=$!
    wait_unix our.sock
    echo 'from socat' | socat - UNIX-CONNECT:$PWD/our.sock
    wait $server; cat got.txt
    [ -e our.sock ] && echo "socket left behind"
    true
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out == "SHOUT\nfrom socat\n");
}

TEST_CASE("resolve pins: pins a name that does not exist in DNS", "[tcp][resolve]") {
  auto r = sh(R"sh(
    $NT tcp listen 0 --echo --port-file port & wait_file port
    echo pinned | $NT tcp connect nowhere.invalid $(cat port) --resolve nowhere.invalid:$(cat port):127.0.0.1
    $NT tcp connect x 1 --resolve garbage; echo "bad=$?"
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out == "pinned\nbad=2\n");
}

TEST_CASE("NETTOOL_* environment fallbacks, the command line wins", "[tcp][env]") {
  auto r = sh(R"sh(
    $NT tcp listen 0 --port-file port < <(sleep 30) > /dev/null & wait_file port
    NETTOOL_IDLE_TIMEOUT=300ms $NT tcp connect 127.0.0.1 $(cat port) < <(sleep 30); echo "env=$?"
    NETTOOL_CONNECT_TIMEOUT=bogus $NT tcp connect 127.0.0.1 1; echo "bad-env=$?"
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out == "env=124\nbad-env=2\n");
}

TEST_CASE("max-conns 1 makes a second client wait until the first is done", "[tcp][server]") {
  auto r = sh(R"sh(
    $NT tcp listen 0 -k --max-conns 1 --port-file port --exec 'echo "served $NETTOOL_REMOTE_PORT"; sleep 1' & wait_file port
    start=$(date +%s%N)
    $NT tcp connect 127.0.0.1 $(cat port) --recv-only > one.txt & first=$!
    $NT tcp connect 127.0.0.1 $(cat port) --recv-only > two.txt
    wait $first
    echo "ms=$(( ($(date +%s%N) - start) / 1000000 )) $(grep -c served one.txt two.txt | tr '\n' ' ')"
  )sh");
  REQUIRE(r.rc == 0);
  const auto ms = std::stoi(r.out.substr(r.out.find("ms=") + 3));
  CHECK(ms >= 1900);  // two one-second sessions, one after the other
  CHECK(r.out.find("one.txt:1 two.txt:1") != std::string::npos);
}

TEST_CASE("SIGTERM stops a server within the 2 s grace even with an idle client connected", "[tcp][server]") {
  auto r = sh(R"sh(
    $NT tcp listen 0 -k --echo --port-file port -v 2> server.log & server=$!
    wait_file port
    $NT tcp connect 127.0.0.1 $(cat port) < <(sleep 30) > /dev/null & client=$!
    wait_log server.log "connection from"
    start=$(date +%s%N)
    kill -TERM $server; wait $server; rc=$?
    echo "rc=$rc ms=$(( ($(date +%s%N) - start) / 1000000 ))"
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out.find("rc=143 ") == 0);
  const auto ms = std::stoi(r.out.substr(r.out.find("ms=") + 3));
  CHECK(ms < 3000);
}

TEST_CASE("verbosity: -q hides the listening notice, -vvv adds a hexdump", "[tcp][log]") {
  auto r = sh(R"sh(
    $NT tcp listen 0 --echo --port-file port -q 2> quiet.log & wait_file port
    echo hi | $NT tcp connect 127.0.0.1 $(cat port) -vvv 2> trace.log
    wait
    echo "quiet=$(wc -c < quiet.log)"
    grep -c '^  > 00000000  68 69 0a ' trace.log
    grep -c '^  < 00000000  68 69 0a ' trace.log
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out == "hi\nquiet=0\n1\n1\n");
}
