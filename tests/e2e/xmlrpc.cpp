// xmlrpc call against Python's SimpleXMLRPCServer; xmlrpc serve driven by
// Python's ServerProxy/MultiCall and by xmlrpc-c's client library.
#include "harness.hpp"

#include <catch2/catch.hpp>

using nettool::test::sh;

static const char* const peers = R"sh(
py_server() {  # py_server NAME: SimpleXMLRPCServer, port in NAME.port
  $PY "$PEERS/xmlrpc_peer.py" serve $1.port 2> $1.log & wait_file $1.port
}
nt_server() {  # nt_server NAME ARGS...: xmlrpc serve, port in NAME.port, calls (--dump) in NAME.out
  local name=$1; shift
  $NT xmlrpc serve 0 --port-file $name.port "$@" > $name.out 2> $name.log & echo $! > $name.pid
  wait_file $name.port
}
)sh";

static nettool::test::result xr_sh(const std::string& script, int limit = 120) {
  return sh(std::string(peers) + script, limit);
}

TEST_CASE("xmlrpc call: every type to Python and back, as SPEC's JSON", "[xmlrpc][call]") {
  auto r = xr_sh(R"sh(
    py_server py
    P=$(cat py.port)
    $NT xmlrpc call 127.0.0.1:$P add 2 3; echo "rc=$?"
    $NT xmlrpc call 127.0.0.1:$P add d/1.5 i/2; echo "rc=$?"
    $NT xmlrpc call http://127.0.0.1:$P/RPC2 echo 42 4.5 true '"text"' '[1,[2]]' '{"k":{"n":null}}' null word \
      s/42 b/false n/ h/48656c6c6f dt/20260101T12:00:00 b64/SGVsbG8= 'grüße, 世界 <&>' 1e-12 3.0; echo "rc=$?"
    $NT xmlrpc call 127.0.0.1:$P types; echo "rc=$?"
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out ==
        "5\nrc=0\n"
        "3.5\nrc=0\n"
        "[42,4.5,true,\"text\",[1,[2]],{\"k\":{\"n\":null}},null,\"word\",\"42\",false,null,{\"$base64\":\"SGVsbG8=\"},"
        "{\"$datetime\":\"20260101T12:00:00\"},{\"$base64\":\"SGVsbG8=\"},\"grüße, 世界 <&>\",0.000000000001,3.0]\nrc=0\n"
        "{\"int\":7,\"negative\":-2147483648,\"double\":2.5,\"small\":0.000000000001,\"true\":true,\"false\":false,"
        "\"string\":\"grüße, 世界 <&>\",\"empty\":\"\",\"nil\":null,\"datetime\":{\"$datetime\":\"20260101T12:00:00\"},"
        "\"bytes\":{\"$base64\":\"AAH/\"},\"array\":[1,\"two\",[3.0]],\"struct\":{\"nested\":{\"deep\":[null]}}}\nrc=0\n");
}

TEST_CASE("xmlrpc call: a 10 MiB base64 value both ways, --json, faults exit 7", "[xmlrpc][call]") {
  auto r = xr_sh(R"sh(
    py_server py
    P=$(cat py.port)
    $NT xmlrpc call 127.0.0.1:$P blob 10485760 > blob.json; echo "rc=$?"
    $PY -c 'import json,base64,sys; b=base64.b64decode(json.load(open("blob.json"))["$base64"]); print(len(b), b == bytes(i % 251 for i in range(10485760)))'
    B64=$($PY -c 'import base64; print(base64.b64encode(bytes(range(256)) * 40960).decode())')
    echo "[\"echo\", {\"\$base64\": \"$B64\"}]" > call.jsonl
    $NT xmlrpc call 127.0.0.1:$P --multicall < call.jsonl | $PY -c 'import json,sys,base64; v=json.loads(sys.stdin.read()); print(len(base64.b64decode(v[0]["$base64"])))'
    $NT xmlrpc call 127.0.0.1:$P add 1 2 --json; echo "rc=$?"
    $NT xmlrpc call 127.0.0.1:$P boom; echo "rc=$?"
    $NT xmlrpc call 127.0.0.1:$P boom --json 2>/dev/null; echo "rc=$?"
    $NT xmlrpc call 127.0.0.1:$P nosuch 2>&1; echo "rc=$?"
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out ==
        "rc=0\n10485760 True\n10485760\n"
        "{\"event\":\"result\",\"method\":\"add\",\"result\":3}\nrc=0\n"
        "rc=7\n"
        "{\"event\":\"fault\",\"method\":\"boom\",\"faultCode\":42,\"faultString\":\"boom happened\"}\n"
        "{\"event\":\"error\",\"phase\":\"fault\",\"message\":\"fault 42: boom happened\",\"exit\":7}\nrc=7\n"
        "nettool: xmlrpc call: fault 1: <class 'Exception'>:method \"nosuch\" is not supported\nrc=7\n");
  CHECK(r.err.find("nettool: xmlrpc call: fault 42: boom happened\n") != std::string::npos);
}

