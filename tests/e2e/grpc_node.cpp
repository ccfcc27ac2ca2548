// grpc call against Node's @grpc/grpc-js server (npm, installed by
// scripts/install-deps.sh into build/peers; built only where it could be).
#include "harness.hpp"

#include <catch2/catch.hpp>

using nettool::test::sh;

static const char* const peers = R"sh(
grpc_lsan
STUBS=$PEER_BIN/grpc_stubs
$PY "$PEERS/grpc_peer.py" stubs $STUBS
node_server() {  # node_server NAME: @grpc/grpc-js's TestService, port in NAME.port
  NODE_PATH=$NODE_MODULES node "$PEERS/grpc_node_peer.js" serve $STUBS $1.port 2> $1.log & wait_file $1.port
}
T=grpc.testing.TestService
)sh";

static nettool::test::result grpc_sh(const std::string& script, int limit = 120) {
  return sh(std::string(peers) + script, limit);
}

TEST_CASE("grpc call against Node's grpc-js server: four modes, metadata, a status with its message", "[grpc][call]") {
  auto r = grpc_sh(R"sh(
    node_server node
    A="127.0.0.1:$(cat node.port) --proto $STUBS/test.proto"
    $NT grpc call $A $T/UnaryCall -d '{"responseSize":3}' -H 'x-grpc-test-echo-initial: from nettool' \
      -H 'x-grpc-test-echo-trailing-bin: 3q2+7w==' -v 2> md.err; echo "rc=$?"
    grep -c '< x-grpc-test-echo-initial: from nettool$' md.err
    grep -c '< trailer x-grpc-test-echo-trailing-bin: 3q2+7w==$' md.err
    $NT grpc call $A $T/StreamingOutputCall -d '{"responseParameters":[{"size":1},{"size":2,"intervalUs":10000}]}'; echo "rc=$?"
    $NT grpc call $A $T/StreamingInputCall -d '{"payload":{"body":"AAAA"}} {"payload":{"body":"AA=="}}'; echo "rc=$?"
    printf '%s\n' '{"responseParameters":[{"size":1}]}' '{"responseParameters":[{"size":2}]}' |
      $NT grpc call $A $T/FullDuplexCall -d @-; echo "rc=$?"
    $NT grpc call $A $T/UnaryCall -d '{"responseStatus":{"code":7,"message":"not for you"}}' 2>&1; echo "rc=$?"
    $NT grpc call $A $T/UnaryCall -d '{"responseSize":4194304}' | wc -c
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out ==
        "{\"payload\":{\"body\":\"AAAA\"},\"serverId\":\"node\"}\nrc=0\n1\n1\n"
        "{\"payload\":{\"body\":\"AA==\"}}\n{\"payload\":{\"body\":\"AAA=\"}}\nrc=0\n"
        "{\"aggregatedPayloadSize\":4}\nrc=0\n"
        "{\"payload\":{\"body\":\"AA==\"}}\n{\"payload\":{\"body\":\"AAA=\"}}\nrc=0\n"
        "nettool: grpc call: call /grpc.testing.TestService/UnaryCall: PERMISSION_DENIED: not for you\nrc=71\n"
        "5592450\n");
}
