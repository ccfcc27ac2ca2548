// http serve checked by curl (and nettool's own client where noted).
#include "harness.hpp"

#include <catch2/catch.hpp>

#include <regex>

using nettool::test::sh;

namespace {

// serve ARGS: nettool http serve on a free port, set in $P; the access log
// goes to serve.log.
const std::string start_server = R"sh(
  serve() { $NT http serve "$@" -p 0 --port-file port 2> serve.log & wait_file port; P=$(cat port); }
)sh";

}  // namespace

TEST_CASE("static files: listing, MIME types, HEAD, keep-alive, index.html", "[http][serve]") {
  auto r = sh(start_server + R"sh(
    mkdir -p www/sub www/site
    printf 'hello\n' > www/a.txt; printf 'body{}' > www/s.css; printf '{}' > www/d.json
    printf 'x' > www/p.png; printf 'x' > www/noext; printf '<p>site</p>\n' > www/site/index.html
    printf 'x' > 'www/we<ird>&.txt'
    serve www
    for f in a.txt s.css d.json p.png noext; do curl -s -o /dev/null -w "$f %{content_type}\n" http://127.0.0.1:$P/$f; done
    curl -s http://127.0.0.1:$P/ | grep -c '<a href="we%3Cird%3E%26.txt">we&lt;ird&gt;&amp;.txt</a>'
    curl -s -H 'Accept: application/json' http://127.0.0.1:$P/ | $PY -c 'import json,sys; print([(e["name"], e["type"]) for e in json.load(sys.stdin)])'
    curl -s -I http://127.0.0.1:$P/a.txt | tr -d '\r' | grep -E '^(HTTP|Content-Length|ETag|Last-Modified)' | sed 's/: .*/:/'
    curl -s -o /dev/null -w '%{http_code} %header{location}\n' http://127.0.0.1:$P/site
    curl -s http://127.0.0.1:$P/site/
    curl -sv http://127.0.0.1:$P/a.txt http://127.0.0.1:$P/d.json -o /dev/null -o /dev/null 2>&1 | grep -ci 're-using existing connection'
    curl -s -o /dev/null -w '%{http_code}\n' -X POST http://127.0.0.1:$P/a.txt
    wait_log serve.log '"GET /a.txt" 200 6 ' 2 && grep -c '"GET /a.txt" 200 6 ' serve.log
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out ==
        "a.txt text/plain; charset=utf-8\ns.css text/css; charset=utf-8\nd.json application/json\n"
        "p.png image/png\nnoext application/octet-stream\n"
        "1\n"
        "[('a.txt', 'file'), ('d.json', 'file'), ('noext', 'file'), ('p.png', 'file'), ('s.css', 'file'), "
        "('site', 'directory'), ('sub', 'directory'), ('we<ird>&.txt', 'file')]\n"
        "HTTP/1.1 200 OK\nETag:\nLast-Modified:\nContent-Length:\n"
        "301 /site/\n<p>site</p>\n1\n405\n2\n");
}

TEST_CASE("ranges 206 and 416, validators 304, 200 concurrent clients", "[http][serve]") {
  auto r = sh(start_server + R"sh(
    mkdir www && printf '0123456789' > www/n.txt && head -c 100000 /dev/urandom > www/r.bin
    serve www
    u=http://127.0.0.1:$P/n.txt
    curl -s -r 2-4 -w ' %{http_code} %header{content-range}\n' $u
    curl -s -r 7- -w ' %{http_code}\n' $u
    curl -s -r -3 -w ' %{http_code}\n' $u
    curl -s -r 20-30 -o /dev/null -w '%{http_code} %header{content-range}\n' $u
    etag=$(curl -sI $u | tr -d '\r' | sed -n 's/^ETag: //p')
    lm=$(curl -sI $u | tr -d '\r' | sed -n 's/^Last-Modified: //p')
    curl -s -o /dev/null -w '%{http_code}\n' -H "If-None-Match: $etag" $u
    curl -s -o /dev/null -w '%{http_code}\n' -H 'If-None-Match: "other"' $u
    curl -s -o /dev/null -w '%{http_code}\n' -H "If-Modified-Since: $lm" $u
    curl -s -o /dev/null -w '%{http_code}\n' -H 'If-Modified-Since: Mon, 01 Jan 2001 00:00:00 GMT' $u
    seq 1 200 | xargs -P 50 -I{} curl -s -o got{}.bin http://127.0.0.1:$P/r.bin
    ok=0; for i in $(seq 1 200); do cmp -s got$i.bin www/r.bin && ok=$((ok+1)); done; echo "same=$ok"
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out ==
        "234 206 bytes 2-4/10\n789 206\n789 206\n416 bytes */10\n"
        "304\n200\n304\n200\nsame=200\n");
}

