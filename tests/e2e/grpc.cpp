// grpc call, list and describe against Python's grpcio server (--proto,
// --protoset) and against grpc serve (reflection); grpc serve driven by
// grpcio's client through grpc's interop cases.
#include "harness.hpp"

#include <catch2/catch.hpp>

using nettool::test::sh;

static const char* const peers = R"sh(
grpc_lsan
STUBS=$PEER_BIN/grpc_stubs
$PY "$PEERS/grpc_peer.py" stubs $STUBS
py_server() {  # py_server NAME: grpcio's TestService, port in NAME.port
  $PY "$PEERS/grpc_peer.py" serve $STUBS $1.port 2> $1.log & wait_file $1.port
}
nt_server() {  # nt_server NAME ARGS...: grpc serve, port in NAME.port
  local name=$1; shift
  $NT grpc serve 0 --port-file $name.port "$@" > $name.out 2> $name.log & echo $! > $name.pid
  wait_file $name.port
}
T=grpc.testing.TestService
)sh";

static nettool::test::result grpc_sh(const std::string& script, int limit = 120) {
  return sh(std::string(peers) + script, limit);
}

TEST_CASE("grpc call: the four streaming modes against grpcio, from --proto and --protoset", "[grpc][call]") {
  auto r = grpc_sh(R"sh(
    py_server py
    P=$(cat py.port)
    $NT grpc call 127.0.0.1:$P $T/UnaryCall --proto $STUBS/test.proto -d '{"responseSize":3}'; echo "rc=$?"
    $NT grpc call 127.0.0.1:$P $T.UnaryCall --protoset $STUBS/test.protoset -d '{"response_size":2}'; echo "rc=$?"
    $NT grpc call 127.0.0.1:$P $T/EmptyCall -I $STUBS --proto $STUBS/test.proto; echo "rc=$?"
    $NT grpc call 127.0.0.1:$P $T/StreamingOutputCall --proto $STUBS/test.proto \
      -d '{"responseParameters":[{"size":1},{"size":2,"intervalUs":20000},{"size":0}]}'; echo "rc=$?"
    printf '{"payload":{"body":"AAAA"}}\n{"payload":{"body":"AA=="}} {"payload":{}}' |
      $NT grpc call 127.0.0.1:$P $T/StreamingInputCall --proto $STUBS/test.proto -d @-; echo "rc=$?"
    $NT grpc call 127.0.0.1:$P $T/StreamingInputCall --proto $STUBS/test.proto \
      -d '{"payload":{"body":"AAAA"}} {"payload":{"body":"AAAA"}}'; echo "rc=$?"
    printf '%s\n' '{"responseParameters":[{"size":1}]}' '{"responseParameters":[{"size":2},{"size":3}]}' > reqs.json
    $NT grpc call 127.0.0.1:$P $T/FullDuplexCall --proto $STUBS/test.proto -d @reqs.json; echo "rc=$?"
    $NT grpc call 127.0.0.1:$P $T/UnaryCall --proto $STUBS/test.proto -d '{"responseSize":1}' --emit-defaults; echo "rc=$?"
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out ==
        "{\"payload\":{\"body\":\"AAAA\"},\"serverId\":\"python\"}\nrc=0\n"
        "{\"payload\":{\"body\":\"AAA=\"},\"serverId\":\"python\"}\nrc=0\n"
        "{}\nrc=0\n"
        "{\"payload\":{\"body\":\"AA==\"}}\n{\"payload\":{\"body\":\"AAA=\"}}\n{\"payload\":{}}\nrc=0\n"
        "{\"aggregatedPayloadSize\":4}\nrc=0\n"
        "{\"aggregatedPayloadSize\":6}\nrc=0\n"
        "{\"payload\":{\"body\":\"AA==\"}}\n{\"payload\":{\"body\":\"AAA=\"}}\n{\"payload\":{\"body\":\"AAAA\"}}\nrc=0\n"
        "{\"payload\":{\"type\":\"COMPRESSABLE\",\"body\":\"AA==\"},\"username\":\"\",\"oauthScope\":\"\",\"serverId\":\"python\","
        "\"grpclbRouteType\":\"GRPCLB_ROUTE_TYPE_UNKNOWN\",\"hostname\":\"\"}\nrc=0\n");
}

