// The command line as a whole: help, version, parse errors, docs coverage.
#include "harness.hpp"

#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

using nettool::test::sh;

TEST_CASE("every verb's --help exits 0 and shows an example", "[cli]") {
  auto r = sh(R"sh(
    $NT --list-verbs | while read proto verb; do
      out=$($NT $proto $verb --help) || { echo "help failed: $proto $verb"; continue; }
      echo "$out" | grep -q "^Examples:" || echo "no example: $proto $verb"
      echo "$out" | grep -q "nettool $proto $verb" || echo "example does not use the verb: $proto $verb"
    done
    $NT --help > /dev/null || echo "top help failed"
    $NT > /dev/null 2>&1; echo "no-args=$?"
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out == "no-args=2\n");
}

TEST_CASE("version output names the linked libraries", "[cli]") {
  auto r = sh("$NT --version");
  REQUIRE(r.rc == 0);
  CHECK(r.out.find("nettool ") == 0);
  CHECK(r.out.find("Boost 1.81") != std::string::npos);
  CHECK(r.out.find("OpenSSL 3") != std::string::npos);
}

TEST_CASE("usage errors: one line, exit 2, hints for habits from nc", "[cli]") {
  auto r = sh(R"sh(
    $NT tcp connect -l 80; echo "rc=$?"
    $NT nosuch verb; echo "rc=$?"
    $NT tcp; echo "rc=$?"
    $NT tcp connect host 80 -- extra; echo "rc=$?"
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out == "rc=2\nrc=2\nrc=2\nrc=2\n");
  CHECK(r.err.find("nettool: tcp connect: unknown option '-l' (hint: to accept connections use "
                   "'nettool tcp listen PORT'); see --help\n") != std::string::npos);
  CHECK(r.err.find("unknown protocol 'nosuch'") != std::string::npos);
  CHECK(r.err.find("a verb is required: connect, listen") != std::string::npos);
}

TEST_CASE("every registered verb has a section in its docs page", "[cli][docs]") {
  auto r = sh("$NT --list-verbs");
  REQUIRE(r.rc == 0);
  std::istringstream verbs(r.out);
  std::string protocol, verb;
  int checked = 0;
  while (verbs >> protocol >> verb) {
    std::ifstream doc(std::string(NETTOOL_DOCS) + "/" + protocol + ".md");
    INFO("docs/" << protocol << ".md, verb " << verb);
    REQUIRE(doc.good());
    std::stringstream text;
    text << doc.rdbuf();
    CHECK(text.str().find("\n## `nettool " + protocol + " " + verb) != std::string::npos);
    ++checked;
  }
  CHECK(checked >= 6);
}

TEST_CASE("json output is JSON Lines everywhere: data events for byte streams, ready events for waits, plain numbers",
          "[cli][json]") {
  auto r = sh(R"sh(
    printf 'yo' | $NT tcp listen 0 --json --port-file port > listen.jsonl & L=$!
    wait_file port; P=$(cat port)
    $NT tcp connect 127.0.0.1 $P --json --send $'\xff' > connect.jsonl
    wait $L
    $PY -c '
import json
for f in ("listen.jsonl", "connect.jsonl"):
    print(f, [(e["event"], e.get("data"), e.get("data_base64")) for e in map(json.loads, open(f))])'
    $NT tcp listen 0 --port-file port2 -k --echo & wait_file port2
    $NT tcp wait 127.0.0.1:$(cat port2) --json | $PY -c 'import json,sys; d=json.loads(sys.stdin.read()); print(d["event"], d["target"].startswith("127.0.0.1:"), d["attempts"], type(d["elapsed"]).__name__)'
    $NT http serve -p 0 --port-file port3 2>/dev/null & wait_file port3
    $NT http wait http://127.0.0.1:$(cat port3)/ --json | $PY -c 'import json,sys; d=json.loads(sys.stdin.read()); print(d["event"], d["attempts"])'
    $NT tcp bench 127.0.0.1 $(cat port2) --rr -n 200 --json > bench.json
    grep -cE '[0-9][eE][-+]?[0-9]' bench.json || true
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out ==
        "listen.jsonl [('listening', None, None), ('data', None, '/w==')]\n"
        "connect.jsonl [('data', 'yo', None)]\n"
        "ready True 1 float\nready 1\n0\n");
}

