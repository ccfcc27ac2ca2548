// http serve and the http client against hostile peers (tests/peers/hostile.py
// sends raw bytes): smuggling, endless chunk extensions and trailers, slow and
// silent clients, non-regular files, interim responses, stops mid-request.
// Each asserts the exit code, that the server still serves a normal request
// afterwards, and a peak RSS read from /proc (Release builds).
#include "harness.hpp"

#include <catch2/catch.hpp>

using nettool::test::sh;

namespace {

// serve ARGS: nettool http serve on a free port ($P, pid $SP), access log in
// serve.log. attack ARGS: hostile.py client against it. still_serves: a
// normal request afterwards gets its 200.
const std::string kit = R"sh(
  serve() { rm -f port; $NT http serve "$@" -p 0 --port-file port 2> serve.log & SP=$!; wait_file port; P=$(cat port); }
  attack() { $PY "$PEERS/hostile.py" client "$P" "$@"; }
  still_serves() { curl -s -m 10 -o /dev/null -w 'then %{http_code}\n' "http://127.0.0.1:$P/${1:-}"; }
)sh";

}  // namespace

TEST_CASE("a stop closes kept-alive connections between requests at once: exit 143, no grace wasted",
          "[http][serve][hostile][stop]") {
  auto r = sh(kit + R"sh(
    serve --echo
    attack --send 'b"GET /one HTTP/1.1\r\nHost: x\r\n\r\n"' --then 'b"GET /two HTTP/1.1\r\nHost: x\r\n\r\n"' --after 1.5 > client.out &
    CP=$!
    wait_log serve.log '"GET /one"'
    start=$(date +%s%N)
    kill -TERM $SP
    wait $SP; echo "server $?"
    [ $(( ($(date +%s%N) - start) / 1000000 )) -lt 1000 ] && echo "stopped within 1 s"
    wait $CP; cat client.out
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out == "server 143\nstopped within 1 s\nHTTP/1.1 200 OK\nclosed after 0 s\n");
}

TEST_CASE("a stop while a client is mid-body: the body is read and answered within the grace", "[http][serve][hostile][stop]") {
  auto r = sh(kit + R"sh(
    serve --echo
    attack --send 'b"POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n01234"' --then 'b"56789"' --after 1 > client.out &
    CP=$!
    wait_conns $P 1
    sleep 0.2  # the head and half the body have been read
    kill -INT $SP
    wait $SP; echo "server $?"
    wait $CP; cat client.out
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out == "server 130\nHTTP/1.1 200 OK\nclosed after 1 s\n");
}

TEST_CASE("FIFOs and sockets in the served directory answer 403 and never block the server",
          "[http][serve][hostile]") {
  auto r = sh(kit + R"sh(
    mkdir www && printf 'ok\n' > www/a.txt && mkfifo www/fifo
    $PY -c 'import socket; socket.socket(socket.AF_UNIX).bind("www/sock")'
    serve www
    for f in fifo sock fifo; do curl -s -m 5 -o /dev/null -w "$f %{http_code}\n" http://127.0.0.1:$P/$f; done
    still_serves a.txt
    curl -s -m 5 -H 'Accept: application/json' http://127.0.0.1:$P/ | $PY -c 'import json,sys; print(sorted(e["name"] for e in json.load(sys.stdin)))'
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out == "fifo 403\nsock 403\nfifo 403\nthen 200\n['a.txt', 'fifo', 'sock']\n");
}

TEST_CASE("request smuggling: a Transfer-Encoding not ending in chunked, or with Content-Length, is 400 and closed",
          "[http][serve][hostile][smuggling]") {
  auto r = sh(kit + R"sh(
    mkdir www && printf 'ok\n' > www/a.txt
    for mode in --echo www; do
      serve $mode
      for te in identity gzip 'chunked, identity' xchunked 'chunked'; do
        attack --send "b'POST /a.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: $te\r\nContent-Length: 5\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n'" | tr '\n' ' '
        echo
      done
      attack --send "b'POST /a.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n'" | tr '\n' ' '
      echo
      still_serves a.txt
      grep -c smuggled serve.log
      kill $SP; wait $SP || true
    done
  )sh");
  REQUIRE(r.rc == 0);
  const std::string each =
      "HTTP/1.1 400 Bad Request closed after 0 s \n"
      "HTTP/1.1 400 Bad Request closed after 0 s \n"
      "HTTP/1.1 400 Bad Request closed after 0 s \n"
      "HTTP/1.1 400 Bad Request closed after 0 s \n"
      "HTTP/1.1 400 Bad Request closed after 0 s \n"
      "HTTP/1.1 400 Bad Request closed after 0 s \n"
      "then 200\n0\n";
  CHECK(r.out == each + each);
}

