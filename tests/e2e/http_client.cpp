// http client verbs against nginx and Python's http.server (tests/peers).
#include "harness.hpp"

#include <catch2/catch.hpp>

#include <regex>

using nettool::test::sh;

TEST_CASE("GET, HEAD, -i and keep-alive against nginx", "[http][client]") {
  auto r = sh(R"sh(
    mkdir www && printf 'hello\n' > www/a.txt && printf '{"k":1}\n' > www/b.json
    start_nginx $PWD/www
    base=http://127.0.0.1:$NGINX_PORT
    $NT http get $base/a.txt $base/b.json $base/a.txt -v 2> get.log; echo "get=$?"
    grep -c 'connected to' get.log
    grep -c 'reusing the kept-alive connection' get.log
    $NT http head $base/a.txt | tr -d '\r' | grep -E '^(HTTP|Content-Length|Content-Type)' | sort
    $NT http get -i $base/b.json | tr -d '\r' | grep -E '^(HTTP/1.1|Content-Type|\{)'
    $NT http get $base/missing; echo "missing=$?"
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out ==
        "hello\n{\"k\":1}\nhello\nget=0\n"
        "1\n2\n"
        "Content-Length: 6\nContent-Type: text/plain\nHTTP/1.1 200 OK\n"
        "HTTP/1.1 200 OK\nContent-Type: application/json\n{\"k\":1}\n"
        "<html>\r\n<head><title>404 Not Found</title></head>\r\n<body>\r\n<center><h1>404 Not Found</h1></center>\r\n"
        "<hr><center>nginx/1.22.1</center>\r\n</body>\r\n</html>\r\nmissing=0\n");
}

TEST_CASE("methods, bodies, headers and basic auth reach the server as sent", "[http][client]") {
  auto r = sh(R"sh(
    start_http_peer
    base=http://127.0.0.1:$HTTP_PEER
    printf 'from-file' > body.txt
    $NT http post $base/echo -d 'a=1&b=2' | $PY -c 'import json,sys; d=json.load(sys.stdin); print(d["method"], d["body"], d["headers"]["content-type"], d["headers"]["content-length"])'
    $NT http put $base/echo -d @body.txt | $PY -c 'import json,sys; d=json.load(sys.stdin); print(d["method"], d["body"])'
    printf 'from-stdin' | $NT http patch $base/echo -d @- | $PY -c 'import json,sys; d=json.load(sys.stdin); print(d["method"], d["body"])'
    $NT http post $base/echo --json-body '{"x":1}' | $PY -c 'import json,sys; d=json.load(sys.stdin); print(d["body"], d["headers"]["content-type"], d["headers"]["accept"])'
    $NT http delete $base/echo/7 | $PY -c 'import json,sys; d=json.load(sys.stdin); print(d["method"], d["path"])'
    $NT http options $base/echo | $PY -c 'import json,sys; d=json.load(sys.stdin); print(d["method"])'
    $NT http get "$base/echo?q=a%20b" -H 'X-One: 1' -H 'User-Agent: custom' -H 'Accept:' -u 'jo:secret' |
      $PY -c 'import json,sys; d=json.load(sys.stdin); h=d["headers"]; print(d["path"], h["x-one"], h["user-agent"], "accept" in h, h["authorization"])'
    $NT http post $base/echo | $PY -c 'import json,sys; d=json.load(sys.stdin); print("empty", d["headers"]["content-length"])'
    # curl's http://user:pass@host/: the URL's user info is basic auth (percent-decoded); -u wins over it.
    $NT http get "http://jo:se%40cret@127.0.0.1:$HTTP_PEER/echo" | $PY -c 'import json,sys; print(json.load(sys.stdin)["headers"]["authorization"])'
    $NT http get "http://jo:x@127.0.0.1:$HTTP_PEER/echo" -u 'ann:pw' | $PY -c 'import json,sys; print(json.load(sys.stdin)["headers"]["authorization"])'
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out ==
        "POST a=1&b=2 application/x-www-form-urlencoded 7\n"
        "PUT from-file\n"
        "PATCH from-stdin\n"
        "{\"x\":1} application/json application/json\n"
        "DELETE /echo/7\n"
        "OPTIONS\n"
        "/echo?q=a%20b 1 custom False Basic am86c2VjcmV0\n"
        "empty 0\n"
        "Basic am86c2VAY3JldA==\n"
        "Basic YW5uOnB3\n");
}

