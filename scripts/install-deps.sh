#!/usr/bin/env bash
# Installs every Debian 12 package nettool needs to build and to run its
# tests (the real peers included). Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

build_pkgs=(
  build-essential cmake ninja-build pkg-config ccache
  libboost1.81-dev libboost-url1.81-dev libboost-json1.81-dev
  libssl-dev libcli11-dev libfmt-dev zlib1g-dev catch2
  libzmq3-dev cppzmq-dev libpugixml-dev librabbitmq-dev
  libgrpc++-dev libgrpc-dev protobuf-compiler-grpc protobuf-compiler libprotobuf-dev libprotoc-dev grpc-proto
  clang libclang-rt-14-dev  # the libFuzzer targets (scripts/fuzz.sh)
)
peer_pkgs=(
  curl socat netcat-openbsd ncat openssl iperf3 microsocks tinyproxy nginx-light wrk jq
  iproute2 procps time hyperfine python3 python3-zmq python3-websockets libwebsockets-test-server
  libxmlrpc-core-c3-dev  # xmlrpc-c, whose client library drives the tests' xmlrpc-c peer
  python3-grpcio python3-protobuf  # grpcio's server and client (stubs made at test time with protoc)
  rabbitmq-server amqp-tools python3-pika  # the tests' own broker and amqp peers
  node-ws  # Node's ws library and wscat (pulls Debian's nodejs where none is installed)
)

sudo_cmd=()
[ "$(id -u)" = 0 ] || sudo_cmd=(sudo)

# Services pulled in by peer packages (tinyproxy, iperf3) must not start:
# tests start their own instances on free ports.
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 \
  apt-get install -y -qq --no-install-recommends "${build_pkgs[@]}" "${peer_pkgs[@]}" >/dev/null

# Node's @grpc/grpc-js (a test peer, and bench/grpc.sh's Node client) from
# the npm registry into build/peers, which git ignores; no lockfile is
# written, so no registry address lands in the repository. Debian's npm
# only where there is none. Best effort: where the registry cannot be
# reached (or its certificate is not trusted), the Node grpc-js test is not
# built (tests/CMakeLists.txt says so) and bench/grpc.sh skips Node.
command -v npm >/dev/null ||
  "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends npm >/dev/null
if [ ! -d build/peers/node_modules/@grpc/grpc-js ] || [ ! -d build/peers/node_modules/@grpc/proto-loader ]; then
  mkdir -p build/peers
  if ! npm install --prefix build/peers --no-save --no-package-lock --no-audit --no-fund --loglevel=error \
      @grpc/grpc-js@1 @grpc/proto-loader@0 >/dev/null 2>npm.err; then
    echo "install-deps: warning: npm could not install @grpc/grpc-js ($(grep -m1 -o 'code [A-Z_]*' npm.err || echo 'see npm')):" \
      "the Node grpc-js test is not built and bench/grpc.sh skips Node" >&2
  fi
  rm -f npm.err
fi
