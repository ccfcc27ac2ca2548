#!/usr/bin/env bash
# ws: `ws serve --echo` against libwebsockets' test server, Node's ws and
# Python's websockets, all driven by the same client (`ws bench`, 64 B
# messages); `ws bench` against a Node ws client loop; 10 000 idle
# connections held by `ws serve`. One run, loopback only; prints messages/s,
# ratios with their targets, and RSS.
#   bench/ws.sh [BINARY]     (default: build/nettool)
# Needs: libwebsockets-test-server python3-websockets node-ws (scripts/install-deps.sh)
set -euo pipefail
NT=$(realpath "${1:-$(dirname "$0")/../build/nettool}")
PEERS=$(realpath "$(dirname "$0")/../tests/peers")
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

# rate URL C [ARGS...]: messages/s of C connections, each its own `ws bench
# -c 1` process (libwebsockets' mirror needs one ?mirror=NAME per
# connection: "{i}" in URL becomes the connection's number).
rate() {
  local url=$1 c=$2; shift 2
  for i in $(seq 1 "$c"); do
    "$NT" ws bench "${url//\{i\}/$i}" -c 1 --duration "$DUR" --warmup 0.5s --json -q "$@" > "bench.$i.json" &
  done
  wait
  cat bench.*.json | sum_rates
  rm -f bench.*.json
}

declare -A r
echo "== echo servers, 64 B messages, one in flight per connection ($DUR each)"
p=$(free_port); "$NT" ws serve "$p" -q & NTS=$!; wait_listen "$p"
r[nt1]=$(rate "ws://127.0.0.1:$p/" 1); r[nt3]=$(rate "ws://127.0.0.1:$p/" 3)
r[nt64]=$("$NT" ws bench "ws://127.0.0.1:$p/" -c 64 --duration "$DUR" --warmup 0.5s --json -q | sum_rates)
ntport=$p

p=$(free_port); libwebsockets-test-server --port="$p" --interface=lo -d 0 > /dev/null 2>&1 & wait_listen "$p"
r[lws1]=$(rate "ws://127.0.0.1:$p/?mirror=b{i}" 1 --subprotocol lws-mirror-protocol)
r[lws3]=$(rate "ws://127.0.0.1:$p/?mirror=b{i}" 3 --subprotocol lws-mirror-protocol)

node "$PEERS/ws_peer.js" serve node.port echo 2> /dev/null & wait_file node.port; p=$(cat node.port)
r[node1]=$(rate "ws://127.0.0.1:$p/" 1); r[node3]=$(rate "ws://127.0.0.1:$p/" 3)
r[node64]=$("$NT" ws bench "ws://127.0.0.1:$p/" -c 64 --duration "$DUR" --warmup 0.5s --json -q | sum_rates)

/usr/bin/python3 "$PEERS/ws_peer.py" serve py.port echo 2> /dev/null & wait_file py.port; p=$(cat py.port)
r[py1]=$(rate "ws://127.0.0.1:$p/" 1); r[py3]=$(rate "ws://127.0.0.1:$p/" 3)
r[py64]=$("$NT" ws bench "ws://127.0.0.1:$p/" -c 64 --duration "$DUR" --warmup 0.5s --json -q | sum_rates)

printf '%-34s %10s %10s %10s\n' "server (msg/s)" "c=1" "c=3" "c=64"
printf '%-34s %10s %10s %10s\n' "nettool ws serve" "${r[nt1]}" "${r[nt3]}" "${r[nt64]}"
printf '%-34s %10s %10s %10s\n' "libwebsockets-test-server (mirror)" "${r[lws1]}" "${r[lws3]}" "-"
printf '%-34s %10s %10s %10s\n' "node ws" "${r[node1]}" "${r[node3]}" "${r[node64]}"
printf '%-34s %10s %10s %10s\n' "python websockets" "${r[py1]}" "${r[py3]}" "${r[py64]}"
ratio() { echo "scale=2; $1 / $2" | bc; }
echo "ratio nettool/libwebsockets c=1: $(ratio "${r[nt1]}" "${r[lws1]}")  c=3: $(ratio "${r[nt3]}" "${r[lws3]}")   (target >= 1.0)"
echo "ratio nettool/node ws       c=1: $(ratio "${r[nt1]}" "${r[node1]}")  c=3: $(ratio "${r[nt3]}" "${r[node3]}")  c=64: $(ratio "${r[nt64]}" "${r[node64]}")   (target >= 2)"
echo "ratio nettool/python        c=1: $(ratio "${r[nt1]}" "${r[py1]}")  c=3: $(ratio "${r[nt3]}" "${r[py3]}")  c=64: $(ratio "${r[nt64]}" "${r[py64]}")   (target >= 5)"

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
echo "nettool ws bench: ${r[ntclient]}/s   node ws loop: ${r[nodeclient]}/s   ratio $(ratio "${r[ntclient]}" "${r[nodeclient]}")   (target >= 2)"

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
