#!/usr/bin/env bash
# http speed, side by side in one run on loopback, ratios printed:
#  1. load generation: nettool http bench vs wrk, same nginx, connections, threads, duration;
#  2. serving: nettool http serve vs nginx, both loaded by wrk (1 KiB and 10 MiB files), one
#     loop per core vs worker_processes auto, and one loop vs one nginx process;
#  3. one process per request: 200 sequential nettool http get vs curl.
#   bench/http.sh [BINARY]     (default: build/nettool)
# Needs: nginx-light wrk curl (scripts/install-deps.sh)
set -euo pipefail
NT=$(realpath "${1:-$(dirname "$0")/../build/nettool}")
PEERS=$(realpath "$(dirname "$0")/../tests/peers")
CONNS=${CONNS:-16}
SERVE_CONNS=${SERVE_CONNS:-64}   # part 2: wrk -c
ROUNDS=${ROUNDS:-3}              # part 2: alternating rounds, medians compared
DURATION=${DURATION:-5}   # seconds per measurement
THREADS=${THREADS:-$(nproc)}  # load-generator threads in part 1, the same for both
work=$(mktemp -d)
cd "$work"
source "$PEERS/lib.sh"    # free_port, wait_listen, start_nginx; stops what we start on exit
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$work"' EXIT

mkdir www
head -c 1024 /dev/urandom > www/1k.bin
head -c $((10 * 1024 * 1024)) /dev/urandom > www/10m.bin
nginx_tuning="access_log off; sendfile on; tcp_nopush on; keepalive_requests 1000000;"
start_nginx "$PWD/www" "$nginx_tuning"              # one process, as nettool was until --threads
NGINX1_PORT=$NGINX_PORT
NGINX_WORKERS=auto start_nginx "$PWD/www" "$nginx_tuning"   # one worker per core
NGINXN_PORT=$NGINX_PORT
NGINX_PORT=$NGINX1_PORT

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

echo "== 2. serving under wrk ($SERVE_CONNS connections, $THREADS wrk threads, ${DURATION}s each, median of $ROUNDS alternating rounds)"
# nettool with one loop per core (its default) against nginx with
# worker_processes auto; nettool --threads 1 against one nginx process.
# Beside req/s: the server's own CPU per request (all its processes and
# threads, from /proc), steadier than req/s on a machine wrk shares.
"$NT" http serve www -p 0 --port-file nt.port -q & NTN_PID=$!
wait_file nt.port
"$NT" http serve www -p 0 --port-file nt1.port -q --threads 1 & NT1_PID=$!
wait_file nt1.port
NG1_PIDS=$(cat "nginx-$NGINX1_PORT.pid")
NGN_MASTER=$(cat "nginx-$NGINXN_PORT.pid")
NGN_PIDS="$NGN_MASTER $(pgrep -P "$NGN_MASTER" | tr '\n' ' ')"
median() { printf '%s\n' "$@" | sort -g | sed -n "$(( ($# + 1) / 2 ))p"; }
cpu_ticks() { local t=0 p; for p in "$@"; do t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat"))); done; echo "$t"; }
# measure URL PID...: "req/s bytes/s CPU-µs-per-request"
measure() {
  local url=$1 c0 c1 rps bps
  shift
  c0=$(cpu_ticks "$@")
  read -r rps bps < <(CONNS=$SERVE_CONNS wrk_rates "$url" "$THREADS")
  c1=$(cpu_ticks "$@")
  echo "$rps $bps $(echo "scale=2; ($c1 - $c0) * 1000000 / $(getconf CLK_TCK) / ($rps * $DURATION)" | bc)"
}
serve_row() {  # LABEL NETTOOL_PORT "NETTOOL_PIDS" NGINX_PORT "NGINX_PIDS" TARGET_1KIB
  local nt1=() ng1=() ntc=() ngc=() nt10=() ng10=() r a b c
  for r in $(seq "$ROUNDS"); do
    # Alternating who goes first, so neither always gets the cooler machine.
    if [ $((r % 2)) = 1 ]; then read -r a _ c < <(measure "http://127.0.0.1:$2/1k.bin" $3); nt1+=("$a"); ntc+=("$c"); fi
    read -r a _ c < <(measure "http://127.0.0.1:$4/1k.bin" $5); ng1+=("$a"); ngc+=("$c")
    if [ $((r % 2)) = 0 ]; then read -r a _ c < <(measure "http://127.0.0.1:$2/1k.bin" $3); nt1+=("$a"); ntc+=("$c"); fi
    read -r _ b _ < <(measure "http://127.0.0.1:$2/10m.bin" $3); nt10+=("$b")
    read -r _ b _ < <(measure "http://127.0.0.1:$4/10m.bin" $5); ng10+=("$b")
  done
  local m_nt1 m_ng1 m_ntc m_ngc m_nt10 m_ng10
  m_nt1=$(median "${nt1[@]}") m_ng1=$(median "${ng1[@]}") m_ntc=$(median "${ntc[@]}") m_ngc=$(median "${ngc[@]}")
  m_nt10=$(median "${nt10[@]}") m_ng10=$(median "${ng10[@]}")
  printf '%s 1 KiB:  nettool %8.0f req/s   nginx %8.0f req/s   ratio %s (target >= %s)   (runs: %s / %s)\n' \
    "$1" "$m_nt1" "$m_ng1" "$(ratio "$m_nt1" "$m_ng1")" "$6" "$(printf '%.0f ' "${nt1[@]}")" "$(printf '%.0f ' "${ng1[@]}")"
  printf '%s 1 KiB CPU per request: nettool %s us   nginx %s us   nginx/nettool %s\n' \
    "$1" "$m_ntc" "$m_ngc" "$(ratio "$m_ngc" "$m_ntc")"
  printf '%s 10 MiB: nettool %6.2f GB/s   nginx %6.2f GB/s   ratio %s (target >= 0.9)\n' \
    "$1" "$(echo "$m_nt10 / 1000000000" | bc -l)" "$(echo "$m_ng10 / 1000000000" | bc -l)" "$(ratio "$m_nt10" "$m_ng10")"
}
serve_row "loop per core / worker_processes auto:" "$(cat nt.port)" "$NTN_PID" "$NGINXN_PORT" "$NGN_PIDS" 0.9
serve_row "one loop / one nginx process:         " "$(cat nt1.port)" "$NT1_PID" "$NGINX1_PORT" "$NG1_PIDS" 0.7

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