TEST_CASE("nothing outside DIR is ever served: a traversal corpus", "[http][serve][security]") {
  auto r = sh(start_server + R"sh(
    mkdir -p www/inner && printf 'public\n' > www/inner/ok.txt
    printf 'TOP-SECRET\n' > secret.txt
    ln -s ../secret.txt www/link-out
    ln -s "$PWD" www/dir-out
    ln -s inner/ok.txt www/link-in
    serve www
    escapes=0; total=0
    for path in '/../secret.txt' '/../../../../etc/passwd' '/inner/../../secret.txt' '/%2e%2e/secret.txt' \
        '/%2E%2E/secret.txt' '/.%2e/secret.txt' '/%2e./secret.txt' '/inner/%2e%2e/%2e%2e/secret.txt' \
        '/..%2fsecret.txt' '/..%2Fsecret.txt' '/inner%2f..%2f..%2fsecret.txt' '/..%5csecret.txt' '/..\secret.txt' \
        '/%252e%252e/secret.txt' '/link-out' '/dir-out/secret.txt' '/dir-out/' '/./secret.txt' \
        '/inner/./../../secret.txt' '//secret.txt' '/%00/../secret.txt' '/inner/..;/..;/secret.txt' \
        '/secret.txt%00.txt' '/.../secret.txt' '/%c0%ae%c0%ae/secret.txt'; do
      total=$((total+1))
      curl -s --path-as-is "http://127.0.0.1:$P$path" > out.txt
      if grep -q -e TOP-SECRET -e 'root:' out.txt; then escapes=$((escapes+1)); echo "ESCAPE: $path"; fi
    done
    # Absolute-form target, sent raw.
    printf "GET http://127.0.0.1:$P/../secret.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" | nc -N 127.0.0.1 $P > abs.txt
    grep -q TOP-SECRET abs.txt && escapes=$((escapes+1))
    head -1 abs.txt | tr -d '\r'
    echo "paths=$total escapes=$escapes"
    curl -s http://127.0.0.1:$P/link-in
    curl -s -o /dev/null -w '%{http_code}\n' http://127.0.0.1:$P/link-out
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out == "HTTP/1.1 400 Bad Request\npaths=25 escapes=0\npublic\n403\n");
}

TEST_CASE("limits: oversized head 431, too many fields 431, big body 413, slow sender cut off", "[http][serve][limits]") {
  auto r = sh(start_server + R"sh(
    mkdir www && printf 'ok\n' > www/ok.txt
    serve www --header-timeout 700ms --max-body 1KiB --echo
    big=$(head -c 20000 /dev/zero | tr '\0' a)
    curl -s -o /dev/null -w '%{http_code}\n' -H "X-Big: $big" http://127.0.0.1:$P/ok.txt
    args=(); for i in $(seq 1 120); do args+=(-H "X-F$i: v"); done
    curl -s -o /dev/null -w '%{http_code}\n' "${args[@]}" http://127.0.0.1:$P/ok.txt
    head -c 5000 /dev/zero | curl -s -o /dev/null -w '%{http_code}\n' --data-binary @- http://127.0.0.1:$P/
    curl -s -o /dev/null -w '%{http_code}\n' -d small http://127.0.0.1:$P/
    # A client that sends half a head and stalls is disconnected.
    $PY -c '
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
start = time.monotonic()
s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
s.settimeout(10)
print("closed" if s.recv(100) == b"" else "answered", end=" ")
print("cut_ms=%d" % ((time.monotonic() - start) * 1000))' $P
    # ... while the server keeps serving others.
    curl -s -o /dev/null -w '%{http_code}\n' http://127.0.0.1:$P/after
  )sh");
  REQUIRE(r.rc == 0);
  std::smatch m;
  REQUIRE(std::regex_search(r.out, m, std::regex(R"(cut_ms=(\d+))")));
  CHECK(std::stoi(m[1]) >= 650);
  CHECK(std::stoi(m[1]) < 3000);
  CHECK(std::regex_replace(r.out, std::regex(R"(cut_ms=\d+\n)"), "") == "431\n431\n413\n200\nclosed 200\n");
}