TEST_CASE("xmlrpc call --multicall, list and help against Python's introspection", "[xmlrpc][call]") {
  auto r = xr_sh(R"sh(
    py_server py
    P=$(cat py.port)
    printf '%s\n' '["add", 1, 2]' '' '["boom"]' '{"methodName": "echo", "params": ["x", null]}' |
      $NT xmlrpc call 127.0.0.1:$P --multicall; echo "rc=$?"
    $NT xmlrpc list 127.0.0.1:$P | tr '\n' ' '; echo "rc=${PIPESTATUS[0]}"
    $NT xmlrpc help 127.0.0.1:$P add; echo "rc=$?"
    $NT xmlrpc help 127.0.0.1:$P add --json; echo "rc=$?"
    echo '["add", 1' | $NT xmlrpc call 127.0.0.1:$P --multicall 2>&1; echo "rc=$?"
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out ==
        "3\n"
        "{\"event\":\"fault\",\"method\":\"boom\",\"faultCode\":42,\"faultString\":\"boom happened\"}\n"
        "[\"x\",null]\nrc=7\n"
        "add blob boom echo sleep system.listMethods system.methodHelp system.methodSignature system.multicall types rc=0\n"
        "Adds two numbers.\nrc=0\n"
        "{\"event\":\"help\",\"method\":\"add\",\"help\":\"Adds two numbers.\",\"signatures\":null}\nrc=0\n"
        "nettool: xmlrpc call: --multicall line 1: not JSON: incomplete JSON\nrc=2\n");
  CHECK(r.err.find("fault 42: boom happened (call 2 of 3, boom; 1 fault in all)") != std::string::npos);
}

TEST_CASE("xmlrpc call: bad arguments and URLs are usage errors naming them", "[xmlrpc][call][errors]") {
  auto r = xr_sh(R"sh(
    $NT xmlrpc call 127.0.0.1:9 m i/x 2>&1; echo "rc=$?"
    $NT xmlrpc call 127.0.0.1:9 m b64/@@@ 2>&1; echo "rc=$?"
    $NT xmlrpc call 127.0.0.1:9 m dt/yesterday 2>&1; echo "rc=$?"
    $NT xmlrpc call 127.0.0.1:9 m 18446744073709551615 2>&1; echo "rc=$?"
    $NT xmlrpc call 127.0.0.1:9 m "$(printf 'a\001b')" 2>&1; echo "rc=$?"
    $NT xmlrpc call ftp://127.0.0.1:9 m 2>&1; echo "rc=$?"
    $NT xmlrpc call 127.0.0.1:9 2>&1; echo "rc=$?"
    reserve_port closed
    $NT xmlrpc call 127.0.0.1:$(cat closed.port) m 2>&1 | sed 's/:[0-9]*: /:PORT: /'; echo "rc=${PIPESTATUS[0]}"
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out.find("nettool: xmlrpc call: argument: 'i/x' is not a 32-bit integer\nrc=2\n") != std::string::npos);
  CHECK(r.out.find("nettool: xmlrpc call: argument: 'b64/@@@' is not base64\nrc=2\n") != std::string::npos);
  CHECK(r.out.find("'dt/yesterday' is not a date and time like dt/20260101T12:00:00\nrc=2\n") != std::string::npos);
  CHECK(r.out.find("18446744073709551615 is outside 64-bit integers (i8)\nrc=2\n") != std::string::npos);
  CHECK(r.out.find("control character U+0001, which XML cannot carry (send it as base64: b64/…)\nrc=2\n") != std::string::npos);
  CHECK(r.out.find("nettool: xmlrpc call: ftp://127.0.0.1:9: only http:// and https:// URLs are supported; see --help\nrc=2\n") != std::string::npos);
  CHECK(r.out.find("nettool: xmlrpc call: method is required; see --help\nrc=2\n") != std::string::npos);
  CHECK(r.out.find("nettool: xmlrpc call: connect 127.0.0.1:PORT: Connection refused\nrc=4\n") != std::string::npos);
}

TEST_CASE("xmlrpc serve: every type round-trips through Python's ServerProxy, 10 MiB included", "[xmlrpc][serve]") {
  auto r = xr_sh(R"sh(
    nt_server nt
    $PY "$PEERS/xmlrpc_peer.py" client http://127.0.0.1:$(cat nt.port)/RPC2 types; echo "rc=$?"
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out ==
        "[7]\n[-2147483648]\n[2.5]\n[True]\n[False]\n['grüße, 世界 <&>\\ttab']\n['']\n[None]\n"
        "[datetime.datetime(2026, 1, 1, 12, 0)]\n[b'" + [] {
          std::string s;
          for (int i = 0; i < 100; ++i) s += "\\x00\\x01\\xff";
          return s;
        }() + "']\n"
        "[[1, 'two', [3.0, None]]]\n[{'a': {'b': [1, {'c': b'x'}]}, 'empty': {}}]\n"
        "[7, -2147483648, 2.5]\nbig 10485760 True\nrc=0\n");
}