TEST_CASE("grpc call: metadata both ways, statuses exit 64+code, 4 MiB messages, --timeout", "[grpc][call]") {
  auto r = grpc_sh(R"sh(
    py_server py
    P=$(cat py.port)
    A="127.0.0.1:$P --proto $STUBS/test.proto"
    $NT grpc call $A $T/UnaryCall -H 'x-grpc-test-echo-initial: hello' -H 'X-Grpc-Test-Echo-Trailing-Bin: AAEC/w==' -v \
      > md.out 2> md.err; echo "rc=$?"
    grep -c '< x-grpc-test-echo-initial: hello$' md.err
    grep -c '< trailer x-grpc-test-echo-trailing-bin: AAEC/w==$' md.err
    $NT grpc call $A $T/UnaryCall -d '{"responseStatus":{"code":5,"message":"no such thing"}}'; echo "rc=$?"
    $NT grpc call $A $T/UnaryCall -d '{"responseStatus":{"code":14,"message":"down"}}' 2>/dev/null; echo "rc=$?"
    $NT grpc call $A $T/UnimplementedCall 2>/dev/null; echo "rc=$?"
    $NT grpc call $A $T/UnaryCall -d '{"responseSize":4194304}' | wc -c
    B=$($PY -c 'import base64; print(base64.b64encode(bytes(4194304)).decode())')
    echo "{\"payload\":{\"body\":\"$B\"}}" > big.json
    $NT grpc call $A $T/StreamingInputCall -d @big.json; echo "rc=$?"
    start=$(date +%s%N)
    $NT grpc call $A $T/FullDuplexCall -d @- --timeout 500ms < <(sleep 10); echo "rc=$?"
    echo "fast=$(( ($(date +%s%N) - start) / 1000000 < 5000 ))"
    $NT grpc call $A $T/UnaryCall -d '{"responseSize":1}' --json; echo "rc=$?"
    R='{"responseStatus":{"code":3,"message":"rich details"}}'
    $NT grpc call $A $T/UnaryCall -d "$R" 2> rich.err; echo "rc=$?"
    cat rich.err
    $NT grpc call $A $T/UnaryCall -d "$R" --json 2>/dev/null | jq -c 'select(.event == "status") | .details'; echo "rc=${PIPESTATUS[0]}"
    # A schema of its own for google.rpc types changes nothing about how the status is read.
    printf 'syntax = "proto3";\npackage google.rpc;\nmessage Status { string code = 1; string details = 3; }\n' > bogus.proto
    printf 'message BadRequest { int32 field_violations = 1; }\n' >> bogus.proto
    $NT grpc call $A --proto bogus.proto -I $STUBS -I . $T/UnaryCall -d "$R" 2>&1; echo "rc=$?"
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out ==
        "rc=0\n1\n1\n"
        "rc=69\nrc=78\nrc=76\n"
        "5592452\n"  // 4 MiB of zeros in base64 (5 592 408), the JSON around it and a line feed
        "{\"aggregatedPayloadSize\":4194304}\nrc=0\n"
        "rc=124\nfast=1\n"
        "{\"event\":\"message\",\"message\":{\"payload\":{\"body\":\"AA==\"},\"serverId\":\"python\"}}\n"
        "{\"event\":\"status\",\"code\":0,\"status\":\"OK\",\"message\":\"\"}\nrc=0\n"
        // Rich error details (google.rpc.Status): a type protobuf knows is decoded, one it does not stays base64.
        "rc=67\n"
        "nettool: grpc call: call /grpc.testing.TestService/UnaryCall: INVALID_ARGUMENT: rich details; details: "
        "[{\"@type\":\"type.googleapis.com/google.rpc.BadRequest\",\"fieldViolations\":[{\"field\":\"name\","
        "\"description\":\"must not be empty\"}]},{\"@type\":\"type.googleapis.com/example.Secret\",\"value\":\"CAE=\"}]\n"
        "[{\"@type\":\"type.googleapis.com/google.rpc.BadRequest\",\"fieldViolations\":[{\"field\":\"name\","
        "\"description\":\"must not be empty\"}]},{\"@type\":\"type.googleapis.com/example.Secret\",\"value\":\"CAE=\"}]\n"
        "rc=67\n"
        "nettool: grpc call: call /grpc.testing.TestService/UnaryCall: INVALID_ARGUMENT: rich details; details: "
        "[{\"@type\":\"type.googleapis.com/google.rpc.BadRequest\"},{\"@type\":\"type.googleapis.com/example.Secret\","
        "\"value\":\"CAE=\"}]\nrc=67\n");
  CHECK(r.err.find("nettool: grpc call: call /grpc.testing.TestService/UnaryCall: NOT_FOUND: no such thing\n") !=
        std::string::npos);
}