TEST_CASE("echo mode describes the request, -F uploads included", "[http][serve][echo]") {
  auto r = sh(start_server + R"sh(
    serve --echo --max-body 10MiB
    curl -s -X PUT "http://127.0.0.1:$P/p/q?x=1&y=2" -H 'X-Test: yes' -d 'hello' |
      $PY -c 'import json,sys; d=json.load(sys.stdin); print(d["method"], d["path"], d["query"], d["headers"]["x-test"], d["body"])'
    printf '\377\376' | curl -s --data-binary @- http://127.0.0.1:$P/ | $PY -c 'import json,sys; print(json.load(sys.stdin)["body_base64"])'
    head -c 300000 /dev/urandom > up.bin
    $NT http post http://127.0.0.1:$P/up -F note=hi -F file=@up.bin | $PY -c '
import json, sys, email.parser, email.policy, hashlib
d = json.load(sys.stdin)
raw = d["body"].encode("utf-8", "surrogateescape") if "body" in d else __import__("base64").b64decode(d["body_base64"])
msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
    b"Content-Type: " + d["headers"]["content-type"].encode() + b"\r\n\r\n" + raw)
for part in msg.iter_parts():
    data = part.get_payload(decode=True)
    print(part.get_param("name", header="content-disposition"), part.get_filename(), len(data), hashlib.sha256(data).hexdigest())'
    sha up.bin
  )sh");
  REQUIRE(r.rc == 0);
  std::smatch m;
  REQUIRE(std::regex_search(r.out, m, std::regex(R"(file up\.bin 300000 ([0-9a-f]{64})\n([0-9a-f]{64})\n$)")));
  CHECK(m[1] == m[2]);
  CHECK(r.out.find("PUT /p/q x=1&y=2 yes hello\n//4=\nnote None 2 ") == 0);
}

TEST_CASE("mock mode: status, body, headers, delay, and TLS", "[http][serve][mock]") {
  auto r = sh(start_server + R"sh(
    serve --status 503 --body 'down' -H 'Retry-After: 1' -H 'X-Mock: yes' --delay 200ms
    start=$(date +%s%N)
    curl -s -i http://127.0.0.1:$P/anything | tr -d '\r' | grep -E '^(HTTP|Retry-After|X-Mock|down)'
    echo "delayed=$(( ($(date +%s%N) - start) / 1000000 >= 200 ))"
    $NT http get --fail http://127.0.0.1:$P/; echo "fail=$?"
    kill %1
    make_ca
    printf 'payload' > body.txt
    $NT http serve -p 0 --port-file tls.port --tls --cert server.pem --key server.key --body @body.txt 2> tls.log & wait_file tls.port
    curl -s --cacert ca.pem https://localhost:$(cat tls.port)/; echo
    $NT http get --cacert ca.pem https://127.0.0.1:$(cat tls.port)/; echo
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out ==
        "HTTP/1.1 503 Service Unavailable\nRetry-After: 1\nX-Mock: yes\ndown\ndelayed=1\nfail=7\npayload\npayload\n");
}