TEST_CASE("endless chunk extensions and trailers are cut off with bounded memory", "[http][serve][hostile][memory]") {
  auto r = sh(kit + R"sh(
    mkdir www && printf 'ok\n' > www/a.txt
    for mode in www --echo; do
      # --max-body 256KiB: the one-byte chunks reach it after 1.5 MiB on the
      # wire, not the default's 6 MiB, which takes an ASan build most of a
      # second to parse on a slow day (the close is timed in whole seconds).
      serve $mode --max-body 256KiB
      attack --send 'b"GET /a.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5;"' --flood 'b"a"' --mib 64
      attack --send 'b"POST /a.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n"' --flood 'b"X-T: y\r\n"' --mib 64
      attack --send 'b"POST /a.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"' --flood 'b"1\r\nx\r\n"' --mib 64
      still_serves a.txt
      rss_below $SP 40 && echo rss-ok
      kill $SP; wait $SP || true
    done
  )sh");
  REQUIRE(r.rc == 0);
  const std::string each =
      "flood stopped early\nHTTP/1.1 400 Bad Request\nclosed after 0 s\n"
      "flood stopped early\nHTTP/1.1 400 Bad Request\nclosed after 0 s\n"
      "flood stopped early\nHTTP/1.1 413 Payload Too Large\nclosed after 0 s\n"
      "then 200\nrss-ok\n";
  CHECK(r.out == each + each);
}

TEST_CASE("a dripping body and a client that never reads are cut at their deadlines, freeing the slot",
          "[http][serve][hostile][deadline]") {
  auto r = sh(kit + R"sh(
    mkdir www && printf 'ok\n' > www/a.txt && head -c 64M /dev/zero > www/big
    serve www --max-conns 1 --body-timeout 2s --send-timeout 2s
    attack --send 'b"POST /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n"' --drip 'b"x" * 100' --every 0.5
    still_serves a.txt
    attack --send 'b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n"' --no-read 8 &
    wait_conns $P 1
    start=$(date +%s)
    still_serves a.txt
    [ $(( $(date +%s) - start )) -le 5 ] && echo waited-ok
    grep -c 'no progress' serve.log
    rss_below $SP 40 && echo rss-ok
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out == "HTTP/1.1 408 Request Timeout\nclosed after 2 s\nthen 200\nthen 200\nwaited-ok\n1\nrss-ok\n");
}

TEST_CASE("malformed Range headers are ignored: the whole file, never the wrong bytes", "[http][serve][hostile][range]") {
  auto r = sh(kit + R"sh(
    mkdir www && printf '0123456789' > www/n.txt
    serve www
    for h in 'bytes= 0-5' 'bytes=1-2-3' 'bytes=5-2' 'bytes=abc' 'bytes=0-1,3-4' 'bytes=-0' 'Bytes=8-'; do
      curl -s -H "Range: $h" -w " %{http_code}\n" http://127.0.0.1:$P/n.txt
    done
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out ==
        "012345 206\n0123456789 200\n0123456789 200\n0123456789 200\n0123456789 200\n"
        "416 Range Not Satisfiable\n 416\n89 206\n");
}

TEST_CASE("the listing shows symlinks as links, never their targets' size or time", "[http][serve][hostile][listing]") {
  auto r = sh(kit + R"sh(
    mkdir www && head -c 12345 /dev/zero > outside.bin && ln -s ../outside.bin www/link && printf 'x' > www/f
    serve www
    curl -s -H 'Accept: application/json' http://127.0.0.1:$P/ | $PY -c '
import json, sys
for e in json.load(sys.stdin): print(e["name"], e["type"], e["size"] != 12345)'
    curl -s http://127.0.0.1:$P/ | grep -c 12345
    curl -s -o /dev/null -w '%{http_code}\n' http://127.0.0.1:$P/link
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out == "f file True\nlink symlink True\n0\n403\n");
}

