#!/usr/bin/env bash
# grpc: `grpc serve` and `grpc bench` beside what grpc++ itself costs (a
# minimal callback server and client, bench/grpc_ref.cpp, built here) and
# beside Python's grpcio server; and one `grpc call` process per call
# against grpcio's client, one process each. Unary UnaryCall with
# response_size 10 everywhere. One run, loopback only; prints each figure
# and its ratio beside the target.
#   bench/grpc.sh [BINARY]      (default: build/nettool; DUR, C, CONNS, ROUNDS, RUNS)
# Needs: g++ protoc libgrpc++-dev python3-grpcio hyperfine (scripts/install-deps.sh)
set -euo pipefail
NT=$(realpath "${1:-$(dirname "$0")/../build/nettool}")
HERE=$(realpath "$(dirname "$0")")
PEERS=$(realpath "$HERE/../tests/peers")
DUR=${DUR:-5}
C=${C:-16}
CONNS=${CONNS:-2}
RUNS=${RUNS:-50}
ROUNDS=${ROUNDS:-3}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$work"' EXIT
cd "$work"

wait_file() { for _ in $(seq 1 400); do [ -s "$1" ] && return 0; sleep 0.025; done; return 1; }
ratio() { echo "scale=2; $1 / $2" | bc; }

echo "== building the reference (grpc++ callback server and client)"
mkdir gen
protoc -I /usr/share/grpc-proto --cpp_out=gen --grpc_out=gen --plugin=protoc-gen-grpc="$(command -v grpc_cpp_plugin)" \
  grpc/testing/empty.proto grpc/testing/messages.proto grpc/testing/test.proto