TEST_CASE("grpc serve passes grpcio's interop cases and health checks", "[grpc][serve]") {
  auto r = grpc_sh(R"sh(
    nt_server nt --health down.Service=NOT_SERVING
    $PY "$PEERS/grpc_peer.py" client $STUBS 127.0.0.1:$(cat nt.port) empty_unary large_unary client_compressed_unary \
      server_compressed_unary client_streaming server_streaming ping_pong empty_stream custom_metadata \
      status_code_and_message special_status_message unimplemented_method unimplemented_service cancel_after_begin \
      cancel_after_first_response timeout_on_sleeping_server health; echo "rc=$?"
    kill -TERM $(cat nt.pid); wait $(cat nt.pid); echo "serve rc=$?"
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out ==
        "PASS empty_unary\nPASS large_unary\nPASS client_compressed_unary\nPASS server_compressed_unary\n"
        "PASS client_streaming\nPASS server_streaming\nPASS ping_pong\nPASS empty_stream\nPASS custom_metadata\n"
        "PASS status_code_and_message\nPASS special_status_message\nPASS unimplemented_method\n"
        "PASS unimplemented_service\nPASS cancel_after_begin\nPASS cancel_after_first_response\n"
        "PASS timeout_on_sleeping_server\nPASS health\nrc=0\nserve rc=143\n");
}

TEST_CASE("grpc list and describe through grpc serve's reflection, and calls without a .proto", "[grpc][serve][call]") {
  auto r = grpc_sh(R"sh(
    nt_server nt --json
    P=$(cat nt.port)
    head -1 nt.out | grep -c '"event":"listening"'
    $NT grpc list 127.0.0.1:$P; echo "rc=$?"
    $NT grpc list 127.0.0.1:$P $T | head -3; echo "rc=${PIPESTATUS[0]}"
    $NT grpc describe 127.0.0.1:$P $T.UnaryCall; echo "rc=$?"
    $NT grpc describe 127.0.0.1:$P grpc.testing.EchoStatus; echo "rc=$?"
    $NT grpc describe 127.0.0.1:$P grpc.testing.PayloadType --json; echo "rc=$?"
    $NT grpc call 127.0.0.1:$P $T/UnaryCall -d '{"responseSize":2,"fillServerId":true}'; echo "rc=$?"
    $NT grpc list --proto $STUBS/test.proto 127.0.0.1:1; echo "rc=$?"
    $PY "$PEERS/grpc_peer.py" interleave $STUBS $NT grpc call 127.0.0.1:$P $T/FullDuplexCall -d @-
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out ==
        "1\n"
        "grpc.health.v1.Health\ngrpc.reflection.v1alpha.ServerReflection\ngrpc.testing.TestService\nrc=0\n"
        "grpc.testing.TestService.EmptyCall\ngrpc.testing.TestService.UnaryCall\n"
        "grpc.testing.TestService.CacheableUnaryCall\nrc=0\n"
        "grpc.testing.TestService.UnaryCall is a method:\n"
        "rpc UnaryCall(.grpc.testing.SimpleRequest) returns (.grpc.testing.SimpleResponse);\nrc=0\n"
        "grpc.testing.EchoStatus is a message:\nmessage EchoStatus {\n  int32 code = 1;\n  string message = 2;\n}\nrc=0\n"
        "{\"symbol\":\"grpc.testing.PayloadType\",\"kind\":\"enum\",\"descriptor\":{\"name\":\"PayloadType\","
        "\"value\":[{\"name\":\"COMPRESSABLE\",\"number\":0}]}}\nrc=0\n"
        "{\"payload\":{\"body\":\"AAA=\"},\"serverId\":\"nettool\"}\nrc=0\n"
        "grpc.testing.LoadBalancerStatsService\ngrpc.testing.ReconnectService\ngrpc.testing.TestService\n"
        "grpc.testing.UnimplementedService\ngrpc.testing.XdsUpdateClientConfigureService\n"
        "grpc.testing.XdsUpdateHealthService\nrc=0\n"
        "response 1 {\"payload\":{\"body\":\"AA==\"}}\nresponse 2 {\"payload\":{\"body\":\"AAA=\"}}\n"
        "response 3 {\"payload\":{\"body\":\"AAAA\"}}\nafter close: nothing rc 0\n");
}

