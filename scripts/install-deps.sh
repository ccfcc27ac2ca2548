#!/usr/bin/env bash
# Installs every Debian 12 package nettool needs to build and to run its
# tests (the real peers included). Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

build_pkgs=(
  build-essential cmake ninja-build pkg-config ccache
  libboost1.81-dev libboost-url1.81-dev libboost-json1.81-dev
  libssl-dev libcli11-dev libfmt-dev zlib1g-dev catch2
  libzmq3-dev cppzmq-dev libpugixml-dev
  libgrpc++-dev libgrpc-dev protobuf-compiler-grpc protobuf-compiler libprotobuf-dev libprotoc-dev grpc-proto
  clang libclang-rt-14-dev  # the libFuzzer targets (scripts/fuzz.sh)
)
peer_pkgs=(
  curl socat netcat-openbsd ncat openssl iperf3 microsocks tinyproxy nginx-light wrk jq
  iproute2 procps time hyperfine python3 python3-zmq python3-websockets libwebsockets-test-server
  libxmlrpc-core-c3-dev  # xmlrpc-c, whose client library drives the tests' xmlrpc-c peer
  python3-grpcio python3-protobuf  # grpcio's server and client (stubs made at test time with protoc)
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
