// zmq against pyzmq peers (tests/peers/zmq_peer.py), both roles of each
// pattern, and the module only loaded for zmq.
#include "harness.hpp"

#include <catch2/catch.hpp>

#include <regex>

using nettool::test::sh;

TEST_CASE("zmq push/pull: 100 000 messages in order both ways, none lost", "[zmq]") {
  auto r = sh(R"sh(
    p=$(free_port)
    zmq_peer pulled pull tcp://127.0.0.1:$p 100000; peer=$!
    seq 100000 | $NT zmq push --connect tcp://127.0.0.1:$p; echo "push=$?"
    wait $peer
    seq 100000 | sed "s/.*/[b'&']/" | cmp - pulled.out && echo "pyzmq got all, in order"

    p=$(free_port)
    $NT zmq pull --bind tcp://127.0.0.1:$p --count 100000 > ours.txt & ours=$!
    $PY "$PEERS/zmq_peer.py" push tcp://127.0.0.1:$p 100000 2> /dev/null
    wait $ours; echo "pull=$?"
    seq 100000 | cmp - ours.txt && echo "nettool got all, in order"
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out == "push=0\npyzmq got all, in order\npull=0\nnettool got all, in order\n");
}

TEST_CASE("zmq pub --wait-subscribers: two pyzmq subscribers get all 100 000, sub filters topics", "[zmq]") {
  auto r = sh(R"sh(
    p=$(free_port)
    # The publisher binds first; subscribers connect and are counted.
    seq 100000 > lines
    $NT zmq pub --bind tcp://127.0.0.1:$p --wait-subscribers 2 < lines & pub=$!
    sleep 0.3
    zmq_peer s1 sub tcp://127.0.0.1:$p 100000
    zmq_peer s2 sub tcp://127.0.0.1:$p 100000
    wait $pub; echo "pub=$?"
    wait
    for s in s1 s2; do seq 100000 | sed "s/.*/[b'&']/" | cmp - $s.out && echo "$s complete"; done

    p=$(free_port)
    zmq_peer publisher pub tcp://127.0.0.1:$p 1000 1
    $NT zmq sub --connect tcp://127.0.0.1:$p --subscribe 99 --count 11 | tr '\n' ' '; echo
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out == "pub=0\ns1 complete\ns2 complete\n99 990 991 992 993 994 995 996 997 998 999 \n");
}

TEST_CASE("zmq dealer and router with identities, both roles, and pair", "[zmq]") {
  auto r = sh(R"sh(
    p=$(free_port)
    zmq_peer router router tcp://127.0.0.1:$p 1
    $NT zmq dealer --connect tcp://127.0.0.1:$p --identity me --send hello --count 1; echo "dealer=$?"
    wait; cat router.out

    p=$(free_port)
    mkfifo to-router
    $NT zmq router --bind tcp://127.0.0.1:$p --count 2 < to-router > from-router & router=$!
    exec 3> to-router
    zmq_peer dealer dealer tcp://127.0.0.1:$p peer1 hi; dealer=$!
    for _ in $(seq 100); do grep -q hi from-router && break; sleep 0.05; done
    printf 'peer1\tworld\n' >&3
    wait $dealer; exec 3>&-
    wait $router; echo "router=$?"
    cat from-router dealer.out

    p=$(free_port)
    zmq_peer pair pair tcp://127.0.0.1:$p 2
    $NT zmq pair --connect tcp://127.0.0.1:$p --send one --send two --count 2; echo "pair=$?"
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out ==
        "re:hello\ndealer=0\n[b'me', b'hello']\n"
        "router=0\npeer1\thi\npeer1\tbye\n[b'world']\n"
        "one\ntwo\npair=0\n");
}

