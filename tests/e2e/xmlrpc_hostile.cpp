// xmlrpc under hostile input: bodies built to hurt a parser (truncated, a
// billion laughs, external entities, nesting bombs, 100 MiB), peers that
// stall, drip or vanish, and signals mid-call. Each test asserts the exit
// code or fault, that the server still serves, and a memory bound.
#include "harness.hpp"

#include <catch2/catch.hpp>

using nettool::test::sh;

static const char* const kit = R"sh(
serve() {  # xmlrpc serve in the background: port $P, pid $SP
  $NT xmlrpc serve 0 --port-file nt.port "$@" > nt.out 2> nt.log & SP=$!
  wait_file nt.port; P=$(cat nt.port)
}
post() {  # post FILE: the body of FILE to the server; prints the fault code, or the HTTP status
  rm -f resp.xml  # a stale answer must not pass for this one
  curl -s -o resp.xml -w '%{http_code}' --data-binary @"$1" -H 'Content-Type: text/xml' http://127.0.0.1:$P/RPC2 > status.txt
  if grep -q faultCode resp.xml 2>/dev/null; then
    $PY -c 'import xmlrpc.client,sys
try: xmlrpc.client.loads(open("resp.xml","rb").read())
except xmlrpc.client.Fault as f: print("fault", f.faultCode)'
  else
    echo "http $(cat status.txt)"
  fi
}
still_serves() { $NT xmlrpc call 127.0.0.1:$P echo ok > /dev/null && echo "then ok"; }
evil() {  # evil MODE [ARG]: a lying server, port $EP
  $PY "$PEERS/xmlrpc_peer.py" evil evil.port "$@" 2> evil.log & wait_file evil.port; EP=$(cat evil.port)
  rm evil.port
}
call_msg="<?xml version='1.0'?><methodCall><methodName>echo</methodName><params><param>"
)sh";

TEST_CASE("xmlrpc serve answers hostile bodies with faults and goes on serving", "[xmlrpc][serve][hostile]") {
  auto r = sh(std::string(kit) + R"sh(
    serve
    printf '%s<value><string>cut' "$call_msg" > truncated.xml; post truncated.xml
    $PY -c 'import sys
ents = "".join("<!ENTITY l%d \"%s\">" % (i, ("&l%d;" % (i - 1)) * 10 if i else "lol") for i in range(10))
print("<?xml version=\"1.0\"?><!DOCTYPE z [%s]><methodCall><methodName>echo</methodName><params><param><value>&l9;</value></param></params></methodCall>" % ents)' > laughs.xml
    post laughs.xml
    printf '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><methodCall><methodName>echo</methodName><params><param><value>&x;</value></param></params></methodCall>' > xxe.xml
    post xxe.xml
    printf '%s<value>&x;</value></param></params></methodCall>' "$call_msg" > undeclared.xml; post undeclared.xml
    $PY -c 'n = 200000; print("<methodCall><methodName>echo</methodName><params><param>" + "<value><array><data>" * n + "</data></array></value>" * n + "</param></params></methodCall>")' > nest.xml
    post nest.xml
    printf '%s<value><float>1</float></value></param></params></methodCall>' "$call_msg" > unknown.xml; post unknown.xml
    printf '%s<value><int>99999999999</int></value></param></params></methodCall>' "$call_msg" > range.xml; post range.xml
    printf 'not xml at all' > junk.xml; post junk.xml
    printf '<methodCall><params/></methodCall>' > noname.xml; post noname.xml
    curl -s -o /dev/null -w '%{http_code}\n' http://127.0.0.1:$P/RPC2
    still_serves
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out ==
        "fault -32700\nfault -32700\nfault -32700\nfault -32700\nfault -32600\nfault -32600\nfault -32600\n"
        "fault -32700\nfault -32600\n405\nthen ok\n");
}