// --threads: connections spread over event loops on threads of their own,
// each with its own copy of the server (idle set, Date cache).
TEST_CASE("http serve --threads 4: 600 concurrent requests, files, ranges and 304s right on every loop, one log line each",
          "[http][serve][threads]") {
  auto r = sh(start_server + R"sh(
    mkdir www && head -c 300000 /dev/urandom > www/r.bin && printf '0123456789' > www/n.txt
    serve www --threads 4
    SP=$!
    echo "threads=$(ls /proc/$SP/task | wc -l)"
    u=http://127.0.0.1:$P
    etag=$(curl -sI $u/n.txt | tr -d '\r' | sed -n 's/^ETag: //p')
    seq 1 400 | xargs -P 64 -I{} curl -s -o got{}.bin $u/r.bin
    seq 1 100 | xargs -P 32 -I{} sh -c "curl -s -r 3-5 $u/n.txt > range{}.txt"
    seq 1 100 | xargs -P 32 -I{} sh -c "curl -s -o /dev/null -w '%{http_code}' -H 'If-None-Match: $etag' $u/n.txt > nm{}.txt"
    ok=0; for i in $(seq 1 400); do cmp -s got$i.bin www/r.bin && ok=$((ok+1)); done; echo "files=$ok"
    echo "ranges=$(cat range*.txt | grep -o 345 | wc -l) not_modified=$(cat nm*.txt | grep -o 304 | wc -l)"
    # Every loop sent files: each thread's own write count (/proc/PID/task/TID/io).
    busy=0; for t in /proc/$SP/task/*; do
      [ "$(awk '/^wchar:/ {print $2}' $t/io)" -gt 3000000 ] && busy=$((busy+1))
    done; echo "loops that sent files=$busy"
    wait_log serve.log '"GET ' 600
    echo "log lines=$(grep -cE '"(GET|HEAD) ' serve.log) 200=$(grep -c '"GET /r.bin" 200 300000 ' serve.log) 206=$(grep -c '"GET /n.txt" 206 3 ' serve.log) 304=$(grep -c '"GET /n.txt" 304 0 ' serve.log)"
    curl -s -o /dev/null -w 'then %{http_code}\n' $u/n.txt
    rss_below $SP 64 && echo "rss bounded"
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out ==
        "threads=4\nfiles=400\nranges=100 not_modified=100\nloops that sent files=4\n"
        "log lines=601 200=400 206=100 304=100\nthen 200\nrss bounded\n");
}

TEST_CASE("http serve --threads 2: a stop lets transfers on both loops finish within the grace, cuts the one that cannot",
          "[http][serve][threads][stop]") {
  auto r = sh(start_server + R"sh(
    mkdir www && head -c 20000000 /dev/urandom > www/big.bin
    serve www --threads 2
    SP=$!
    for i in 1 2 3 4; do curl -s --limit-rate 20M -o got$i.bin http://127.0.0.1:$P/big.bin & done
    curl -s --limit-rate 200K -o slow.bin http://127.0.0.1:$P/big.bin & SLOW=$!
    wait_conns $P 5
    sleep 0.3
    start=$(date +%s%N)
    kill -TERM $SP
    wait $SP; echo "server $?"
    took=$(( ($(date +%s%N) - start) / 1000000 ))
    # The slow client holds the server to the end of the 2 s grace.
    [ $took -ge 1500 ] && [ $took -lt 3000 ] && echo "stopped at the end of the grace"
    kill $SLOW  # it would read what the kernel still buffers for seconds
    wait
    ok=0; for i in 1 2 3 4; do cmp -s got$i.bin www/big.bin && ok=$((ok+1)); done; echo "complete=$ok"
    [ $(stat -c %s slow.bin) -lt 20000000 ] && echo "slow one cut short"
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out ==
        "server 143\nstopped at the end of the grace\ncomplete=4\nslow one cut short\n");
}

TEST_CASE("http serve --threads 1 keeps one loop, a bad --threads is a usage error", "[http][serve][threads]") {
  auto r = sh(start_server + R"sh(
    mkdir www && printf 'x' > www/x
    serve www --threads 1
    echo "threads=$(ls /proc/$!/task | wc -l)"
    curl -s http://127.0.0.1:$P/x; echo
    $NT http serve www -p 0 --threads 0 2>err.txt; echo "rc=$?"; grep -c -- '--threads' err.txt
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out == "threads=1\nx\nrc=2\n1\n");
}