TEST_CASE("zmq multipart: binary frames to --json, lines split on --frame-sep", "[zmq]") {
  auto r = sh(R"sh(
    p=$(free_port)
    $NT zmq pull --bind tcp://127.0.0.1:$p --count 2 --json > frames.json & ours=$!
    $PY "$PEERS/zmq_peer.py" push tcp://127.0.0.1:$p 2 --multipart 2> /dev/null
    wait $ours; cat frames.json

    p=$(free_port)
    zmq_peer pulled pull tcp://127.0.0.1:$p 2
    printf 'a|b|c\nlast\n' | $NT zmq push --connect tcp://127.0.0.1:$p --multipart --frame-sep '|'
    wait; cat pulled.out
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out ==
        "{\"frames\":[\"k\",\"1\",{\"data_base64\":\"AP8=\"}]}\n"
        "{\"frames\":[\"k\",\"2\",{\"data_base64\":\"AP8=\"}]}\n"
        "[b'a', b'b', b'c']\n[b'last']\n");
}

TEST_CASE("zmq bad input: socket type, endpoint, option give 2, bind in use 8, SIGINT 130", "[zmq]") {
  auto r = sh(R"sh(
    $NT zmq nosuch --bind tcp://127.0.0.1:1; echo "type=$?"
    $NT zmq pull --bind udp://127.0.0.1:5555; echo "endpoint=$?"
    $NT zmq pull --connect tcp://127.0.0.1; echo "port=$?"
    $NT zmq pull --bind tcp://127.0.0.1:0 --nosuch; echo "option=$?"
    $NT zmq pull; echo "no-endpoint=$?"
    p=$(free_port)
    $NT zmq pull --bind tcp://127.0.0.1:$p & first=$!
    sleep 0.3
    $NT zmq pull --bind tcp://127.0.0.1:$p; echo "in-use=$?"
    kill -INT $first; t0=$(date +%s%N); wait $first; echo "sigint=$?"
    echo "stopped_ms=$(( ($(date +%s%N) - t0) / 1000000 ))"
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out.find("type=2\nendpoint=2\nport=2\noption=2\nno-endpoint=2\nin-use=8\nsigint=130\n") == 0);
  CHECK(r.err.find("'udp://127.0.0.1:5555' is not an endpoint") != std::string::npos);
  CHECK(r.err.find("bind tcp://127.0.0.1:") != std::string::npos);
  std::smatch m;
  REQUIRE(std::regex_search(r.out, m, std::regex(R"(stopped_ms=(\d+))")));
  CHECK(std::stoi(m[1]) < 1000);
}

TEST_CASE("zmq is a module: tcp never loads libzmq, zmq does", "[zmq]") {
  auto r = sh(R"sh(
    LD_DEBUG=libs $NT tcp connect 127.0.0.1 $(free_port) 2> tcp.log; echo "tcp=$?"
    grep -c 'libzmq' tcp.log
    LD_DEBUG=libs $NT zmq pull --help > /dev/null 2> zmq.log; echo "zmq=$?"
    grep -q 'calling init: .*libzmq' zmq.log && echo "zmq loads libzmq"
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out == "tcp=4\n0\nzmq=0\nzmq loads libzmq\n");
}

TEST_CASE("zmq req and rep against pyzmq, rep --echo and --exec", "[zmq]") {
  auto r = sh(R"sh(
    p=$(free_port)
    zmq_peer rep rep tcp://127.0.0.1:$p 2
    printf 'one\ntwo\n' | $NT zmq req --connect tcp://127.0.0.1:$p; echo "req=$?"
    wait

    p=$(free_port)
    $NT zmq rep --bind tcp://127.0.0.1:$p --echo --count 2 & rep=$!
    $PY "$PEERS/zmq_peer.py" req tcp://127.0.0.1:$p ping 'two words' 2> /dev/null
    wait $rep; echo "echo=$?"

    p=$(free_port)
    $NT zmq rep --bind tcp://127.0.0.1:$p --exec 'tr a-z A-Z; echo "[$NETTOOL_NOTHING]"' --count 1 & rep=$!
    $PY "$PEERS/zmq_peer.py" req tcp://127.0.0.1:$p hello 2> /dev/null
    wait $rep; echo "exec=$?"
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out ==
        "re:one\nre:two\nreq=0\n"
        "[b'ping']\n[b'two words']\necho=0\n"
        "[b'HELLO\\n[]']\nexec=0\n");
}

