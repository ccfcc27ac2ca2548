#!/usr/bin/env bash
# tcp throughput, latency and start-up: nettool side by side with socat, nc,
# ncat and iperf3, in one run, on loopback. Prints GB/s, peak RSS and ratios.
#   bench/tcp.sh [BINARY]     (default: build/nettool)
# Needs: socat netcat-openbsd ncat iperf3 hyperfine time gcc (scripts/install-deps.sh)
set -euo pipefail
NT=$(realpath "${1:-$(dirname "$0")/../build/nettool}")
SIZE=${SIZE:-4G}   # bytes per throughput run (head -c syntax)
ACCEPTS=${ACCEPTS:-20000}          # connections in the accept-rate part
ACCEPT_THREADS=${ACCEPT_THREADS:-2}
SRC=$(realpath "$(dirname "$0")")
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$work"' EXIT
cd "$work"

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_listen() { for _ in $(seq 1 400); do [ -n "$(ss -Hltn "sport = :$1")" ] && return 0; sleep 0.025; done; return 1; }
bytes=$(numfmt --from=iec "$SIZE")

# run NAME SERVER-CMD CLIENT-CMD: PORT in both is replaced by a free port.
# Prints the client's wall time, GB/s and both sides' peak RSS.
declare -A gbps
run() {
  local name=$1 server=$2 client=$3 port
  port=$(free_port)
  /usr/bin/time -f %M -o server.rss bash -c "${server//PORT/$port}" & local spid=$!
  wait_listen "$port"
  local start end
  start=$(date +%s%N)
  /usr/bin/time -f %M -o client.rss bash -c "${client//PORT/$port}"
  end=$(date +%s%N)
  wait $spid || true
  local secs; secs=$(echo "scale=4; ($end - $start) / 1000000000" | bc)
  gbps[$name]=$(echo "scale=3; $bytes / $secs / 1000000000" | bc)
  printf '%-28s %7.2f s  %6.2f GB/s  RSS client %6d KiB  server %6d KiB\n' "$name" "$secs" "${gbps[$name]}" \
    "$(cat client.rss)" "$(cat server.rss)"
}

echo "== throughput: $SIZE of zeros from a pipe to a discarding server (loopback)"
run "nettool connect→discard" "$NT tcp listen PORT --discard -q" "head -c $SIZE /dev/zero | $NT tcp connect 127.0.0.1 PORT -q"
run "socat" "socat -u TCP-LISTEN:PORT,bind=127.0.0.1 /dev/null" "head -c $SIZE /dev/zero | socat -u - TCP:127.0.0.1:PORT"
run "nc (openbsd)" "nc -l 127.0.0.1 PORT > /dev/null" "head -c $SIZE /dev/zero | nc -N 127.0.0.1 PORT"
run "nettool bench (no pipe)" "$NT tcp listen PORT --discard -q" "$NT tcp bench 127.0.0.1 PORT --bytes $SIZE -q > /dev/null"
run "iperf3 (no pipe)" "iperf3 -s -1 -p PORT -B 127.0.0.1 > /dev/null" "iperf3 -c 127.0.0.1 -p PORT -n $SIZE > /dev/null"
ratio() { echo "scale=2; ${gbps[$1]} / ${gbps[$2]}" | bc; }
echo "ratio nettool/socat (pipe):        $(ratio 'nettool connect→discard' socat)   (target >= 1.5)"
echo "ratio nettool/nc (pipe):           $(ratio 'nettool connect→discard' 'nc (openbsd)')"
echo "ratio nettool bench/iperf3:        $(ratio 'nettool bench (no pipe)' 'iperf3 (no pipe)')   (target >= 0.7)"

echo
echo "== request/response latency: 64-byte round trips, 1 connection"
port=$(free_port)
$NT tcp listen "$port" -k --echo -q & wait_listen "$port"
$NT tcp bench 127.0.0.1 "$port" --rr --size 64 -n 50000 --warmup 0.5s
echo "== the same at a fixed 5000/s (latency from the intended start)"
$NT tcp bench 127.0.0.1 "$port" --rr --size 64 --rate 5000 -z 3s

echo
echo "== accept rate: $ACCEPTS one-byte connections back to back from $ACCEPT_THREADS client threads"
# Each client sends a byte, half-closes and waits for the server's close;
# the servers print what they get to a file, which is checked.
gcc -O2 -pthread "$SRC/tcp_accept_client.c" -o tcp_accept_client
declare -A cps
accept_rate() {  # NAME SERVER-CMD (PORT replaced)
  local port rate
  port=$(free_port)
  bash -c "${2//PORT/$port}" < /dev/null > accepted.out & local spid=$!
  wait_listen "$port"
  rate=$(./tcp_accept_client "$port" "$ACCEPTS" "$ACCEPT_THREADS")
  kill $spid; wait $spid 2>/dev/null || true
  [ "$(tr -cd x < accepted.out | wc -c)" = "$ACCEPTS" ] || { echo "$1: $(wc -c < accepted.out) bytes arrived, not $ACCEPTS" >&2; exit 1; }
  cps[$1]=$rate
  printf '%-22s %8d conn/s\n' "$1" "$rate"
}
accept_rate "nettool tcp listen -k" "exec $NT tcp listen PORT -k -q"
accept_rate "ncat -lk" "exec ncat -lk 127.0.0.1 PORT"
accept_rate "nc -lk (openbsd)" "exec nc -lk 127.0.0.1 PORT"
best=$(( cps["ncat -lk"] > cps["nc -lk (openbsd)"] ? cps["ncat -lk"] : cps["nc -lk (openbsd)"] ))
echo "ratio nettool/faster of ncat and nc: $(echo "scale=2; ${cps["nettool tcp listen -k"]} / $best" | bc)   (target >= 1.0)"

echo
echo "== start-up and one connection per process (hyperfine -N)"
port2=$(free_port)
socat TCP-LISTEN:"$port2",bind=127.0.0.1,fork,reuseaddr EXEC:cat & wait_listen "$port2"
# The start-up reference: a C++ program printing with iostreams, libstdc++
# linked in statically (what a C++ tool pays before doing anything).
printf '#include <iostream>\nint main() { std::cout << "hello 0.1.0" << std::endl; }\n' > hello.cpp
g++ -O2 -static-libstdc++ hello.cpp -o hello_iostream
hyperfine -N --warmup 20 --runs 300 --export-json startup.json \
  "$NT --version" \
  "./hello_iostream" \
  "$NT tcp connect 127.0.0.1 $port --send x --eof close -q" \
  "nc -N 127.0.0.1 $port" \
  "ncat --send-only 127.0.0.1 $port" \
  "socat -u OPEN:/dev/null TCP:127.0.0.1:$port" 2>/dev/null | grep -E "Benchmark|Time \(mean"
/usr/bin/python3 - <<'PY'
import json
r = {x["command"].split()[0].rsplit("/", 1)[-1] + (" --version" if "--version" in x["command"] else (" connect" if "tcp connect" in x["command"] else "")): x["mean"] for x in json.load(open("startup.json"))["results"]}
print(f"nettool --version: {r['nettool --version']*1000:.2f} ms, hello_iostream {r['hello_iostream']*1000:.2f} ms: "
      f"ratio {r['nettool --version'] / r['hello_iostream']:.2f} (target <= 1.3)")
nt = r["nettool connect"]
for peer in ("nc", "ncat", "socat"):
    print(f"one-byte connection, nettool/{peer}: {nt / r[peer]:.2f} (target <= 1.2 vs nc)")
PY