TEST_CASE("xmlrpc serve: introspection, multicall and --method faults for Python", "[xmlrpc][serve]") {
  auto r = xr_sh(R"sh(
    nt_server nt --method add='jq -c "add"' --method-help 'add=Adds its parameters' \
      --method fail='echo "disk on fire" >&2; exit 3' --dump
    U=http://127.0.0.1:$(cat nt.port)/RPC2
    $PY "$PEERS/xmlrpc_peer.py" client $U introspect; echo "rc=$?"
    $PY "$PEERS/xmlrpc_peer.py" client $U faults; echo "rc=$?"
    $PY "$PEERS/xmlrpc_peer.py" client $U multicall; echo "rc=$?"
    kill -TERM $(cat nt.pid); wait $(cat nt.pid); echo "serve rc=$?"
    grep -c '"event":"call"' nt.out
    head -1 nt.out | sed 's/127.0.0.1:[0-9]*/127.0.0.1:PORT/'
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out ==
        "['add', 'echo', 'fail', 'system.listMethods', 'system.methodHelp', 'system.methodSignature', 'system.multicall']\n"
        "'Adds its parameters'\n[['string', 'string']]\n'undef'\nrc=0\n"
        "fault 3 disk on fire\n"
        "fault -32601 method 'nosuch' not found (system.listMethods lists them)\n"
        "fault -32602 system.methodHelp: the parameter is a int, not a string\nrc=0\n"
        "[1]\n5\nfault 3 disk on fire\n['last']\nrc=0\n"
        "serve rc=143\n"
        "8\n"
        "{\"event\":\"call\",\"peer\":\"127.0.0.1:PORT\",\"method\":\"system.listMethods\",\"params\":[]}\n");
}

TEST_CASE("xmlrpc serve: xmlrpc-c's client round-trips nil, dateTime, base64 and i8", "[xmlrpc][serve][xmlrpc-c]") {
  auto r = xr_sh(R"sh(
    nt_server nt --method boom='echo no >&2; exit 9'
    U=http://127.0.0.1:$(cat nt.port)/RPC2
    C="$PEER_BIN/xmlrpc_c_client"
    $C $U echo i/7 I/9999999999 d/2.5 b/true s/hello n/ h/00ff41 dt/20260101T12:00:00; echo "rc=$?"
    $C $U echo 'json/{"a":[1,"x"],"b":{"c":null}}'; echo "rc=$?"
    $C $U system.methodSignature s/system.multicall; echo "rc=$?"
    $C $U boom; echo "rc=$?"
    $C $U nosuch; echo "rc=$?"
    $NT xmlrpc call 127.0.0.1:$(cat nt.port) echo I/-9223372036854775808 n/; echo "rc=$?"
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out ==
        "array[int:7,i8:9999999999,double:2.5,bool:true,string:hello,nil,base64:00ff41,datetime:20260101T12:00:00]\nrc=0\n"
        "array[struct{a:array[i8:1,string:x],b:struct{c:nil}}]\nrc=0\n"  // xmlrpc-c's JSON parser makes i8s
        "array[array[string:array,string:array]]\nrc=0\n"
        "fault 9: RPC failed at server.  no\nrc=7\n"
        "fault -32601: RPC failed at server.  method 'nosuch' not found (system.listMethods lists them)\nrc=7\n"
        "[-9223372036854775808,null]\nrc=0\n");
}

TEST_CASE("xmlrpc serve: a slow --method does not hold other clients, --method-timeout ends it", "[xmlrpc][serve]") {
  auto r = xr_sh(R"sh(
    nt_server nt --method slow='sleep 30; echo 1' --method-timeout 2s
    P=$(cat nt.port)
    start=$(date +%s%N)
    $NT xmlrpc call 127.0.0.1:$P slow > slow.out 2>&1 & SLOW=$!
    sleep 0.3
    $NT xmlrpc call 127.0.0.1:$P echo fast; echo "rc=$?"
    echo "fast in $(( ($(date +%s%N) - start) / 1000000 < 1500 ))"
    wait $SLOW; echo "slow rc=$?"
    cat slow.out
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out ==
        "[\"fast\"]\nrc=0\nfast in 1\nslow rc=7\n"
        "nettool: xmlrpc call: fault -32603: slow: no answer within --method-timeout 2.00s\n");
}