TEST_CASE("zmq req: a lost reply is retried on a new socket with --retries, else 124", "[zmq]") {
  auto r = sh(R"sh(
    p=$(free_port)
    zmq_peer lossy lossy-rep tcp://127.0.0.1:$p 1
    $NT zmq req --connect tcp://127.0.0.1:$p --send hello --timeout 500ms --retries 2 -v 2> req.log; echo "retried=$?"
    wait
    grep -c 'no reply within 500.00ms: a new socket' req.log
    grep -c 'request' lossy.err

    p=$(free_port)
    zmq_peer lossy2 lossy-rep tcp://127.0.0.1:$p 1
    t0=$(date +%s%N)
    $NT zmq req --connect tcp://127.0.0.1:$p --send hello --timeout 500ms; echo "no-retries=$?"
    echo "waited_ms=$(( ($(date +%s%N) - t0) / 1000000 ))"
    kill %% 2> /dev/null
  )sh");
  REQUIRE(r.rc == 0);
  std::smatch m;
  CHECK(r.out.find("re:hello\nretried=0\n1\n2\nno-retries=124\n") == 0);
  REQUIRE(std::regex_search(r.out, m, std::regex(R"(waited_ms=(\d+))")));
  CHECK(std::stoi(m[1]) >= 500);
  CHECK(std::stoi(m[1]) < 1500);
}

TEST_CASE("zmq CURVE: keygen, pyzmq server with nettool client and the reverse, a wrong key gets nothing", "[zmq]") {
  auto r = sh(R"sh(
    $NT zmq keygen --write server > keygen.txt; echo "keygen=$?"
    $NT zmq keygen --write other > /dev/null
    stat -c '%a' server.key
    grep -c '^public-key: ' keygen.txt; grep -q '^secret-key' keygen.txt || echo "secret not shown"
    [ "$(head -c 40 server.pub)" = "$(sed -n 's/^public-key: //p' keygen.txt)" ] && echo "public key printed"

    p=$(free_port)
    zmq_peer server curve-rep tcp://127.0.0.1:$p server.key 1
    $NT zmq req --connect tcp://127.0.0.1:$p --curve-serverkey server.pub --send sealed --timeout 5s; echo "client=$?"
    wait

    p=$(free_port)
    $NT zmq rep --bind tcp://127.0.0.1:$p --echo --curve-server --curve-secret-key server.key --count 1 & rep=$!
    $PY "$PEERS/zmq_peer.py" curve-req tcp://127.0.0.1:$p server.pub hello 2> /dev/null
    wait $rep; echo "server=$?"

    p=$(free_port)
    zmq_peer server2 curve-rep tcp://127.0.0.1:$p server.key 1
    $NT zmq req --connect tcp://127.0.0.1:$p --curve-serverkey other.pub --send x --timeout 1s -v 2> wrong.log
    echo "wrong=$?"
    grep -c 'handshake failed (with CURVE: a wrong --curve-serverkey' wrong.log | grep -qv '^0$' && echo "told at -v"
    kill %% 2> /dev/null
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out ==
        "keygen=0\n600\n1\nsecret not shown\npublic key printed\n"
        "re:sealed\nclient=0\n"
        "[b'hello']\nserver=0\n"
        "wrong=124\ntold at -v\n");
}

TEST_CASE("zmq --sockopt sets any libzmq option by name, typed, and refuses unknown ones", "[zmq]") {
  auto r = sh(R"sh(
    p=$(free_port)
    zmq_peer router router tcp://127.0.0.1:$p 1
    $NT zmq dealer --connect tcp://127.0.0.1:$p --sockopt ZMQ_ROUTING_ID=alice --sockopt sndhwm=10 \
      --send hi --count 1; echo "dealer=$?"
    wait; cat router.out
    $NT zmq pull --bind tcp://127.0.0.1:0 --sockopt nosuch=1; echo "unknown=$?"
    $NT zmq pull --bind tcp://127.0.0.1:0 --sockopt rcvhwm=lots; echo "type=$?"
    $NT zmq pull --bind tcp://127.0.0.1:0 --sockopt rcvhwm; echo "form=$?"
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out == "re:hi\ndealer=0\n[b'alice', b'hi']\nunknown=2\ntype=2\nform=2\n");
  CHECK(r.err.find("'nosuch': not a libzmq socket option") != std::string::npos);
  CHECK(r.err.find("rcvhwm takes an integer") != std::string::npos);
}

