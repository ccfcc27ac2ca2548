#!/usr/bin/env bash
# http speed, side by side in one run on loopback, ratios printed:
#  1. load generation: nettool http bench vs wrk, same nginx, connections, threads, duration;
#  2. serving: nettool http serve vs nginx, both loaded by wrk (1 KiB and 10 MiB files);
#  3. one process per request: 200 sequential nettool http get vs curl.
#   bench/http.sh [BINARY]     (default: build/nettool)
# Needs: nginx-light wrk curl (scripts/install-deps.sh)
set -euo pipefail
NT=$(realpath "${1:-$(dirname "$0")/../build/nettool}")
PEERS=$(realpath "$(dirname "$0")/../tests/peers")
CONNS=${CONNS:-16}
DURATION=${DURATION:-5}   # seconds per measurement
THREADS=${THREADS:-$(nproc)}  # load-generator threads in part 1, the same for both
work=$(mktemp -d)
cd "$work"
source "$PEERS/lib.sh"    # free_port, wait_listen, start_nginx; stops what we start on exit
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$work"' EXIT

mkdir www
head -c 1024 /dev/urandom > www/1k.bin
head -c $((10 * 1024 * 1024)) /dev/urandom > www/10m.bin
start_nginx "$PWD/www" "access_log off; sendfile on; tcp_nopush on; keepalive_requests 1000000;"

# wrk's own numbers, exactly: requests/s and bytes/s.
cat > report.lua <<'LUA'
done = function(summary, latency, requests)
  local s = summary.duration / 1e6
  io.write(string.format("%.1f %.1f\n", summary.requests / s, summary.bytes / s))
end
LUA
# wrk_rates URL [THREADS]
wrk_rates() { wrk -t"${2:-1}" -c"$CONNS" -d"${DURATION}s" -s report.lua "$1" | tail -1; }
ratio() { echo "scale=2; $1 / $2" | bc; }

echo "== 1. load generation against nginx (1 KiB file, $CONNS connections, $THREADS threads, ${DURATION}s)"
url=http://127.0.0.1:$NGINX_PORT/1k.bin
nt_rps=$("$NT" http bench "$url" -c "$CONNS" --threads "$THREADS" --duration "${DURATION}s" --json -q | $PY -c 'import json,sys; print(json.load(sys.stdin)["rate"])')
read -r wrk_rps _ < <(wrk_rates "$url" "$THREADS")
printf 'nettool http bench  %10.0f req/s\nwrk                 %10.0f req/s\n' "$nt_rps" "$wrk_rps"
echo "ratio nettool/wrk: $(ratio "$nt_rps" "$wrk_rps")   (target >= 0.9)"

echo "== 2. serving under wrk ($CONNS connections, ${DURATION}s each)"
"$NT" http serve www -p 0 --port-file nt.port -q & wait_file nt.port
ntp=$(cat nt.port)
read -r nt1_rps _ < <(wrk_rates "http://127.0.0.1:$ntp/1k.bin")
read -r ng1_rps _ < <(wrk_rates "http://127.0.0.1:$NGINX_PORT/1k.bin")
read -r _ nt10_bps < <(wrk_rates "http://127.0.0.1:$ntp/10m.bin")
read -r _ ng10_bps < <(wrk_rates "http://127.0.0.1:$NGINX_PORT/10m.bin")
printf '1 KiB:  nettool %10.0f req/s   nginx %10.0f req/s   ratio %s (target >= 0.7)\n' \
  "$nt1_rps" "$ng1_rps" "$(ratio "$nt1_rps" "$ng1_rps")"
printf '10 MiB: nettool %8.2f GB/s   nginx %8.2f GB/s   ratio %s (target >= 0.9)\n' \
  "$(echo "$nt10_bps / 1000000000" | bc -l)" "$(echo "$ng10_bps / 1000000000" | bc -l)" "$(ratio "$nt10_bps" "$ng10_bps")"

echo "== 3. 200 sequential processes, one GET each"
seq_time() {
  local start end
  start=$(date +%s%N)
  for _ in $(seq 1 200); do "$@" > /dev/null; done
  end=$(date +%s%N)
  echo $(( (end - start) / 1000000 ))
}
nt_ms=$(seq_time "$NT" http get "$url")
curl_ms=$(seq_time curl -s -o /dev/null "$url")
printf 'nettool http get  %6d ms\ncurl -s           %6d ms\n' "$nt_ms" "$curl_ms"
echo "ratio nettool/curl: $(ratio "$nt_ms" "$curl_ms")   (target <= 1.3)"