TEST_CASE("echo mode keeps its JSON valid UTF-8 whatever bytes the request carries", "[http][serve][hostile][echo]") {
  auto r = sh(kit + R"sh(
    serve --echo
    $PY - "$P" <<'PY'
import base64, json, socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"GET /caf\xc3\xa9/\xff\xfe?q=\xff HTTP/1.1\r\nHost: x\r\nX-Bin: a\xffb\r\nX-Ok: d\xc3\xa9j\xc3\xa0\r\nConnection: close\r\n\r\n")
data = b""
while True:
    chunk = s.recv(65536)
    if not chunk:
        break
    data += chunk
body = json.loads(data.split(b"\r\n\r\n", 1)[1].decode("utf-8", "strict"))
print(base64.b64decode(body["path_base64"]), base64.b64decode(body["query_base64"]))
print(base64.b64decode(body["headers"]["x-bin"]["data_base64"]), body["headers"]["x-ok"])
PY
    still_serves
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out == "b'/caf\\xc3\\xa9/\\xff\\xfe' b'q=\\xff'\nb'a\\xffb' d\xC3\xA9j\xC3\xA0\nthen 200\n");
}

// The client against hostile servers: hostile.py server answers every
// request head with the same bytes.
namespace {

const std::string server_kit = R"sh(
  bad_server() { rm -f sport; $PY "$PEERS/hostile.py" server sport "$@" & wait_file sport; S=$(cat sport); }
)sh";

}  // namespace

TEST_CASE("interim responses (100, 103) are skipped: the real status and body count, -i shows them all",
          "[http][client][hostile]") {
  auto r = sh(server_kit + R"sh(
    bad_server --reply 'b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\nHTTP/1.1 500 Oops\r\nContent-Length: 5\r\n\r\nreal\n"'
    $NT http get http://127.0.0.1:$S/a http://127.0.0.1:$S/b; echo "rc=$?"
    $NT http get --fail http://127.0.0.1:$S/; echo "fail rc=$?"
    $NT http get -i http://127.0.0.1:$S/ | tr -d '\r' | grep -E '^HTTP|^real'
    $NT http get --json http://127.0.0.1:$S/ | $PY -c 'import json,sys; d=json.load(sys.stdin); print(d["status"], d["body"].strip())'
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out ==
        "real\nreal\nrc=0\nfail rc=7\nHTTP/1.1 100 Continue\nHTTP/1.1 103 Early Hints\nHTTP/1.1 500 Oops\nreal\n"
        "500 real\n");
}

TEST_CASE("a port above 65535 or 0 in a URL is a usage error, never another port", "[http][client][hostile]") {
  auto r = sh(R"sh(
    for v in get wait bench; do
      for u in http://127.0.0.1:99999/ http://127.0.0.1:65536/ http://127.0.0.1:0/; do
        timeout 10 $NT http $v $u -n 1 2>/dev/null >/dev/null; echo -n "$? "
      done
    done
    echo
    $NT http get http://127.0.0.1:99999/ 2>&1 | head -1
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out.starts_with("2 2 2 2 2 2 2 2 2 \n"));
  CHECK(r.out.find("'99999' is not between 1 and 65535") != std::string::npos);
}

TEST_CASE("a response sent before the upload finished is read and printed, not 'Broken pipe'",
          "[http][client][hostile]") {
  auto r = sh(R"sh(
    head -c 8M /dev/urandom > big.bin
    $NT http serve --echo --max-body 1KiB -p 0 --port-file port 2> serve.log & wait_file port
    $NT http post http://127.0.0.1:$(cat port)/up -d @big.bin; echo "rc=$?"
    $NT http post --fail http://127.0.0.1:$(cat port)/up -d @big.bin; echo "fail rc=$?"
    $PY "$PEERS/hostile.py" server sport --reply 'b"HTTP/1.1 413 Payload Too Large\r\nContent-Length: 8\r\nConnection: close\r\n\r\ntoo big\n"' --linger 0.5 &
    wait_file sport
    $NT http post http://127.0.0.1:$(cat sport)/up -d @big.bin; echo "rc=$?"
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out == "413 Payload Too Large\nrc=0\nfail rc=7\ntoo big\nrc=0\n");
}

