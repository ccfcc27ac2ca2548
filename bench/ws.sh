#!/usr/bin/env bash
# ws: `ws serve --echo` against libwebsockets' test server, Node's ws and
# Python's websockets, all driven by the same client (`ws bench`, 64 B
# messages); `ws bench` against a Node ws client loop; 10 000 idle
# connections held by `ws serve`. One run, loopback only; prints messages/s,
# each server's CPU time per message (client and server share the two
# cores, so messages/s is bounded by whichever side is slower, while CPU
# per message is the server's own cost), ratios with their targets, the
# loopback round-trip bound at c=1 (bench/tcp_pingpong_ref.c), and RSS.
#   bench/ws.sh [BINARY]     (default: build/nettool)
# Needs: libwebsockets-test-server python3-websockets node-ws (scripts/install-deps.sh)
set -euo pipefail
NT=$(realpath "${1:-$(dirname "$0")/../build/nettool}")
PEERS=$(realpath "$(dirname "$0")/../tests/peers")
BENCH=$(realpath "$(dirname "$0")")
DUR=${DUR:-3s}
IDLE=${IDLE:-10000}
export NODE_PATH=/usr/share/nodejs  # Debian's node-ws, also for a Node.js from elsewhere
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$work"' EXIT
cd "$work"

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_listen() { for _ in $(seq 1 400); do [ -n "$(ss -Hltn "sport = :$1")" ] && return 0; sleep 0.025; done; return 1; }
wait_file() { for _ in $(seq 1 400); do [ -s "$1" ] && return 0; sleep 0.025; done; return 1; }
sum_rates() { /usr/bin/python3 -c 'import json,sys; print(round(sum(json.loads(l)["rate"] for l in sys.stdin if l.strip())))'; }
sum_counts() { /usr/bin/python3 -c 'import json,sys; print(sum(json.loads(l)["count"] for l in sys.stdin if l.strip()))'; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }  # user + system, in clock ticks

# rate PID URL C [ARGS...]: "MSGS/S US/MSG" for C connections to server PID,
# each its own `ws bench -c 1` process (libwebsockets' mirror needs one
# ?mirror=NAME per connection: "{i}" in URL becomes the connection's
# number), or one `ws bench -c C` for C > 3. US/MSG is the server's CPU
# time per message, warm-up included in both the time and the count.
rate() {
  local pid=$1 url=$2 c=$3; shift 3
  local before; before=$(cpu_ticks "$pid")
  if [ "$c" -le 3 ]; then
    for i in $(seq 1 "$c"); do
      "$NT" ws bench "${url//\{i\}/$i}" -c 1 --duration "$DUR" --warmup 0s --json -q "$@" > "bench.$i.json" &
    done
    wait  # (a subshell: the servers are not its children)
  else
    "$NT" ws bench "$url" -c "$c" --duration "$DUR" --warmup 0s --json -q "$@" > bench.1.json
  fi
  local after; after=$(cpu_ticks "$pid")
  local count; count=$(cat bench.*.json | sum_counts)
  echo "$(cat bench.*.json | sum_rates) $(echo "scale=2; ($after - $before) * 1000000 / $(getconf CLK_TCK) / $count" | bc)"
  rm -f bench.*.json
}

declare -A r u
measure() {  # measure KEY PID URL C [ARGS...]
  local key=$1; shift
  read -r "r[$key]" "u[$key]" < <(rate "$@")
}
echo "== echo servers, 64 B messages, one in flight per connection ($DUR each)"
p=$(free_port); "$NT" ws serve "$p" -q & NTS=$!; wait_listen "$p"
for c in 1 3 64; do measure "nt$c" "$NTS" "ws://127.0.0.1:$p/" "$c"; done
ntport=$p

p=$(free_port); libwebsockets-test-server --port="$p" --interface=lo -d 0 > /dev/null 2>&1 & LWS=$!; wait_listen "$p"
for c in 1 3; do measure "lws$c" "$LWS" "ws://127.0.0.1:$p/?mirror=b{i}" "$c" --subprotocol lws-mirror-protocol; done

node "$PEERS/ws_peer.js" serve node.port echo 2> /dev/null & NODE=$!; wait_file node.port; p=$(cat node.port)
for c in 1 3 64; do measure "node$c" "$NODE" "ws://127.0.0.1:$p/" "$c"; done

/usr/bin/python3 "$PEERS/ws_peer.py" serve py.port echo 2> /dev/null & PY=$!; wait_file py.port; p=$(cat py.port)
for c in 1 3 64; do measure "py$c" "$PY" "ws://127.0.0.1:$p/" "$c"; done

gcc -O2 -o pingpong "$BENCH/tcp_pingpong_ref.c"
./pingpong serve > pp.port & wait_file pp.port
r[bound]=$(./pingpong client "$(cat pp.port)" "${DUR%s}")