TEST_CASE("grpc: bad input exits with SPEC's codes and names what was wrong", "[grpc][errors]") {
  auto r = grpc_sh(R"sh(
    nt_server nt
    P=$(cat nt.port)
    $NT grpc call 127.0.0.1:$P $T/NoSuchMethod 2>&1; echo "rc=$?"
    $NT grpc call 127.0.0.1:$P no.such.Service/Call 2>&1; echo "rc=$?"
    $NT grpc call 127.0.0.1:$P $T/UnaryCall -d '{"responseSize":"many"}' 2>&1; echo "rc=$?"
    $NT grpc call 127.0.0.1:$P $T/UnaryCall -d '{"nosuchField":1}' 2>&1; echo "rc=$?"
    $NT grpc call 127.0.0.1:$P $T/UnaryCall -d '{"responseSize":1' 2>&1; echo "rc=$?"
    $NT grpc call 127.0.0.1:$P $T/UnaryCall -d '{} {}' 2>&1; echo "rc=$?"
    $NT grpc call 127.0.0.1:$P $T/UnaryCall -H 'bad key: x' 2>&1; echo "rc=$?"
    $NT grpc call 127.0.0.1:$P $T/UnaryCall --proto missing.proto 2>&1; echo "rc=$?"
    echo 'syntax = "proto3"; message { }' > broken.proto
    $NT grpc call 127.0.0.1:$P $T/UnaryCall --proto broken.proto 2>&1; echo "rc=$?"
    $NT grpc call 127.0.0.1:$(free_port) $T/UnaryCall 2>&1; echo "rc=$?"
    $NT grpc call nosuch.invalid:1 $T/UnaryCall 2>/dev/null; echo "rc=$?"
    $NT grpc call 127.0.0.1 $T/UnaryCall 2>/dev/null; echo "rc=$?"
    $NT grpc call 127.0.0.1:$(free_port) $T/UnaryCall --retries 2 --retry-delay 10ms -v 2>&1 | grep -c 'retrying in'
    $NT grpc call 127.0.0.1:$P $T/UnaryCall -d @ 2>&1; echo "rc=$?"
    # Stdin is read once: an UNAVAILABLE after it is not retried (a retry would send nothing and pass).
    echo '{"responseStatus":{"code":14}}' | $NT grpc call 127.0.0.1:$P $T/FullDuplexCall -d @- --retries 2 2>/dev/null; echo "stdin retry rc=$?"
    $NT grpc call 127.0.0.1:$P $T/UnaryCall -d '{"responseStatus":{"code":3,"message":"two\nlines"}}' 2>&1; echo "rc=$?"
    $NT grpc serve $P 2>&1; echo "busy rc=$?"
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out.find("nettool: grpc call: method grpc.testing.TestService/NoSuchMethod: no such method in the schema\nrc=2\n") !=
        std::string::npos);
  CHECK(r.out.find("nettool: grpc call: method no.such.Service/Call: no such method in the schema\nrc=2\n") !=
        std::string::npos);
  CHECK(r.out.find("request grpc.testing.SimpleRequest: (response_size): invalid value \"many\" for type TYPE_INT32\nrc=2\n") !=
        std::string::npos);
  CHECK(r.out.find("request grpc.testing.SimpleRequest: nosuchField: Cannot find field.\nrc=2\n") != std::string::npos);
  CHECK(r.out.find("request message 1: the JSON text is cut short\nrc=2\n") != std::string::npos);
  CHECK(r.out.find("this method takes one request message, got more\nrc=2\n") != std::string::npos);
  CHECK(r.out.find("nettool: grpc call: -H: a metadata key has only a-z, 0-9, '-', '_' and '.'; see --help\nrc=2\n") != std::string::npos);
  CHECK(r.out.find("file missing.proto: No such file or directory\nrc=8\n") != std::string::npos);
  CHECK(r.out.find("--proto broken.proto: broken.proto:1:28: Expected message name.\nrc=2\n") != std::string::npos);
  CHECK(r.out.find("Connection refused\nrc=4\n") != std::string::npos);
  CHECK(r.out.find("rc=3\nrc=2\n2\n") != std::string::npos);
  CHECK(r.out.find("nettool: grpc call: -d: '@' is grpcurl's stdin: nettool reads stdin with -d @-; see --help\nrc=2\n") !=
        std::string::npos);
  CHECK(r.out.find("stdin retry rc=78\n") != std::string::npos);
  CHECK(r.out.find("INVALID_ARGUMENT: two\\nlines\nrc=67\n") != std::string::npos);
  CHECK(r.out.find("cannot listen there (in use, or not an address of this host)\nbusy rc=8\n") != std::string::npos);
}

TEST_CASE("grpc call: SIGINT mid-stream exits 130 and cancels the call", "[grpc][call]") {
  auto r = grpc_sh(R"sh(
    nt_server nt
    P=$(cat nt.port)
    mkfifo in
    $NT grpc call 127.0.0.1:$P $T/FullDuplexCall -d @- < in > out & C=$!
    exec 3> in
    echo '{"responseParameters":[{"size":1}]}' >&3
    for i in $(seq 100); do [ -s out ] && break; sleep 0.05; done
    cat out
    kill -INT $C; wait $C; echo "rc=$?"
    exec 3>&-
    $NT grpc call 127.0.0.1:$P $T/EmptyCall; echo "rc=$?"
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out == "{\"payload\":{\"body\":\"AA==\"}}\nrc=130\n{}\nrc=0\n");
}

