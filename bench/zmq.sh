#!/usr/bin/env bash
# zmq speed, side by side in one run on loopback, ratios printed:
#  1. zmq bench --pattern push-pull --size 64 vs the same done by libzmq
#     through cppzmq alone (bench/zmq_ref.cpp, built here);
#  2. 1 000 000 lines from a file: nettool zmq push -> nettool zmq pull to a
#     file, end to end, vs the same pipe with two pyzmq scripts, and with two
#     small cppzmq programs (bench/zmq_pipe_ref.cpp: the plainest blocking
#     loops on libzmq, a reference for what the library itself costs).
#  3. the same lines through nettool zmq pub --wait-subscribers 1 -> nettool
#     zmq sub --count, vs the same pub/sub pair in zmq_pipe_ref (XPUB_NODROP,
#     as nettool's pub) and vs pyzmq, with push -> pull in the same rounds.
#   bench/zmq.sh [BINARY]     (default: build/nettool)
# Needs: libzmq3-dev cppzmq-dev python3-zmq g++ (scripts/install-deps.sh)
set -euo pipefail
NT=$(realpath "${1:-$(dirname "$0")/../build/nettool}")
SRC=$(realpath "$(dirname "$0")")
N=${N:-2000000}        # messages in part 1
LINES=${LINES:-1000000}
ROUNDS=${ROUNDS:-7}    # each measurement alternates this many times; medians are compared
PY=/usr/bin/python3
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$work"' EXIT
cd "$work"
free_port() { $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
ratio() { echo "scale=2; $1 / $2" | bc; }
median() { printf '%s\n' "$@" | sort -g | sed -n "$(( ($# + 1) / 2 ))p"; }

g++ -O2 -std=c++17 "$SRC/zmq_ref.cpp" -o zmq_ref -lzmq -pthread
g++ -O2 -std=c++17 "$SRC/zmq_pipe_ref.cpp" -o zmq_pipe_ref -lzmq -pthread

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
listening() {  # listening PORT: a socket in LISTEN state on it (/proc/net/tcp, no peer disturbed)
  grep -q ":$(printf '%04X' "$1") 00000000:0000 0A" /proc/net/tcp
}
pipe() {  # pipe NAME PULL-CMD PUSH-CMD PORT: from the push's start to the pull's end, output checked
  local start end
  bash -c "$2" & local pull=$!
  # The pull binds first, so no run pays a reconnect interval for a push
  # that came up faster (start-up is measured on its own: docs/benchmarks.md).
  until listening "$4"; do sleep 0.01; done
  start=$(date +%s%N)
  bash -c "$3"
  wait $pull
  end=$(date +%s%N)
  cmp -s lines.txt out.txt || { echo "$1: output differs" >&2; exit 1; }
  rm -f out.txt
  echo "scale=3; ($end - $start) / 1000000000" | bc
}
nt_runs=() py_runs=() ref_runs=()
for _ in $(seq "$ROUNDS"); do
  p=$(free_port)
  nt_runs+=("$(pipe nettool "'$NT' zmq pull --bind tcp://127.0.0.1:$p --count $LINES > out.txt" \
    "'$NT' zmq push --connect tcp://127.0.0.1:$p < lines.txt" "$p")")
  p=$(free_port)
  py_runs+=("$(pipe pyzmq "$PY pull.py tcp://127.0.0.1:$p $LINES out.txt" "$PY push.py tcp://127.0.0.1:$p lines.txt" "$p")")
  p=$(free_port)
  ref_runs+=("$(pipe cppzmq "./zmq_pipe_ref pull tcp://127.0.0.1:$p $LINES > out.txt" \
    "./zmq_pipe_ref push tcp://127.0.0.1:$p < lines.txt" "$p")")
done
rate() { echo "$LINES / $(median "$@")" | bc; }
nt_rate=$(rate "${nt_runs[@]}") py_rate=$(rate "${py_runs[@]}") ref_rate=$(rate "${ref_runs[@]}")
printf '%-18s %6.2f s  %10d msg/s   (runs: %s)\n' \
  "nettool push|pull" "$(median "${nt_runs[@]}")" "$nt_rate" "${nt_runs[*]}" \
  "pyzmq scripts" "$(median "${py_runs[@]}")" "$py_rate" "${py_runs[*]}" \
  "cppzmq programs" "$(median "${ref_runs[@]}")" "$ref_rate" "${ref_runs[*]}"
echo "nettool end to end: $nt_rate msg/s (target >= 1000000)"
echo "ratio nettool/pyzmq: $(ratio "$nt_rate" "$py_rate")   (target >= 3)"
echo "ratio nettool/cppzmq programs: $(ratio "$nt_rate" "$ref_rate")   (target >= 0.9: plain blocking libzmq loops)"

echo "== 3. $LINES lines of 64 bytes: pub from a file -> sub to a file, end to end (median of $ROUNDS)"
seq -f '%063g' "$LINES" > lines.txt  # more than the queues and socket buffers hold: the pub must wait
cat > pub.py <<'PYEOF'
import sys, zmq
s = zmq.Context().socket(zmq.XPUB); s.setsockopt(zmq.XPUB_NODROP, 1); s.bind(sys.argv[1])
s.recv()  # the first subscription
with open(sys.argv[2], "rb") as f:
    for line in f:
        s.send(line.rstrip(b"\n"))
s.close(linger=-1)
PYEOF
cat > sub.py <<'PYEOF'
import sys, zmq
s = zmq.Context().socket(zmq.SUB); s.setsockopt(zmq.SUBSCRIBE, b""); s.connect(sys.argv[1])
n = int(sys.argv[2])
with open(sys.argv[3], "wb") as out:
    for _ in range(n):
        out.write(s.recv() + b"\n")
PYEOF
# pipe's first command binds and runs in the background: here the pub,
# waiting for its subscriber; the timed span ends when both have finished.
ps_runs=() pp_runs=() pyps_runs=() refps_runs=()
for _ in $(seq "$ROUNDS"); do
  p=$(free_port)
  ps_runs+=("$(pipe "nettool pub|sub" "'$NT' zmq pub --bind tcp://127.0.0.1:$p --wait-subscribers 1 < lines.txt" \
    "'$NT' zmq sub --connect tcp://127.0.0.1:$p --count $LINES > out.txt" "$p")")
  p=$(free_port)
  pp_runs+=("$(pipe "nettool push|pull" "'$NT' zmq pull --bind tcp://127.0.0.1:$p --count $LINES > out.txt" \
    "'$NT' zmq push --connect tcp://127.0.0.1:$p < lines.txt" "$p")")
  p=$(free_port)
  pyps_runs+=("$(pipe "pyzmq pub|sub" "$PY pub.py tcp://127.0.0.1:$p lines.txt" "$PY sub.py tcp://127.0.0.1:$p $LINES out.txt" "$p")")
  p=$(free_port)
  refps_runs+=("$(pipe "cppzmq pub|sub" "./zmq_pipe_ref pub tcp://127.0.0.1:$p < lines.txt" \
    "./zmq_pipe_ref sub tcp://127.0.0.1:$p $LINES > out.txt" "$p")")
done
ps_rate=$(rate "${ps_runs[@]}") pp_rate=$(rate "${pp_runs[@]}") pyps_rate=$(rate "${pyps_runs[@]}") refps_rate=$(rate "${refps_runs[@]}")
printf '%-18s %6.2f s  %10d msg/s   (runs: %s)\n' \
  "nettool pub|sub" "$(median "${ps_runs[@]}")" "$ps_rate" "${ps_runs[*]}" \
  "nettool push|pull" "$(median "${pp_runs[@]}")" "$pp_rate" "${pp_runs[*]}" \
  "pyzmq pub|sub" "$(median "${pyps_runs[@]}")" "$pyps_rate" "${pyps_runs[*]}" \
  "cppzmq pub|sub" "$(median "${refps_runs[@]}")" "$refps_rate" "${refps_runs[*]}"
echo "ratio nettool pub|sub / cppzmq pub|sub: $(ratio "$ps_rate" "$refps_rate")   (target >= 0.9)"
echo "ratio nettool push|pull / cppzmq push|pull (part 2): $(ratio "$nt_rate" "$ref_rate")   (target >= 0.9)"
echo "ratio nettool pub|sub / nettool push|pull: $(ratio "$ps_rate" "$pp_rate")   (level: >= 0.9)"
echo "ratio nettool pub|sub / pyzmq pub|sub: $(ratio "$ps_rate" "$pyps_rate")"