row() { printf '%-34s %10s %10s %10s   %8s %8s %8s\n' "$@"; }
row "server" "c=1 msg/s" "c=3" "c=64" "us/msg" "c=3" "c=64"
row "nettool ws serve" "${r[nt1]}" "${r[nt3]}" "${r[nt64]}" "${u[nt1]}" "${u[nt3]}" "${u[nt64]}"
row "libwebsockets-test-server (mirror)" "${r[lws1]}" "${r[lws3]}" "-" "${u[lws1]}" "${u[lws3]}" "-"
row "node ws" "${r[node1]}" "${r[node3]}" "${r[node64]}" "${u[node1]}" "${u[node3]}" "${u[node64]}"
row "python websockets" "${r[py1]}" "${r[py3]}" "${r[py64]}" "${u[py1]}" "${u[py3]}" "${u[py64]}"
echo "loopback bound at c=1 (blocking C TCP ping-pong, no WebSocket): ${r[bound]} round trips/s"
ratio() { echo "scale=2; $1 / $2" | bc; }
echo "messages/s, nettool/libwebsockets c=1: $(ratio "${r[nt1]}" "${r[lws1]}")  c=3: $(ratio "${r[nt3]}" "${r[lws3]}")   (target >= 1.0)"
echo "messages/s, nettool/node ws       c=1: $(ratio "${r[nt1]}" "${r[node1]}")  c=3: $(ratio "${r[nt3]}" "${r[node3]}")  c=64: $(ratio "${r[nt64]}" "${r[node64]}")   (target >= 2)"
echo "messages/s, nettool/python        c=1: $(ratio "${r[nt1]}" "${r[py1]}")  c=3: $(ratio "${r[nt3]}" "${r[py3]}")  c=64: $(ratio "${r[nt64]}" "${r[py64]}")   (target >= 5)"
echo "CPU per message, libwebsockets/nettool c=1: $(ratio "${u[lws1]}" "${u[nt1]}")  c=3: $(ratio "${u[lws3]}" "${u[nt3]}")   (target >= 1.0)"
echo "CPU per message, node ws/nettool       c=1: $(ratio "${u[node1]}" "${u[nt1]}")  c=3: $(ratio "${u[node3]}" "${u[nt3]}")  c=64: $(ratio "${u[node64]}" "${u[nt64]}")   (target >= 2)"
echo "CPU per message, python/nettool        c=1: $(ratio "${u[py1]}" "${u[nt1]}")  c=3: $(ratio "${u[py3]}" "${u[nt3]}")  c=64: $(ratio "${u[py64]}" "${u[nt64]}")   (target >= 5)"
echo "2x node ws at c=1 would be $((2 * r[node1])) msg/s; the loopback bound is ${r[bound]}"

echo
echo "== clients against nettool ws serve: ws bench vs a Node ws client loop (c=1, 64 B)"
cat > loop.js <<'JS'
// One connection, one message in flight, for DUR seconds: messages/s.
const WebSocket = require('ws');
const ws = new WebSocket(process.argv[3]);
const payload = 'x'.repeat(64);
const seconds = Number(process.argv[4]);
let n = 0, end;
ws.on('open', () => { end = Date.now() + seconds * 1000; ws.send(payload); });
ws.on('message', () => {
  n++;
  if (Date.now() < end) ws.send(payload);
  else { console.log(Math.round(n / seconds)); ws.close(); }
});
JS
secs=${DUR%s}
r[nodeclient]=$(node loop.js "$PEERS" "ws://127.0.0.1:$ntport/" "$secs")
r[ntclient]=$("$NT" ws bench "ws://127.0.0.1:$ntport/" -c 1 --duration "$DUR" --json -q | sum_rates)
echo "nettool ws bench: ${r[ntclient]}/s   node ws loop: ${r[nodeclient]}/s   ratio $(ratio "${r[ntclient]}" "${r[nodeclient]}")   (target >= 2; 2x the loop would be $((2 * r[nodeclient]))/s, the loopback bound is ${r[bound]})"

echo
echo "== $IDLE idle connections held by nettool ws serve"
ulimit -n $((IDLE * 2 + 1024)) 2>/dev/null || echo "(could not raise the fd limit: $(ulimit -n))"
p=$(free_port); "$NT" ws serve "$p" -q --max-conns $((IDLE + 10)) & IDS=$!; wait_listen "$p"
cat > idle.js <<'JS'
// Opens N WebSockets, prints "open N" once all are open, then holds them.
const WebSocket = require('ws');
const n = Number(process.argv[4]);
let open = 0, pending = 0, started = 0;
function more() {
  while (pending < 200 && started < n) {
    started++; pending++;
    const ws = new WebSocket(process.argv[3], { perMessageDeflate: false });
    ws.on('open', () => { pending--; if (++open === n) console.log('open ' + n); more(); });
    ws.on('error', (e) => { console.error(e.message); process.exit(1); });
  }
}
more();
setInterval(() => {}, 1000);
JS
node idle.js "$PEERS" "ws://127.0.0.1:$p/" "$IDLE" > idle.out & IDC=$!
for _ in $(seq 1 1200); do grep -q open idle.out 2>/dev/null && break; sleep 0.05; done
echo "client: $(cat idle.out)"
echo "ws serve RSS with $IDLE idle WebSockets: $(awk '/^VmRSS:/ {printf "%.1f MiB", $2/1024}' /proc/$IDS/status) (target <= 64 MiB)"
kill $IDC 2>/dev/null || true