TEST_CASE("zmq proxy xsub-xpub between pyzmq publishers and subscribers, with --capture", "[zmq]") {
  auto r = sh(R"sh(
    front=$(free_port); back=$(free_port); cap=$(free_port)
    # PUB sockets drop for a slow reader at the high-water mark (the proxy's
    # XPUB and the capture, as with zmq_proxy): --hwm keeps a slow (ASan)
    # run from losing any of the 2000.
    $NT zmq proxy --frontend tcp://127.0.0.1:$front --backend tcp://127.0.0.1:$back \
      --capture tcp://127.0.0.1:$cap --hwm 100000 -v 2> proxy.log & proxy=$!
    wait_listen $cap
    $NT zmq sub --connect tcp://127.0.0.1:$cap --count 2000 > captured.txt & capture=$!
    # The capture subscriber is connected (and its subscription on its way)
    # before anything is published: PUB has no memory for late joiners.
    for _ in $(seq 200); do grep -q "accepted a connection on tcp://127.0.0.1:$cap" proxy.log && break; sleep 0.05; done
    sleep 0.3
    zmq_peer s1 sub tcp://127.0.0.1:$back 2000
    # Each publisher waits until the subscription has come through the proxy.
    zmq_peer p1 pub ">tcp://127.0.0.1:$front" 1000 1
    zmq_peer p2 pub ">tcp://127.0.0.1:$front" 1000 1
    wait $(jobs -p | grep -v "^$proxy$" | grep -v "^$capture$") 2> /dev/null
    wait $capture; echo "capture=$?"
    kill -INT $proxy; wait $proxy; echo "proxy=$?"
    echo "subscriber got $(wc -l < s1.out), each number twice: $(sed "s/\[b'\(.*\)'\]/\1/" s1.out | sort -n | uniq -c | awk '$1 == 2' | wc -l)"
    echo "captured $(grep -c . captured.txt)"
    # Back: the subscription, and an unsubscription if s1's close got there first.
    grep -o 'proxy: 2000 messages forward, [12] back' proxy.log | sed 's/, [12] back//' | tail -1
    $NT zmq proxy --frontend tcp://127.0.0.1:1 --backend tcp://127.0.0.1:2 --type fan; echo "type=$?"
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out ==
        "capture=0\nproxy=130\nsubscriber got 2000, each number twice: 1000\ncaptured 2000\n"
        "proxy: 2000 messages forward\ntype=2\n");
}

TEST_CASE("zmq bench: every pattern in one process, against a remote peer, --json and --fail-if", "[zmq][bench]") {
  auto r = sh(R"sh(
    for p in push-pull pub-sub req-rep; do
      $NT zmq bench --pattern $p -n 20000 --json -v > $p.json 2> $p.log; echo "$p=$?"
      $PY -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["count"], d["pattern"], d["size"], "p99" in d["latency"])' $p.json
      grep -o 'the receiving end got [0-9]* messages' $p.log
    done
    p=$(free_port)
    $NT zmq pull --bind tcp://127.0.0.1:$p --count 5000 > pulled.txt & pull=$!
    $NT zmq bench --connect tcp://127.0.0.1:$p -n 5000 --size 10 --json > remote.json; echo "remote=$?"
    wait $pull; echo "pull=$? lines=$(wc -l < pulled.txt) distinct=$(sort -u pulled.txt)"
    $NT zmq bench --pattern req-rep -n 200 --fail-if 'p99>1us' > /dev/null 2> fail.log; echo "fail-if=$?"
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out ==
        "push-pull=0\n20000 push-pull 64 True\nthe receiving end got 20000 messages\n"
        "pub-sub=0\n20000 pub-sub 64 True\nthe receiving end got 20000 messages\n"
        "req-rep=0\n20000 req-rep 64 True\nthe receiving end got 20000 messages\n"
        "remote=0\npull=0 lines=5000 distinct=xxxxxxxxxx\nfail-if=10\n");
}