TEST_CASE("grpc TLS both ways with a CA made now: --cacert, mutual TLS, wrong CA or name exits 5", "[grpc][tls]") {
  auto r = grpc_sh(R"sh(
    make_ca
    nt_server tls --tls --cert server.pem --key server.key
    P=$(cat tls.port)
    $NT grpc call 127.0.0.1:$P $T/UnaryCall --tls --cacert ca.pem -d '{"responseSize":1}'; echo "rc=$?"
    $NT grpc call localhost:$P $T/EmptyCall --tls --cacert ca.pem; echo "rc=$?"
    $NT grpc call 127.0.0.1:$P $T/EmptyCall --tls --cacert other-ca.pem 2> wrong.err; echo "wrong CA rc=$?"
    wc -l < wrong.err  # one line: grpc++'s own log lines are routed to -vv
    $NT grpc call 127.0.0.1:$P $T/EmptyCall --tls --cacert ca.pem --servername wrong.example 2>/dev/null; echo "wrong name rc=$?"
    $NT grpc call 127.0.0.1:$P $T/EmptyCall --tls --insecure; echo "insecure rc=$?"
    $NT grpc call 127.0.0.1:$P $T/EmptyCall --tls --cacert ca.pem --cert client.key --key client.pem 2>&1; echo "swapped rc=$?"
    $NT grpc serve 0 --tls --cert server.pem --key server.pem 2>&1; echo "serve swapped rc=$?"
    $NT grpc call 127.0.0.1:$P $T/EmptyCall --tls --cacert client.key 2>&1; echo "key as CA rc=$?"
    $NT grpc call 127.0.0.1:$P $T/EmptyCall 2>/dev/null; echo "plaintext to TLS rc=$?"
    $PY -c '
import grpc, sys
sys.path.insert(0, sys.argv[2])
import empty_pb2, test_pb2_grpc
creds = grpc.ssl_channel_credentials(open("ca.pem", "rb").read())
stub = test_pb2_grpc.TestServiceStub(grpc.secure_channel("127.0.0.1:" + sys.argv[1], creds))
print("grpcio over TLS:", stub.EmptyCall(empty_pb2.Empty()) == empty_pb2.Empty())
' $P $STUBS
    nt_server mtls --tls --cert server.pem --key server.key --client-ca ca.pem
    M=$(cat mtls.port)
    $NT grpc call 127.0.0.1:$M $T/EmptyCall --tls --cacert ca.pem --cert client.pem --key client.key; echo "mtls rc=$?"
    $NT grpc call 127.0.0.1:$M $T/EmptyCall --tls --cacert ca.pem 2>/dev/null; echo "no client cert rc=$?"
    nt_server eph --tls
    $NT grpc call 127.0.0.1:$(cat eph.port) $T/EmptyCall --tls --insecure; echo "ephemeral rc=$?"
    grep -c 'ephemeral self-signed certificate for localhost, SHA-256 fingerprint' eph.log
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out ==
        "{\"payload\":{\"body\":\"AA==\"}}\nrc=0\n"
        "{}\nrc=0\n"
        "wrong CA rc=5\n1\nwrong name rc=5\n"
        "{}\ninsecure rc=0\n"
        "nettool: grpc call: --key client.pem: is no PEM private key but a certificate: are --cert and --key swapped?\n"
        "swapped rc=2\n"
        "nettool: grpc serve: --key server.pem: is no PEM private key but a certificate: are --cert and --key swapped?\n"
        "serve swapped rc=2\n"
        "nettool: grpc call: --cacert client.key: holds no PEM certificate but a private key\nkey as CA rc=2\n"
        "plaintext to TLS rc=78\n"  // the server closes the socket: UNAVAILABLE, as grpcurl says
        "grpcio over TLS: True\n"
        "{}\nmtls rc=0\nno client cert rc=5\n"
        "{}\nephemeral rc=0\n1\n");
}

