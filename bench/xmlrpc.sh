#!/usr/bin/env bash
# xmlrpc: `xmlrpc serve` against Python's SimpleXMLRPCServer, `echo` of a
# 1 KiB struct, both driven by the same client (wrk, POSTing the same call
# body over keep-alive connections; Python's server answers HTTP/1.0 and
# closes each, as it always does); and one `xmlrpc call` process per call
# against xmlrpc-c's client library (tests/peers/xmlrpc_c_client.c: Debian
# 12 has no `xmlrpc` command) and Python's ServerProxy, one process each,
# timed by hyperfine against the same `xmlrpc serve`. One run, loopback
# only; prints each figure and its ratio beside the target.
#   bench/xmlrpc.sh [BINARY] [XMLRPC_C_CLIENT]
#   (defaults: build/nettool, build/peers/xmlrpc_c_client)
# Needs: wrk hyperfine python3 libxmlrpc-core-c3-dev (scripts/install-deps.sh)
set -euo pipefail
NT=$(realpath "${1:-$(dirname "$0")/../build/nettool}")
XC=$(realpath "${2:-$(dirname "$0")/../build/peers/xmlrpc_c_client}")
PEERS=$(realpath "$(dirname "$0")/../tests/peers")
DUR=${DUR:-3s}
RUNS=${RUNS:-200}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$work"' EXIT
cd "$work"

wait_file() { for _ in $(seq 1 400); do [ -s "$1" ] && return 0; sleep 0.025; done; return 1; }
ratio() { echo "scale=2; $1 / $2" | bc; }

# The call: echo of a struct of 16 strings, 1 KiB of XML-RPC values.
/usr/bin/python3 - <<'EOF'
import xmlrpc.client
s = {f"field{i:02d}": "x" * 40 for i in range(16)}
body = xmlrpc.client.dumps((s,), "echo")
open("body.xml", "w").write(body)
open("post.lua", "w").write(
    'wrk.method = "POST"\nwrk.headers["Content-Type"] = "text/xml"\n'
    'local f = io.open("body.xml", "rb")\nwrk.body = f:read("*a")\nf:close()\n'
    'function response(status, headers, body)\n'
    '  if status ~= 200 or not body:find("field15", 1, true) then error("bad response " .. status) end\n'
    'end\n')
print(f"call body: {len(body)} bytes")
EOF

"$NT" xmlrpc serve 0 --port-file nt.port -q & wait_file nt.port
/usr/bin/python3 "$PEERS/xmlrpc_peer.py" serve py.port plain 2>/dev/null & wait_file py.port
NTP=$(cat nt.port) PYP=$(cat py.port)

calls_per_s() {  # calls_per_s PORT CONNS: wrk's requests/s
  wrk -t"$(( $2 < 2 ? 1 : 2 ))" -c"$2" -d"$DUR" -s post.lua "http://127.0.0.1:$1/RPC2" | awk '/^Requests\/sec:/ {printf "%d", $2}'
}
echo "== echo of a 1 KiB struct, wrk (keep-alive), $DUR each"
for c in 1 16; do
  nt=$(calls_per_s "$NTP" $c)
  py=$(calls_per_s "$PYP" $c)
  echo "c=$c: xmlrpc serve $nt calls/s, Python SimpleXMLRPCServer $py calls/s: $(ratio "$nt" "$py")x (target >= 10x)"
done

echo "== one call per process, $RUNS runs each (hyperfine), against xmlrpc serve"
cat > py_call.py <<EOF
import sys, xmlrpc.client
print(xmlrpc.client.ServerProxy("http://127.0.0.1:$NTP/RPC2").echo("hello"))
EOF
hyperfine -N --warmup 10 --runs "$RUNS" --export-json times.json \
  "$NT xmlrpc call 127.0.0.1:$NTP echo hello" \
  "$XC http://127.0.0.1:$NTP/RPC2 echo s/hello" \
  "/usr/bin/python3 py_call.py" > /dev/null 2>&1
read -r nt xc py < <(/usr/bin/python3 -c 'import json; r = json.load(open("times.json"))["results"]; print(*(x["mean"] for x in r))')
ms() { echo "scale=2; $1 * 1000 / 1" | bc; }
echo "nettool xmlrpc call $(ms "$nt") ms, xmlrpc-c client $(ms "$xc") ms: $(ratio "$nt" "$xc")x their time (target <= 0.5x)"
echo "nettool xmlrpc call $(ms "$nt") ms, Python ServerProxy $(ms "$py") ms: $(ratio "$nt" "$py")x their time (target <= 0.5x)"