g++ -std=c++20 -O2 -Igen "$HERE/grpc_ref.cpp" gen/grpc/testing/*.cc -o grpc_ref \
  $(pkg-config --cflags --libs grpc++ protobuf) -lpthread

/usr/bin/python3 "$PEERS/grpc_peer.py" stubs stubs
"$NT" grpc serve 0 --port-file nt.port -q & NTPID=$!; wait_file nt.port
./grpc_ref server ref.port & REFPID=$!; wait_file ref.port
/usr/bin/python3 "$PEERS/grpc_peer.py" serve stubs py.port 2>/dev/null & PYPID=$!; wait_file py.port
NTP=$(cat nt.port) REFP=$(cat ref.port) PYP=$(cat py.port)
M=grpc.testing.TestService/UnaryCall
REQ='{"responseSize":10}'

bench_rate() {  # bench_rate PORT: calls/s from `grpc bench`
  "$NT" grpc bench "127.0.0.1:$1" $M --proto stubs/test.proto -d "$REQ" -c "$C" --connections "$CONNS" -z "${DUR}s" --json -q |
    /usr/bin/python3 -c 'import json,sys; print(int(json.load(sys.stdin)["rate"]))'
}

# The server's own CPU per call (/proc: user + system), whoever is the
# bottleneck: client and server share this machine's cores.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
served() {  # served PID PORT: "calls/s us-of-CPU-per-call"
  local before after rate
  before=$(cpu_ticks "$1")
  rate=$(bench_rate "$2")
  after=$(cpu_ticks "$1")
  echo "$rate $(echo "scale=1; ($after - $before) * 1000000 / $(getconf CLK_TCK) / ($rate * $DUR)" | bc)"
}
# The median of ROUNDS runs, nettool's and the reference's taken in turn:
# on this machine one run can be off by 20 % either way, and a fixed order
# favours whoever runs second.
median() { sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
echo "== servers, each driven by grpc bench (-c $C, --connections $CONNS, ${DUR}s, median of $ROUNDS rounds)"
: > nt.runs; : > ref.runs
for round in $(seq "$ROUNDS"); do
  if [ $((round % 2)) = 1 ]; then served "$NTPID" "$NTP" >> nt.runs; served "$REFPID" "$REFP" >> ref.runs
  else served "$REFPID" "$REFP" >> ref.runs; served "$NTPID" "$NTP" >> nt.runs; fi
done
nt=$(cut -d' ' -f1 nt.runs | median) ntcpu=$(cut -d' ' -f2 nt.runs | median)
ref=$(cut -d' ' -f1 ref.runs | median) refcpu=$(cut -d' ' -f2 ref.runs | median)
runs() { awk '{printf "%s%s/s %sus", (NR > 1 ? ", " : ""), $1, $2}' "$1"; }
echo "runs (calls/s, server CPU per call): grpc serve $(runs nt.runs); reference $(runs ref.runs)"
read -r py pycpu < <(served "$PYPID" "$PYP")
echo "grpc serve $nt calls/s, grpc++ reference server $ref: $(ratio "$nt" "$ref")x (target >= 0.9x)"
echo "grpc serve $nt calls/s, Python grpcio server $py: $(ratio "$nt" "$py")x (target >= 5x)"
echo "server CPU per call: grpc serve ${ntcpu} us, reference ${refcpu} us, Python ${pycpu} us (theirs/ours: $(ratio "$refcpu" "$ntcpu")x, $(ratio "$pycpu" "$ntcpu")x)"

echo "== clients, against the grpc++ reference server (-c $C over $CONNS connections, ${DUR}s)"
nt=$(bench_rate "$REFP")
refc=$(./grpc_ref client "127.0.0.1:$REFP" "$C" "$CONNS" "$DUR")
echo "grpc bench $nt calls/s, grpc++ reference client $refc: $(ratio "$nt" "$refc")x (target >= 0.9x)"
NODE_MODULES=$(realpath "$HERE/../build/peers/node_modules" 2>/dev/null || true)
if [ -n "$NODE_MODULES" ] && [ -d "$NODE_MODULES/@grpc/grpc-js" ]; then
  node=$(NODE_PATH=$NODE_MODULES node "$PEERS/grpc_node_peer.js" loop stubs "127.0.0.1:$REFP" "$C" "$DUR")
  echo "grpc bench $nt calls/s, Node grpc-js client loop $node: $(ratio "$nt" "$node")x (target >= 2x)"
else
  echo "Node grpc-js client loop (target: grpc bench >= 2x): skipped, @grpc/grpc-js is not in build/peers (scripts/install-deps.sh)"
fi

echo "== one call per process, $RUNS runs each (hyperfine), against grpc serve"
cat > py_call.py <<PY
import sys
sys.path.insert(0, "stubs")
import grpc, messages_pb2, test_pb2_grpc
stub = test_pb2_grpc.TestServiceStub(grpc.insecure_channel("127.0.0.1:$NTP"))
print(stub.UnaryCall(messages_pb2.SimpleRequest(response_size=10)))
PY
hyperfine -N --warmup 5 --runs "$RUNS" --export-json times.json \
  "$NT grpc call 127.0.0.1:$NTP $M -d '$REQ' --proto stubs/test.proto" \
  "$NT grpc call 127.0.0.1:$NTP $M -d '$REQ'" \
  "/usr/bin/python3 py_call.py" > /dev/null 2>&1
read -r ntp ntr py < <(/usr/bin/python3 -c 'import json; r = json.load(open("times.json"))["results"]; print(*(x["mean"] for x in r))')
ms() { echo "scale=2; $1 * 1000 / 1" | bc; }
echo "grpc call --proto $(ms "$ntp") ms, Python grpcio $(ms "$py") ms: $(ratio "$ntp" "$py")x their time (target <= 0.5x)"
echo "grpc call (reflection) $(ms "$ntr") ms, Python grpcio $(ms "$py") ms: $(ratio "$ntr" "$py")x their time (target <= 0.5x)"
"$NT" tcp listen 0 -k --discard --port-file tcp.port -q & wait_file tcp.port
hyperfine -N --warmup 5 --runs "$RUNS" --export-json tcp.json "$NT tcp connect 127.0.0.1 $(cat tcp.port) --send x" > /dev/null 2>&1
echo "tcp connect (one byte, one process; grpc++ is never loaded): $(ms "$(/usr/bin/python3 -c 'import json; print(json.load(open("tcp.json"))["results"][0]["mean"])')") ms"