TEST_CASE("grpc health and grpc wait: statuses, unknown services, readiness, timeouts", "[grpc][health][wait]") {
  auto r = grpc_sh(R"sh(
    nt_server nt --health down.Service=NOT_SERVING --health odd.Service=UNKNOWN
    P=$(cat nt.port)
    $NT grpc health 127.0.0.1:$P; echo "rc=$?"
    $NT grpc health 127.0.0.1:$P --service grpc.testing.TestService --json; echo "rc=$?"
    $NT grpc health 127.0.0.1:$P --service down.Service 2>&1; echo "rc=$?"
    $NT grpc health 127.0.0.1:$P --service odd.Service 2>/dev/null; echo "rc=$?"
    $NT grpc health 127.0.0.1:$P --service no.such.Service 2>&1; echo "rc=$?"
    $NT grpc health 127.0.0.1:$P --watch --timeout 500ms; echo "rc=$?"
    $NT grpc wait 127.0.0.1:$P --json | sed "s/\"elapsed\":[0-9.]*/\"elapsed\":S/; s/:$P/:PORT/"; echo "rc=${PIPESTATUS[0]}"
    $NT grpc wait 127.0.0.1:$P --service down.Service --timeout 600ms 2>&1 | sed "s/:$P/:PORT/"; echo "rc=${PIPESTATUS[0]}"
    $PY "$PEERS/grpc_peer.py" serve $STUBS py.port 2> py.log & wait_file py.port
    $NT grpc wait 127.0.0.1:$(cat py.port) -- echo "ran after ready"; echo "rc=$?"
    F=$(free_port)
    ( sleep 1; exec $NT grpc serve $F ) 2>/dev/null & LATE=$!
    $NT grpc wait 127.0.0.1:$F --timeout 20s --interval 100ms; echo "late rc=$?"
    kill $LATE
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out ==
        "SERVING\nrc=0\n"
        "{\"event\":\"health\",\"service\":\"grpc.testing.TestService\",\"status\":\"SERVING\"}\nrc=0\n"
        "NOT_SERVING\nnettool: grpc health: health 'down.Service': is NOT_SERVING\nrc=7\n"
        "UNKNOWN\nrc=7\n"
        "nettool: grpc health: health 'no.such.Service': NOT_FOUND: unknown service\nrc=69\n"
        "SERVING\nrc=124\n"
        "{\"event\":\"ready\",\"target\":\"127.0.0.1:PORT\",\"elapsed\":S,\"attempts\":1}\nrc=0\n"
        "nettool: grpc wait: wait: not ready after 600.00ms: 127.0.0.1:PORT\nrc=124\n"
        "ran after ready\nrc=0\n"
        "late rc=0\n");
}

TEST_CASE("grpc serve --json logs every call, -v on stderr, and a closed stdout stops it quietly", "[grpc][serve]") {
  auto r = grpc_sh(R"sh(
    nt_server j --json
    P=$(cat j.port)
    $NT grpc call 127.0.0.1:$P $T/UnaryCall -d '{"responseSize":1}' > /dev/null
    $NT grpc call 127.0.0.1:$P $T/UnaryCall -d '{"responseStatus":{"code":5,"message":"gone"}}' 2> /dev/null
    $NT grpc call 127.0.0.1:$P $T/StreamingInputCall -d '{} {} {}' > /dev/null
    $NT grpc call 127.0.0.1:$P $T/StreamingOutputCall -d '{"responseParameters":[{"size":1},{"size":2}]}' > /dev/null
    $NT grpc health 127.0.0.1:$P > /dev/null
    nt_server v -v
    $NT grpc call 127.0.0.1:$(cat v.port) $T/EmptyCall > /dev/null
    kill -TERM $(cat j.pid) $(cat v.pid); wait $(cat j.pid) $(cat v.pid)
    # Each call without --proto asks reflection first: those calls are logged too.
    jq -c 'select(.event == "call" and (.method | test("Reflection") | not)) |
      [.method, .status, .message, .requests, .responses]' j.out
    jq -e 'select(.event == "call") | (.peer | test("^127[.]0[.]0[.]1:[0-9]+$")) and .elapsed >= 0' j.out | sort | uniq -c
    jq -r 'select(.event == "call") | .method' j.out | grep -c 'ServerReflection/ServerReflectionInfo$' 
    grep -cE '127.0.0.1:[0-9]+ /grpc.testing.TestService/EmptyCall OK in [0-9.]+.?s [(]1 in, 1 out[)]' v.log
    ( $NT grpc serve 0 --port-file e.port --json | head -1 > /dev/null; echo "rc=${PIPESTATUS[0]}" > e.rc ) &
    wait_file e.port
    $NT grpc call 127.0.0.1:$(cat e.port) $T/EmptyCall > /dev/null
    wait_file e.rc; cat e.rc
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out ==
        "[\"/grpc.testing.TestService/UnaryCall\",\"OK\",null,1,1]\n"
        "[\"/grpc.testing.TestService/UnaryCall\",\"NOT_FOUND\",\"gone\",1,0]\n"
        "[\"/grpc.testing.TestService/StreamingInputCall\",\"OK\",null,3,1]\n"
        "[\"/grpc.testing.TestService/StreamingOutputCall\",\"OK\",null,1,2]\n"
        "[\"/grpc.health.v1.Health/Check\",\"OK\",null,1,1]\n"
        "     13 true\n"
        "8\n"  // v1 (UNIMPLEMENTED: grpc serve offers v1alpha), then v1alpha
        "1\n"
        "rc=0\n");
}