TEST_CASE("habits from nc and curl: the cause is named, a hint follows, exit 2, or the flag just works",
          "[cli][hints]") {
  auto r = sh(R"sh(
    for c in "tcp conect 1 2" "tcp connect -p 8080 host" "tcp connect -q 1 host 80" "http post -sSfL http://x/" \
             "http post http://x/ -S" "http get -O http://x/" "http post --data-raw a http://x/" "http serve 8080" \
             "http get --cert c.pem https://x/" "tcp listen 0 --retries 3"; do
      $NT $c < /dev/null 2> err.txt; echo "$? $(head -1 err.txt | sed 's/ (hint: .*//; s/; see --help//')"
    done
    printf hi | $NT tcp listen 0 --port-file port & wait_file port
    $NT tcp connect 127.0.0.1:$(cat port) < /dev/null; echo " host:port=$?"
    $NT http serve --echo -p 0 --port-file hport 2>/dev/null & wait_file hport
    $NT http get -s -k -m 5s -A agent/1 -X PUT --data-binary x http://127.0.0.1:$(cat hport)/ |
      $PY -c 'import json,sys; d=json.load(sys.stdin); print(d["method"], d["headers"]["user-agent"], d["body"])'
    $NT http get -I http://127.0.0.1:$(cat hport)/ | head -1 | tr -d '\r'
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out ==
        "2 nettool: tcp: unknown verb 'conect' (one of: connect, listen, scan, wait, bench)\n"
        "2 nettool: tcp connect: unknown option '-p'\n"
        "2 nettool: tcp connect: '-q' means --quiet here\n"
        "2 nettool: http post: unknown option '-sSfL'\n"
        "2 nettool: http post: unknown option '-S'\n"
        "2 nettool: http get: unknown option '-O'\n"
        "2 nettool: http post: unknown option '--data-raw'\n"
        "2 nettool: http serve: dir: '8080' is not a directory; the port is -p 8080 (http serve [DIR] -p PORT)\n"
        "2 nettool: http get: --cert needs --key\n"
        "2 nettool: tcp listen: unknown option '--retries'\n"
        "hi host:port=0\n"
        "PUT agent/1 x\n"
        "HTTP/1.1 200 OK\n");
}

TEST_CASE("TLS and assertion errors say what happened: missing files, no TLS on the port, a silent handshake, --fail-if",
          "[cli][errors]") {
  auto r = sh(R"sh(
    $NT tcp listen 0 -k --echo --port-file port 2>/dev/null & wait_file port; P=$(cat port)
    $NT http get --cert /nope.pem --key /nope.key https://127.0.0.1:$P/ 2>&1; echo "rc=$?"
    $NT http get https://127.0.0.1:$P/ 2>&1; echo "rc=$?"
    # A server that accepts and never answers the TLS handshake.
    q=$(free_port); $PY -c 'import socket,time,sys; s=socket.socket(); s.bind(("127.0.0.1",int(sys.argv[1]))); s.listen(); open("ready","w").write("1"); time.sleep(10)' $q &
    wait_file ready
    $NT tcp connect --tls --connect-timeout 1s 127.0.0.1 $q < /dev/null 2>&1; echo "rc=$?"
    $NT tcp bench 127.0.0.1 $P --rr -n 50 --fail-if 'p99<1h' > /dev/null 2> bench.err; echo "rc=$?"
    sed 's/measured [0-9.]*[mu]*s/measured T/' bench.err
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out.find("nettool: http get: file /nope.pem: No such file or directory\nrc=8\n") == 0);
  CHECK(r.out.find("unexpected message: the server does not speak TLS on this port\nrc=5\n") != std::string::npos);
  CHECK(r.out.find("nettool: tcp connect: tls 127.0.0.1:") != std::string::npos);
  CHECK(r.out.find(": no TLS handshake within --connect-timeout 1.00s\nrc=124\n") != std::string::npos);
  CHECK(r.out.find("rc=10\nnettool: tcp bench: fail-if: p99<1h (measured T)\n") != std::string::npos);
}