TEST_CASE("xmlrpc serve and call over TLS, with basic auth from the URL", "[xmlrpc][tls]") {
  auto r = xr_sh(R"sh(
    make_ca
    nt_server nt --tls --cert server.pem --key server.key --dump
    P=$(cat nt.port)
    $NT xmlrpc call https://localhost:$P/RPC2 echo 1 --cacert ca.pem; echo "rc=$?"
    $NT xmlrpc call https://localhost:$P/RPC2 echo 1 --cacert other-ca.pem 2>/dev/null; echo "rc=$?"
    $PY -c "import ssl, xmlrpc.client; c = ssl.create_default_context(cafile='ca.pem'); print(xmlrpc.client.ServerProxy('https://127.0.0.1:$P/RPC2', context=c).echo('tls'))" 2>&1 | tail -1  # an exception shows in the check
    py_server py
    $NT xmlrpc call http://user:secret@127.0.0.1:$(cat py.port)/RPC2 echo 1 -vv 2>&1 | grep -c 'Authorization: Basic dXNlcjpzZWNyZXQ='
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out == "[1]\nrc=0\nrc=5\n['tls']\n1\n");
}

TEST_CASE("xmlrpc: --help of each verb shows examples, docs name every verb", "[xmlrpc][docs]") {
  auto r = xr_sh(R"sh(
    for v in call list help serve; do $NT xmlrpc $v --help | grep -q '^Examples:' && echo "$v ok"; done
    for v in 'xmlrpc call' 'xmlrpc list' 'xmlrpc help' 'xmlrpc serve' '--multicall' '--method-timeout' '--dump' 'coming from'; do
      grep -qi -- "$v" ")sh" NETTOOL_DOCS R"sh(/xmlrpc.md" || echo "docs miss $v"
    done
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out == "call ok\nlist ok\nhelp ok\nserve ok\n");
}

TEST_CASE("xmlrpc: pugixml loads only with nettool-xmlrpc.so, never for http", "[xmlrpc][startup]") {
  auto r = xr_sh(R"sh(
    nt_server nt
    P=$(cat nt.port)
    LD_DEBUG=libs $NT http post http://127.0.0.1:$P/RPC2 -d '<methodCall><methodName>echo</methodName></methodCall>' 2> http.log > /dev/null
    LD_DEBUG=libs $NT xmlrpc call 127.0.0.1:$P echo 1 2> xmlrpc.log > /dev/null
    echo "http: $(grep -c -E 'calling init: .*libpugixml' http.log) xmlrpc: $(grep -c -E 'calling init: .*(nettool-xmlrpc.so|libpugixml)' xmlrpc.log)"
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out == "http: 0 xmlrpc: 2\n");
}

TEST_CASE("xmlrpc call reaches servers as http does: SOCKS5 and HTTP proxies, a Unix socket, retries on 503", "[xmlrpc][proxy]") {
  auto r = xr_sh(R"sh(
    nt_server nt
    P=$(cat nt.port)
    s=$(free_port); microsocks -i 127.0.0.1 -p $s > /dev/null 2>&1 & wait_listen $s
    $NT xmlrpc call 127.0.0.1:$P echo socks --proxy socks5://127.0.0.1:$s; echo "rc=$?"
    t=$(free_port); printf 'Port %s\nListen 127.0.0.1\nAllow 127.0.0.1\nLogLevel Critical\n' $t > tp.conf
    tinyproxy -d -c tp.conf > /dev/null 2>&1 & wait_listen $t
    HTTP_PROXY=http://127.0.0.1:$t $NT xmlrpc call 127.0.0.1:$P echo http-proxy; echo "rc=$?"
    socat UNIX-LISTEN:x.sock,fork TCP:127.0.0.1:$P & wait_unix x.sock
    $NT xmlrpc call http://localhost/RPC2 echo unix --unix-socket x.sock; echo "rc=$?"
    # Down for maintenance twice, then up: a 503 is retried (Retry-After honoured).
    $PY -c 'import http.server, sys, xmlrpc.client
n = [0]
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"])); n[0] += 1
        if n[0] <= 2:
            self.send_response(503); self.send_header("Retry-After", "0"); self.send_header("Content-Length", "0"); self.end_headers(); return
        body = xmlrpc.client.dumps((n[0],), methodresponse=True).encode()
        self.send_response(200); self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)
    def log_message(self, *a): pass
s = http.server.HTTPServer(("127.0.0.1", 0), H); open("r.port", "w").write(str(s.server_address[1])); s.serve_forever()' &
    wait_file r.port
    $NT xmlrpc call 127.0.0.1:$(cat r.port) attempts --retries 3 --retry-delay 10ms; echo "rc=$?"
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out == "[\"socks\"]\nrc=0\n[\"http-proxy\"]\nrc=0\n[\"unix\"]\nrc=0\n3\nrc=0\n");
}