TEST_CASE("zmq bench -c: several sending sockets share the plan, in one process and against pyzmq", "[zmq][bench]") {
  auto r = sh(R"sh(
    for p in push-pull pub-sub req-rep; do
      $NT zmq bench --pattern $p -c 3 -n 3000 --json -v > $p.json 2> $p.log; echo "$p=$?"
      $PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["count"])' $p.json
      grep -o -e '3 sending sockets connected' -e 'the receiving end got [0-9]* messages' $p.log
    done
    p=$(free_port)
    zmq_peer rep rep tcp://127.0.0.1:$p 600; rep=$!
    $NT zmq bench --pattern req-rep -c 4 --connect tcp://127.0.0.1:$p -n 600 --json -v > remote.json 2> remote.log
    echo "remote=$?"
    # The peer exits after exactly 600 answers: fewer requests leave it waiting.
    for _ in $(seq 100); do kill -0 $rep 2> /dev/null || break; sleep 0.05; done
    kill -0 $rep 2> /dev/null && echo "pyzmq rep still waiting" || { wait $rep; echo "pyzmq rep answered 600: $?"; }
    $PY -c 'import json; d=json.load(open("remote.json")); print(d["count"], d["latency"]["p50"] > 0)'
    grep -o '4 sending sockets connected' remote.log
    $NT zmq bench -c 2 --bind tcp://127.0.0.1:$(free_port) 2> bind.err; echo "bind=$?"; grep -c -- '-c' bind.err
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out ==
        "push-pull=0\n3000\n3 sending sockets connected\nthe receiving end got 3000 messages\n"
        "pub-sub=0\n3000\n3 sending sockets connected\nthe receiving end got 3000 messages\n"
        "req-rep=0\n3000\n3 sending sockets connected\nthe receiving end got 3000 messages\n"
        "remote=0\npyzmq rep answered 600: 0\n600 True\n4 sending sockets connected\nbind=2\n1\n");
}

TEST_CASE("zmq --binary: stdin in raw chunks arrives byte for byte", "[zmq]") {
  auto r = sh(R"sh(
    head -c 300000 /dev/urandom > blob
    p=$(free_port)
    $NT zmq pull --bind tcp://127.0.0.1:$p --json --count 5 > chunks.json & pull=$!
    $NT zmq push --connect tcp://127.0.0.1:$p --binary < blob; echo "push=$?"
    wait $pull; echo "pull=$?"
    $PY - <<'PY'
import base64, json
data = b""
for line in open("chunks.json"):
    for f in json.loads(line)["frames"]:
        data += f.encode() if isinstance(f, str) else base64.b64decode(f["data_base64"])
print("same" if data == open("blob", "rb").read() else "differs", len(data))
PY
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out == "push=0\npull=0\nsame 300000\n");
}

TEST_CASE("zmq --expect on receiving sockets: 0 at a match, 10 when --count comes first", "[zmq][expect]") {
  auto r = sh(R"sh(
    p=$(free_port)
    $NT zmq pull --bind tcp://127.0.0.1:$p --expect '^5$' > got.txt & pull=$!
    wait_listen $p
    $PY "$PEERS/zmq_peer.py" push tcp://127.0.0.1:$p 10 2> /dev/null
    wait $pull; echo "match=$? last=$(tail -1 got.txt)"
    p=$(free_port)
    $NT zmq pull --bind tcp://127.0.0.1:$p --count 3 --expect nothing-like-this > /dev/null 2> miss.err & pull=$!
    wait_listen $p
    $PY "$PEERS/zmq_peer.py" push tcp://127.0.0.1:$p 3 2> /dev/null
    wait $pull; echo "miss=$?"
    p=$(free_port)
    zmq_peer rep rep tcp://127.0.0.1:$p 2
    $NT zmq req --connect tcp://127.0.0.1:$p --send one --send two --expect 're:two' > /dev/null; echo "req=$?"
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out == "match=0 last=5\nmiss=10\nreq=0\n");
}