TEST_CASE("xmlrpc serve: 100 MiB bodies get a fault at --max-size, memory bounded", "[xmlrpc][serve][hostile][memory]") {
  auto r = sh(std::string(kit) + R"sh(
    serve --max-size 4MiB
    head -c $((100 * 1024 * 1024)) /dev/zero > big.bin
    post big.bin
    # No Content-Length: refused as the chunks pass the limit (a fault, then the connection closes).
    curl -s -o chunked.xml -w '%{http_code}\n' -H 'Transfer-Encoding: chunked' --data-binary @big.bin http://127.0.0.1:$P/RPC2
    grep -q 'larger than --max-size 4194304' chunked.xml || echo "no fault text"
    # Within the limit but built to inflate a DOM: 4 MiB of empty elements.
    $PY -c 'print("<methodCall><methodName>echo</methodName><params>" + "<param><value><nil/></value></param>" * 110000 + "</params></methodCall>")' > many.xml
    ls -l many.xml | awk '{print ($5 < 4194304) ? "under 4MiB" : "over"}'
    post many.xml
    still_serves
    rss_below $SP 120 && echo rss-ok
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out == "fault -32600\n413\nunder 4MiB\nhttp 200\nthen ok\nrss-ok\n");
}

TEST_CASE("xmlrpc serve: a client that drips, stalls or vanishes mid-body holds nothing", "[xmlrpc][serve][hostile]") {
  auto r = sh(std::string(kit) + R"sh(
    serve --body-timeout 1s --header-timeout 1s
    # Drips a body one byte every 0.3 s: cut at --body-timeout.
    $PY -c 'import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"POST /RPC2 HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n")
start = time.time()
try:
    while time.time() - start < 10:
        s.sendall(b"<"); time.sleep(0.3)
        s.settimeout(0.01)
        try:
            if s.recv(100).startswith(b"HTTP/1.1 408"): print("408 after", round(time.time() - start)); break
        except socket.timeout: pass
        s.settimeout(None)
except OSError: print("closed")' $P
    # Half a body, then gone.
    $PY -c 'import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"POST /RPC2 HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n<methodCall>")
s.close()' $P
    # A head never finished.
    $PY -c 'import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"POST /RPC2 HTTP/1.1\r\n"); s.settimeout(5)
t = time.time(); print("cut" if s.recv(100) == b"" and time.time() - t < 3 else "held")' $P
    still_serves
    kill -0 $SP && echo alive
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out == "408 after 1\ncut\nthen ok\nalive\n");
}

TEST_CASE("xmlrpc serve: SIGTERM mid-call ends a running --method and exits 143 within the grace", "[xmlrpc][serve][hostile][signal]") {
  auto r = sh(std::string(kit) + R"sh(
    serve --method slow='sleep 31.25'  # a duration no other test uses: pgrep sees every test's processes
    $NT xmlrpc call 127.0.0.1:$P slow > call.out 2>&1 & C=$!
    for _ in $(seq 1 100); do pgrep -f 'sleep 31.25' > /dev/null && break; sleep 0.05; done
    start=$(date +%s%N)
    kill -TERM $SP; wait $SP; echo "serve rc=$?"
    echo "within $(( ($(date +%s%N) - start) / 1000000 < 3000 ))"
    wait $C; echo "call rc=$?"
    pgrep -f 'sleep 31.25' > /dev/null || echo "no sleep left"
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out.find("serve rc=143\nwithin 1\n") == 0);
  CHECK(r.out.find("no sleep left\n") != std::string::npos);
  CHECK(r.out.find("call rc=0") == std::string::npos);
}