TEST_CASE("multipart uploads with -F, files streamed, parsed by Python's email package", "[http][client][form]") {
  auto r = sh(R"sh(
    start_http_peer
    head -c 3000000 /dev/urandom > photo.jpg
    printf 'a,b\n1,2\n' > data.csv
    $NT http post http://127.0.0.1:$HTTP_PEER/form -F note=hello -F photo=@photo.jpg -F 'csv=@data.csv;type=text/x-csv;filename=renamed.csv' -F 'text=<data.csv' |
      $PY -c 'import json,sys
for l in sys.stdin:
    d = json.loads(l); print(d["name"], d["filename"], d["type"], d["size"])'
    $NT http post http://127.0.0.1:$HTTP_PEER/form -F photo=@photo.jpg | $PY -c 'import json,sys; print(json.load(sys.stdin)["sha256"])' > got.sha
    [ "$(cat got.sha)" = "$(sha photo.jpg)" ] && echo same-bytes
    $NT http post http://127.0.0.1:$HTTP_PEER/form -F 'x=@missing.bin'; echo "missing=$?"
    $NT http post http://127.0.0.1:$HTTP_PEER/form -F 'novalue'; echo "bad=$?"
    $NT http post http://127.0.0.1:$HTTP_PEER/form -F 'a=b' -d x; echo "with-data=$?"
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out ==
        "note None text/plain 5\n"
        "photo photo.jpg image/jpeg 3000000\n"
        "csv renamed.csv text/x-csv 8\n"
        "text None text/plain 8\n"
        "same-bytes\nmissing=8\nbad=2\nwith-data=2\n");
}

TEST_CASE("redirects: 301 302 303 307 308, method rules, credentials stay on their origin", "[http][client][redirect]") {
  auto r = sh(R"sh(
    start_http_peer
    base=http://127.0.0.1:$HTTP_PEER
    for code in 301 302 303 307 308; do
      printf '%s ' $code
      $NT http post -L "$base/redirect/$code?to=/echo/after" -d payload |
        $PY -c 'import json,sys; d=json.load(sys.stdin); print(d["method"], d["path"], repr(d["body"]))'
    done
    $NT http get "$base/redirect/302?to=/echo"; echo "not-followed=$?"
    $NT http get -i "$base/redirect/302?to=/echo" | tr -d '\r' | grep -E '^(HTTP|Location)'
    # Same origin keeps Authorization; another origin (another port) drops it.
    $NT http get -L -u a:b "$base/redirect/302?to=/echo" | $PY -c 'import json,sys; print("same", "authorization" in json.load(sys.stdin)["headers"])'
    mkdir other && (cd other && start_http_peer && echo $HTTP_PEER > ../other.port)
    other=$(cat other.port)
    $NT http get -L -u a:b "$base/redirect/302?to=http://localhost:$other/echo" | $PY -c 'import json,sys; print("other", "authorization" in json.load(sys.stdin)["headers"])'
    $NT http get -L --max-redirects 2 "$base/redirect/302?to=/redirect/302%3Fto%3D/redirect/302%253Fto%253D/echo"; echo "too-many=$?"
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out ==
        "301 GET /echo/after ''\n"
        "302 GET /echo/after ''\n"
        "303 GET /echo/after ''\n"
        "307 POST /echo/after 'payload'\n"
        "308 POST /echo/after 'payload'\n"
        "not-followed=0\n"
        "HTTP/1.1 302 Found\nLocation: /echo\n"
        "same True\n"
        "other False\n"
        "too-many=6\n");
  CHECK(r.err.find("redirect http://127.0.0.1:") != std::string::npos);
  CHECK(r.err.find("more than 2 redirects (--max-redirects)") != std::string::npos);
}