TEST_CASE("redirects to other schemes or broken Locations are protocol errors (6), with no name lookup",
          "[http][client][hostile][redirect]") {
  auto r = sh(server_kit + R"sh(
    for loc in 'javascript:alert(1)' 'data:text/plain,hi' 'ftp://127.0.0.1/x' 'file:///etc/passwd' 'http://127.0.0.1:99999/' "http://$(head -c 20000 /dev/zero | tr '\0' a)/"; do
      bad_server --reply "b'HTTP/1.1 302 Found\r\nLocation: $loc\r\nContent-Length: 0\r\n\r\n'"
      $NT http get -L http://127.0.0.1:$S/ 2> err.txt; echo -n "$? "
      grep -q 'redirect' err.txt && ! grep -qi 'resolve' err.txt && echo -n "said "
      kill %1; wait %1 2>/dev/null
    done
    echo
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out == "6 said 6 said 6 said 6 said 6 said 6 said \n");
}

TEST_CASE("endless chunk extensions and trailers from a server: exit 6 with bounded memory", "[http][client][hostile][memory]") {
  auto r = sh(server_kit + R"sh(
    bad_server --reply 'b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;"' --endless 'b"a"'
    /usr/bin/time -f '%M' -o ext.rss $NT http get http://127.0.0.1:$S/ > /dev/null 2> ext.err; echo "ext rc=$?"
    kill %1; wait %1 2>/dev/null
    bad_server --reply 'b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n"' --endless 'b"X-T: y\r\n"'
    /usr/bin/time -f '%M' -o trailer.rss $NT http get http://127.0.0.1:$S/ > /dev/null 2> trailer.err; echo "trailer rc=$?"
    grep -h 'chunk header or trailer section' ext.err trailer.err | wc -l
    if [ "${NETTOOL_SANITIZED:-0}" = 1 ] || { [ "$(tail -1 ext.rss)" -lt 30000 ] && [ "$(tail -1 trailer.rss)" -lt 30000 ]; }; then
      echo rss-ok
    fi
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out == "ext rc=6\ntrailer rc=6\n2\nrss-ok\n");
}

TEST_CASE("a user without a password sends USER: (RFC 7617), -L -i shows every hop, --json -o keeps the body in the file",
          "[http][client][hostile]") {
  auto r = sh(server_kit + R"sh(
    $NT http serve --echo -p 0 --port-file port 2> serve.log & wait_file port; P=$(cat port)
    $NT http get -u alice http://127.0.0.1:$P/ | $PY -c 'import json,sys; print(json.load(sys.stdin)["headers"]["authorization"])'
    bad_server --reply "b'HTTP/1.1 301 Moved\r\nLocation: http://127.0.0.1:$P/there\r\nContent-Length: 0\r\n\r\n'"
    $NT http get -L -i http://127.0.0.1:$S/ | tr -d '\r' | grep -E '^HTTP|"path"' | sed 's/,"query.*//'
    $NT http get --json -o got.json http://127.0.0.1:$P/x | $PY -c 'import json,sys; d=json.load(sys.stdin); print(d["status"], "body" in d, d["body_file"], d["body_size"] > 0)'
    $PY -c 'import json; print(json.load(open("got.json"))["path"])'
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out ==
        "Basic YWxpY2U6\nHTTP/1.1 301 Moved\nHTTP/1.1 200 OK\n{\"method\":\"GET\",\"path\":\"/there\"\n"
        "200 False got.json True\n/x\n");
}

TEST_CASE("a server sending interim (1xx) heads without end: exit 6 at once, bounded memory", "[http][client][hostile][memory]") {
  auto r = sh(server_kit + R"sh(
    bad_server --reply 'b"HTTP/1.1 100 Continue\r\n\r\n"' --endless 'b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n"'
    /usr/bin/time -f '%M' -o rss.txt $NT http get --timeout 10s http://127.0.0.1:$S/ 2> err.txt; echo "rc=$?"
    grep -o 'more than 16 interim (1xx) responses' err.txt
    if [ "${NETTOOL_SANITIZED:-0}" = 1 ] || [ "$(tail -1 rss.txt)" -lt 30000 ]; then echo rss-ok; fi
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out == "rc=6\nmore than 16 interim (1xx) responses\nrss-ok\n");
}