TEST_CASE("xmlrpc call against lying servers: each refused with exit 6 or 7 and a reason", "[xmlrpc][call][hostile]") {
  auto r = sh(std::string(kit) + R"sh(
    for mode in truncated laughs entity undeclared unknown bigint notxml status; do
      evil $mode
      $NT xmlrpc call 127.0.0.1:$EP m 2>&1 | sed "s/$EP/PORT/"; echo "rc=${PIPESTATUS[0]}"
    done
    evil nest 100000
    $NT xmlrpc call 127.0.0.1:$EP m 2>&1 | sed "s/$EP/PORT/"; echo "rc=${PIPESTATUS[0]}"
  )sh");
  REQUIRE(r.rc == 0);
  const std::string where = "nettool: xmlrpc call: response http://127.0.0.1:PORT/RPC2: ";
  CHECK(r.out ==
        where + "not well-formed XML at byte 70: Start-end tags mismatch\nrc=6\n" +
        where + "a DTD (<!DOCTYPE …>) is refused\nrc=6\n" +
        where + "a DTD (<!DOCTYPE …>) is refused\nrc=6\n" +
        where + "'&xxe;' is not a reference XML defines (no DTD is read)\nrc=6\n" +
        where + "unknown type <float>\nrc=6\n" +
        where + "<int> 2147483648 is out of range\nrc=6\n" +
        where + "text outside the root element\nrc=6\n" +
        where + "HTTP 500 Internal Server Error\nrc=7\n" +
        where + "arrays and structs nested deeper than 64\nrc=6\n");
}

TEST_CASE("xmlrpc call: a 100 MiB response is cut at --max-size, a stalled one at --timeout, SIGINT exits 130",
          "[xmlrpc][call][hostile][memory]") {
  auto r = sh(std::string(kit) + R"sh(
    evil huge 100
    $NT xmlrpc call 127.0.0.1:$EP m --max-size 8MiB 2>&1 | sed "s/$EP/PORT/"; echo "rc=${PIPESTATUS[0]}"
    $NT xmlrpc call 127.0.0.1:$EP m > /dev/null 2>&1 & C=$!
    peak=0; while kill -0 $C 2>/dev/null; do kb=$(peak_rss_kb $C 2>/dev/null); [ -n "$kb" ] && peak=$kb; sleep 0.02; done
    wait $C; echo "default rc=$?"
    [ "${NETTOOL_SANITIZED:-0}" = 1 ] || [ "$peak" -lt $((200 * 1024)) ] && echo "rss-ok"
    evil stall
    start=$(date +%s%N)
    $NT xmlrpc call 127.0.0.1:$EP m --timeout 1s 2>&1 | sed "s/$EP/PORT/"; echo "rc=${PIPESTATUS[0]}"
    echo "in time $(( ($(date +%s%N) - start) / 1000000 < 2500 ))"
    $NT xmlrpc call 127.0.0.1:$EP m & C=$!
    wait_conns $EP 1 2>/dev/null || sleep 0.3
    kill -INT $C; wait $C; echo "sigint rc=$?"
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out ==
        "nettool: xmlrpc call: response http://127.0.0.1:PORT/RPC2: the body is larger than --max-size 8388608\nrc=6\n"
        "default rc=6\nrss-ok\n"
        "nettool: xmlrpc call: timeout: --timeout 1.00s reached\nrc=124\nin time 1\n"
        "sigint rc=130\n");
}

TEST_CASE("xmlrpc: a closed --dump stdout ends the dump, not the serving, bad lists print nothing", "[xmlrpc][hostile]") {
  auto r = sh(std::string(kit) + R"sh(
    $NT xmlrpc serve 0 --port-file nt.port --dump 2> nt.log | head -c 10 > head.txt & wait_file nt.port; P=$(cat nt.port)
    for i in 1 2 3; do $NT xmlrpc call 127.0.0.1:$P echo $i; done
    grep -c 'stdout closed: --dump stops' nt.log
    evil badlist
    $NT xmlrpc list 127.0.0.1:$EP > list.out 2>&1; echo "rc=$? $(grep -c '^[ab]$' list.out)"
    $NT xmlrpc serve 0 --method system.listMethods=true 2>&1; echo "rc=$?"
    $NT xmlrpc call 127.0.0.1:$P echo 99999999999999999999 2>&1; echo "rc=$?"
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out ==
        "[1]\n[2]\n[3]\n1\nrc=6 0\n"
        "nettool: xmlrpc serve: --method: 'system.listMethods' is a built-in method; see --help\nrc=2\n"
        "nettool: xmlrpc call: argument: 99999999999999999999 is outside 64-bit integers (i8)\nrc=2\n");
}