TEST_CASE("chunked bodies, --json output, --fail and malformed responses", "[http][client]") {
  auto r = sh(R"sh(
    start_http_peer
    base=http://127.0.0.1:$HTTP_PEER
    $NT http get $base/chunked; echo "chunked=$?"
    $NT http get --json $base/status/404
    $NT http get --fail $base/status/404; echo "fail=$?"
    $NT http get --fail --json $base/status/500 | $PY -c 'import json,sys; print([json.loads(l).get("status") or json.loads(l)["exit"] for l in sys.stdin])'
    $NT http get $base/malformed; echo "malformed=$?"
    $NT http get http://127.0.0.1:$(free_port)/; echo "refused=$?"
    $NT http get ftp://x/; echo "scheme=$?"
    $NT http post $base/echo --json '{"a":1}'; echo "curl-json=$?"
    $NT http post $base/echo -d; echo "data-without-value=$?"
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out.find("one\ntwo\nthree\nchunked=0\n") == 0);
  CHECK(std::regex_search(
      r.out, std::regex(R"(\{"url":"http://127\.0\.0\.1:\d+/status/404","status":404,"reason":"Not Found","headers":\{"server":"[^"]+","date":"[^"]+","content-length":"11"\},"body":"status 404\\n","timing":\{"dns":[0-9.]+,"connect":[0-9.]+,"tls":0,"ttfb":[0-9.]+,"total":[0-9.]+\},"attempts":1\}\n)")));
  CHECK(r.out.find("fail=7\n") != std::string::npos);
  CHECK(r.out.find("[500, 7]\n") != std::string::npos);
  CHECK(r.out.find("malformed=6\n") != std::string::npos);
  CHECK(r.out.find("refused=4\n") != std::string::npos);
  CHECK(r.out.find("scheme=2\n") != std::string::npos);
  CHECK(r.out.find("curl-json=2\n") != std::string::npos);
  CHECK(r.err.find("nettool: http get: response http://127.0.0.1:") != std::string::npos);
  CHECK(r.err.find("/status/404: 404 Not Found\n") != std::string::npos);
  CHECK(r.err.find("hint: curl's --json sends a body: use --json-body") != std::string::npos);
  CHECK(r.out.find("data-without-value=2\n") != std::string::npos);
  CHECK(r.err.find("in a bench") == std::string::npos);  // -d is data here, not a duration
}

TEST_CASE("compressed bodies: gzip from nginx, deflate (zlib and raw) and broken data from Python", "[http][client][compressed]") {
  auto r = sh(R"sh(
    mkdir www && seq 1 20000 > www/n.txt
    start_nginx $PWD/www "gzip on; gzip_types text/plain; gzip_min_length 1;"
    $NT http get --compressed -i http://127.0.0.1:$NGINX_PORT/n.txt | tr -d '\r' | grep -c '^Content-Encoding: gzip'
    $NT http get --compressed http://127.0.0.1:$NGINX_PORT/n.txt | cmp - www/n.txt && echo nginx-gzip-same
    $NT http get http://127.0.0.1:$NGINX_PORT/n.txt | cmp - www/n.txt && echo plain-same
    start_http_peer
    base=http://127.0.0.1:$HTTP_PEER
    for enc in deflate rawdeflate gzip; do
      $NT http get --compressed $base/encoded/$enc | tail -1
    done
    $NT http get --compressed $base/encoded/bad; echo "bad=$?"
    $NT http get $base/encoded/gzip | gzip -dc | head -1
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out == "1\nnginx-gzip-same\nplain-same\nline 999\nline 999\nline 999\nbad=6\nline 0\n");
  CHECK(r.err.find("nettool: http get: decode body: bad compressed data") != std::string::npos);
}

TEST_CASE("local errors 8, a silent server 124, an unreachable one 4", "[http][client][exit-codes]") {
  auto r = sh(R"sh(
    start_http_peer
    base=http://127.0.0.1:$HTTP_PEER
    $NT http post $base/echo -d @no-such-file; echo "missing-body=$?"
    $NT http get $base/echo -o no-such-dir/out; echo "bad-output=$?"
    $NT tcp listen 0 -k --discard --port-file silent & wait_file silent
    $NT http get --idle-timeout 300ms http://127.0.0.1:$(cat silent)/; echo "idle=$?"
    $NT http get --timeout 300ms http://127.0.0.1:$(cat silent)/; echo "timeout=$?"
    $NT http get --retries 1 --retry-delay 10ms http://127.0.0.1:$(free_port)/; echo "refused=$?"
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out == "missing-body=8\nbad-output=8\nidle=124\ntimeout=124\nrefused=4\n");
  CHECK(r.err.find("nettool: http post: open no-such-file: No such file or directory\n") != std::string::npos);
}

TEST_CASE("retries honour Retry-After, a POST is not resent after a reset", "[http][client][retry]") {
  auto r = sh(R"sh(
    start_http_peer
    base=http://127.0.0.1:$HTTP_PEER
    start=$(date +%s%N)
    $NT http get --retries 3 -v "$base/flaky/a?fails=2&retry_after=1" 2> retry.log; echo "flaky=$?"
    echo "waited_ms=$(( ($(date +%s%N) - start) / 1000000 ))"
    grep -c 'retrying in 1.00s' retry.log
    $NT http get "$base/count/a"
    $NT http get --retries 1 --json "$base/flaky/b?fails=5&retry_after=0" | $PY -c 'import json,sys; d=json.load(sys.stdin); print(d["status"], d["attempts"])'
    $NT http post --retries 3 --retry-delay 10ms $base/reset -d x; echo "post-reset=$?"
    $NT http get "$base/count/reset"
    $NT http get --retries 2 --retry-delay 10ms $base/reset; echo "get-reset=$?"
    $NT http get "$base/count/reset"
  )sh");
  REQUIRE(r.rc == 0);
  std::smatch m;
  REQUIRE(std::regex_search(r.out, m, std::regex(R"(waited_ms=(\d+))")));
  CHECK(std::stoi(m[1]) >= 2000);
  CHECK(std::regex_search(r.out, std::regex(R"(^ok a\nflaky=0\nwaited_ms=\d+\n2\n3\n503 2\n)")));
  // The POST went out once; the GET three times. A reset after the request
  // is exit 1, as for tcp (SPEC's 4 is for resets during connect).
  CHECK(r.out.find("post-reset=1\n1\nget-reset=1\n4\n") != std::string::npos);
  CHECK(r.err.find("nettool: http post: read 127.0.0.1:") != std::string::npos);
}

TEST_CASE("proxies: tinyproxy (absolute-form, CONNECT for https), microsocks, the variables and NO_PROXY", "[http][client][proxy]") {
  auto r = sh(R"sh(
    make_ca
    start_http_peer
    base=http://127.0.0.1:$HTTP_PEER
    mkdir www && printf 'secret\n' > www/s.txt
    start_nginx $PWD/www "ssl_certificate $PWD/server.pem; ssl_certificate_key $PWD/server.key;" ssl
    tp=$(free_port)
    printf 'Port %s\nListen 127.0.0.1\nAllow 127.0.0.1\nMaxClients 10\nLogLevel Critical\n' $tp > tinyproxy.conf
    tinyproxy -d -c tinyproxy.conf > /dev/null 2>&1 & wait_listen $tp
    socks=$(free_port)
    microsocks -i 127.0.0.1 -p $socks > /dev/null 2>&1 & wait_listen $socks
    dead=$(free_port)
    via() { $PY -c 'import json,sys; print(sys.argv[1], "via" in json.load(sys.stdin)["headers"])' "$1"; }
    $NT http get --proxy http://127.0.0.1:$tp $base/echo | via option
    http_proxy=http://127.0.0.1:$tp $NT http get $base/echo | via http_proxy
    HTTP_PROXY=127.0.0.1:$tp $NT http get $base/echo | via HTTP_PROXY
    ALL_PROXY=socks5h://127.0.0.1:$socks $NT http get $base/echo | via ALL_PROXY
    # 127.0.0.1, not localhost: the proxy resolves the name, and a fresh machine may lack /etc/hosts.
    HTTPS_PROXY=http://127.0.0.1:$tp $NT http get --cacert ca.pem https://127.0.0.1:$NGINX_PORT/s.txt; echo "connect=$?"
    HTTPS_PROXY=socks5://127.0.0.1:$socks $NT http get --cacert ca.pem https://127.0.0.1:$NGINX_PORT/s.txt; echo "socks=$?"
    http_proxy=http://127.0.0.1:$dead $NT http get $base/echo > /dev/null; echo "dead=$?"
    http_proxy=http://127.0.0.1:$dead NO_PROXY=localhost,127.0.0.1 $NT http get $base/echo | via no_proxy
    http_proxy=http://127.0.0.1:$dead $NT http get --noproxy '*' $base/echo | via noproxy
    http_proxy='ftp://nope' $NT http get $base/echo; echo "bad-variable=$?"
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out ==
        "option True\nhttp_proxy True\nHTTP_PROXY True\nALL_PROXY False\n"
        "secret\nconnect=0\nsecret\nsocks=0\ndead=4\nno_proxy False\nnoproxy False\nbad-variable=2\n");
}

TEST_CASE("HTTPS against nginx: verified, wrong name 5, unknown CA 5, --insecure", "[http][client][tls]") {
  auto r = sh(R"sh(
    make_ca
    mkdir www && printf 'secret\n' > www/s.txt
    start_nginx $PWD/www "ssl_certificate $PWD/server.pem; ssl_certificate_key $PWD/server.key;" ssl
    $NT http get --cacert ca.pem https://localhost:$NGINX_PORT/s.txt; echo "verified=$?"
    $NT http get --cacert ca.pem --resolve wrong.test:$NGINX_PORT:127.0.0.1 https://wrong.test:$NGINX_PORT/s.txt; echo "wrong-name=$?"
    $NT http get --cacert other-ca.pem https://localhost:$NGINX_PORT/s.txt; echo "unknown-ca=$?"
    $NT http get --insecure https://wrong.test:$NGINX_PORT/s.txt --resolve wrong.test:$NGINX_PORT:127.0.0.1; echo "insecure=$?"
    $NT http get --cacert ca.pem --timing https://localhost:$NGINX_PORT/s.txt 2>&1 >/dev/null | grep -c 'tls 0.0'
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out == "secret\nverified=0\nwrong-name=5\nunknown-ca=5\nsecret\ninsecure=0\n1\n");
}

TEST_CASE("a Unix socket to nginx, and 1 GiB streamed with bounded memory", "[http][client][big]") {
  auto r = sh(R"sh(
    mkdir www && head -c 1G /dev/urandom > www/big.bin
    start_nginx $PWD/www "listen unix:$PWD/nginx.sock;"
    $NT http get --unix-socket $PWD/nginx.sock http://localhost/big.bin -o got-unix.bin; echo "unix=$?"
    /usr/bin/time -f 'rss_kib=%M' -o rss.txt $NT http get http://127.0.0.1:$NGINX_PORT/big.bin | sha256sum | cut -d' ' -f1 > got.sha
    [ "$(cat got.sha)" = "$(sha www/big.bin)" ] && echo stdout-same
    [ "$(sha got-unix.bin)" = "$(sha www/big.bin)" ] && echo file-same
    cat rss.txt
  )sh", 300);
  REQUIRE(r.rc == 0);
  CHECK(r.out.find("unix=0\nstdout-same\nfile-same\n") == 0);
  std::smatch m;
  REQUIRE(std::regex_search(r.out, m, std::regex(R"(rss_kib=(\d+))")));
#ifndef NETTOOL_SANITIZED  // see tests/CMakeLists.txt
  CHECK(std::stoi(m[1]) < 32 * 1024);
#endif
}

TEST_CASE("a progress meter for -o on a terminal only", "[http][client][progress]") {
  auto r = sh(R"sh(
    mkdir www && head -c 20000000 /dev/urandom > www/f.bin
    start_nginx $PWD/www
    script -qec "$NT http get -o tty.bin http://127.0.0.1:$NGINX_PORT/f.bin" /dev/null > typescript.txt; echo "tty=$?"
    grep -c '100%  19.07 MiB / 19.07 MiB' typescript.txt
    $NT http get -o pipe.bin http://127.0.0.1:$NGINX_PORT/f.bin 2> pipe.err; echo "pipe=$?"
    wc -c < pipe.err
    cmp tty.bin www/f.bin && cmp pipe.bin www/f.bin && echo same
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out == "tty=0\n1\npipe=0\n0\nsame\n");
}
