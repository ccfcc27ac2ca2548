#!/usr/bin/env bash
# zmq speed, side by side in one run on loopback, ratios printed:
#  1. zmq bench --pattern push-pull --size 64 vs the same done by libzmq
#     through cppzmq alone (bench/zmq_ref.cpp, built here);
#  2. 1 000 000 lines from a file: nettool zmq push -> nettool zmq pull to a
#     file, end to end, vs the same pipe with two pyzmq scripts.
#   bench/zmq.sh [BINARY]     (default: build/nettool)
# Needs: libzmq3-dev cppzmq-dev python3-zmq g++ (scripts/install-deps.sh)
set -euo pipefail
NT=$(realpath "${1:-$(dirname "$0")/../build/nettool}")
SRC=$(realpath "$(dirname "$0")")
N=${N:-2000000}        # messages in part 1
LINES=${LINES:-1000000}
ROUNDS=${ROUNDS:-3}    # each measurement alternates this many times; medians are compared
PY=/usr/bin/python3
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$work"' EXIT
cd "$work"
free_port() { $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
ratio() { echo "scale=2; $1 / $2" | bc; }
median() { printf '%s\n' "$@" | sort -g | sed -n "$(( ($# + 1) / 2 ))p"; }

g++ -O2 -std=c++17 "$SRC/zmq_ref.cpp" -o zmq_ref -lzmq -pthread

echo "== 1. push-pull, 64-byte messages, $N messages, one process, two threads (median of $ROUNDS)"
nts=() refs=()
for _ in $(seq "$ROUNDS"); do
  nts+=("$("$NT" zmq bench --pattern push-pull --size 64 -n "$N" --json -q | $PY -c 'import json,sys; print(json.load(sys.stdin)["rate"])')")
  refs+=("$(./zmq_ref "$N" 64 "$(free_port)")")
done
nt=$(median "${nts[@]}") ref=$(median "${refs[@]}")
printf 'nettool zmq bench  %12.0f msg/s   (runs: %s)\ncppzmq reference   %12.0f msg/s   (runs: %s)\n' \
  "$nt" "$(printf '%.0f ' "${nts[@]}")" "$ref" "$(printf '%.0f ' "${refs[@]}")"
echo "ratio nettool/libzmq: $(ratio "$nt" "$ref")   (target >= 0.9)"

echo "== 2. $LINES lines: push from a file -> pull to a file, end to end (median of $ROUNDS)"
seq "$LINES" > lines.txt
cat > push.py <<'PYEOF'
import sys, zmq
s = zmq.Context().socket(zmq.PUSH); s.connect(sys.argv[1])
with open(sys.argv[2], "rb") as f:
    for line in f:
        s.send(line.rstrip(b"\n"))
s.close(linger=-1)
PYEOF
cat > pull.py <<'PYEOF'
import sys, zmq
s = zmq.Context().socket(zmq.PULL); s.bind(sys.argv[1])
n = int(sys.argv[2])
with open(sys.argv[3], "wb") as out:
    for _ in range(n):
        out.write(s.recv() + b"\n")
PYEOF
pipe() {  # pipe NAME PULL-CMD PUSH-CMD: wall time of both, output checked
  local start end
  start=$(date +%s%N)
  bash -c "$2" & local pull=$!
  bash -c "$3"
  wait $pull
  end=$(date +%s%N)
  cmp -s lines.txt out.txt || { echo "$1: output differs" >&2; exit 1; }
  rm -f out.txt
  echo "scale=3; ($end - $start) / 1000000000" | bc
}
nt_runs=() py_runs=()
for _ in $(seq "$ROUNDS"); do
  p=$(free_port)
  nt_runs+=("$(pipe nettool "'$NT' zmq pull --bind tcp://127.0.0.1:$p --count $LINES > out.txt" \
    "'$NT' zmq push --connect tcp://127.0.0.1:$p < lines.txt")")
  p=$(free_port)
  py_runs+=("$(pipe pyzmq "$PY pull.py tcp://127.0.0.1:$p $LINES out.txt" "$PY push.py tcp://127.0.0.1:$p lines.txt")")
done
nt_s=$(median "${nt_runs[@]}") py_s=$(median "${py_runs[@]}")
nt_rate=$(echo "$LINES / $nt_s" | bc)
py_rate=$(echo "$LINES / $py_s" | bc)
printf 'nettool push|pull  %6.2f s  %10d msg/s\npyzmq scripts      %6.2f s  %10d msg/s\n' "$nt_s" "$nt_rate" "$py_s" "$py_rate"
echo "nettool end to end: $nt_rate msg/s (target >= 1000000)"
echo "ratio nettool/pyzmq: $(ratio "$nt_rate" "$py_rate")   (target >= 3)"