TEST_CASE("grpc++ and protobuf load only for nettool grpc", "[grpc][startup]") {
  auto r = grpc_sh(R"sh(
    $NT tcp listen 0 -k --discard --port-file tport 2>/dev/null & wait_file tport
    LD_DEBUG=libs $NT tcp connect 127.0.0.1 $(cat tport) --send x 2> tcp.log > /dev/null
    LD_DEBUG=libs $NT --version 2> version.log > /dev/null
    echo "tcp: $(grep -c -E 'calling init: .*lib(grpc|protobuf)' tcp.log) version: $(grep -c -E 'calling init: .*lib(grpc|protobuf)' version.log)"
    nt_server nt
    LD_DEBUG=libs $NT grpc call 127.0.0.1:$(cat nt.port) $T/EmptyCall 2> grpc.log > /dev/null
    echo "grpc: $(grep -c -E 'calling init: .*nettool-grpc.so' grpc.log) $(grep -c -E 'calling init: .*libgrpc\+\+\.so' grpc.log)"
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out == "tcp: 0 version: 0\ngrpc: 1 1\n");
}

TEST_CASE("grpc bench: -n calls over --connections, status counts, --fail-if, --rate", "[grpc][bench]") {
  auto r = grpc_sh(R"sh(
    nt_server nt
    P=$(cat nt.port)
    $NT grpc bench 127.0.0.1:$P $T/UnaryCall -d '{"responseSize":8}' -n 500 -c 8 --connections 2 --json > b.json; echo "rc=$?"
    jq -c '{count, errors, status, connections}' b.json
    jq -e '.latency.p50 > 0 and .latency.p99 >= .latency.p50 and .rate > 0' b.json > /dev/null && echo "latency ok"
    $NT grpc bench 127.0.0.1:$P $T/UnimplementedCall -n 20 --fail-if 'errors>0' > u.out 2> u.err; echo "rc=$?"
    grep -c 'UNIMPLEMENTED 20' u.out
    $NT grpc bench 127.0.0.1:$P $T/EmptyCall --rate 200 -z 1s --json | jq -c '{count, errors}'
    $NT grpc bench 127.0.0.1:$P $T/StreamingOutputCall -n 1 2>&1; echo "rc=$?"
    $NT grpc bench 127.0.0.1:$(free_port) $T/EmptyCall -n 1 2>/dev/null; echo "rc=$?"
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out ==
        "rc=0\n{\"count\":500,\"errors\":{},\"status\":{\"OK\":500},\"connections\":2}\nlatency ok\n"
        "rc=10\n1\n"
        "{\"count\":200,\"errors\":{}}\n"
        "nettool: grpc bench: method grpc.testing.TestService/StreamingOutputCall: grpc bench runs unary methods\nrc=2\n"
        "rc=4\n");
}

TEST_CASE("grpc call through proxies by SPEC rules (SOCKS5 and HTTP CONNECT, TLS over HTTP CONNECT) and to unix sockets", "[grpc][proxy]") {
  auto r = grpc_sh(R"sh(
    nt_server nt
    P=$(cat nt.port)
    s=$(free_port); microsocks -i 127.0.0.1 -p $s > /dev/null 2>&1 & wait_listen $s
    $NT grpc call 127.0.0.1:$P $T/UnaryCall -d '{"responseSize":1}' --proxy socks5://127.0.0.1:$s; echo "socks rc=$?"
    nt_server tls --tls
    Q=$(cat tls.port)
    t=$(free_port)
    printf 'Port %s\nListen 127.0.0.1\nAllow 127.0.0.1\nConnectPort %s\nConnectPort %s\nLogLevel Connect\nLogFile "%s"\n' \
      $t $P $Q $PWD/tp.log > tp.conf
    tinyproxy -d -c tp.conf > /dev/null 2>&1 & wait_listen $t
    $NT grpc list 127.0.0.1:$P --proxy http://127.0.0.1:$t | head -1; echo "http proxy rc=${PIPESTATUS[0]}"
    # SPEC §1's rules, as curl's: HTTP_PROXY for plaintext, HTTPS_PROXY under --tls, NO_PROXY and --noproxy.
    connects() { grep -c 'CONNECT 127.0.0.1' tp.log; }
    HTTP_PROXY=http://127.0.0.1:$t $NT grpc call 127.0.0.1:$P $T/EmptyCall; echo "HTTP_PROXY rc=$? $(connects)"
    HTTP_PROXY=http://127.0.0.1:$t NO_PROXY=127.0.0.1 $NT grpc call 127.0.0.1:$P $T/EmptyCall; echo "NO_PROXY rc=$? $(connects)"
    HTTP_PROXY=http://127.0.0.1:$t $NT grpc call 127.0.0.1:$P $T/EmptyCall --noproxy '*'; echo "--noproxy rc=$? $(connects)"
    HTTPS_PROXY=http://127.0.0.1:$t $NT grpc call 127.0.0.1:$P $T/EmptyCall; echo "plaintext ignores HTTPS_PROXY rc=$? $(connects)"
    # Under --tls grpc++ connects through the proxy itself, after the core's check of the tunnel.
    $NT grpc call 127.0.0.1:$Q $T/EmptyCall --tls --insecure --proxy http://127.0.0.1:$t; echo "tls --proxy rc=$? $(connects)"
    HTTPS_PROXY=127.0.0.1:$t $NT grpc call 127.0.0.1:$Q $T/EmptyCall --tls --insecure; echo "HTTPS_PROXY rc=$? $(connects)"
    a=$(free_port)
    printf 'Port %s\nListen 127.0.0.1\nAllow 127.0.0.1\nConnectPort %s\nBasicAuth user s3cret\nLogLevel Critical\n' $a $Q > tpa.conf
    tinyproxy -d -c tpa.conf > /dev/null 2>&1 & wait_listen $a
    $NT grpc call 127.0.0.1:$Q $T/EmptyCall --tls --insecure --proxy http://user:s3cret@127.0.0.1:$a; echo "tls proxy auth rc=$?"
    $NT grpc call 127.0.0.1:$Q $T/EmptyCall --tls --insecure --proxy http://user:wrong@127.0.0.1:$a 2>/dev/null
    echo "tls proxy wrong auth rc=$?"
    $NT grpc call 127.0.0.1:$Q $T/EmptyCall --tls --insecure --proxy socks5://127.0.0.1:$s 2>&1; echo "tls socks rc=$?"
    ALL_PROXY=socks5://127.0.0.1:$s $NT grpc call 127.0.0.1:$Q $T/EmptyCall --tls --insecure 2>&1; echo "tls ALL_PROXY rc=$?"
    ALL_PROXY=socks5://127.0.0.1:$s $NT grpc call 127.0.0.1:$P $T/EmptyCall; echo "plaintext ALL_PROXY rc=$?"
    ALL_PROXY='bad host:1' $NT grpc call 127.0.0.1:$P $T/EmptyCall 2>&1; echo "malformed ALL_PROXY rc=$?"
    socat UNIX-LISTEN:g.sock,fork TCP:127.0.0.1:$P & wait_unix g.sock
    $NT grpc call unix:g.sock $T/EmptyCall; echo "unix rc=$?"
    $NT grpc call unix://$PWD/g.sock $T/EmptyCall; echo "unix:// rc=$?"
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out ==
        "{\"payload\":{\"body\":\"AA==\"}}\nsocks rc=0\n"
        "grpc.health.v1.Health\nhttp proxy rc=0\n"
        "{}\nHTTP_PROXY rc=0 2\n{}\nNO_PROXY rc=0 2\n{}\n--noproxy rc=0 2\n{}\nplaintext ignores HTTPS_PROXY rc=0 2\n"
        "{}\ntls --proxy rc=0 4\n{}\nHTTPS_PROXY rc=0 6\n"
        "{}\ntls proxy auth rc=0\ntls proxy wrong auth rc=4\n"
        "nettool: grpc call: --proxy: a socks5 proxy carries plaintext grpc targets only; with --tls use an http:// "
        "proxy; see --help\ntls socks rc=2\n"
        "nettool: grpc call: proxy socks5: a socks5 proxy carries plaintext grpc targets only; with --tls use an http:// "
        "proxy\ntls ALL_PROXY rc=2\n"
        "{}\nplaintext ALL_PROXY rc=0\n"
        "nettool: grpc call: option --proxy: 'http://bad host:1' is not a proxy URL (http://HOST:PORT, "
        "socks5://HOST:PORT, socks5h://HOST:PORT)\nmalformed ALL_PROXY rc=2\n"
        "{}\nunix rc=0\n{}\nunix:// rc=0\n");
}
