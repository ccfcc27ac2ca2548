#!/usr/bin/env bash
# amqp speed, side by side in one run against a RabbitMQ node of its own
# (tests/peers/rabbitmq.sh, loopback), medians of ROUNDS alternating runs:
#  1. publish LINES lines x 64 B from a file, confirms on: nettool amqp
#     publish vs the plainest rabbitmq-c publisher with pipelined confirms
#     (bench/amqp_ref.c, built here) and pika with confirm_delivery();
#     without confirms: nettool --no-confirm vs amqp-publish -l (amqp-tools);
#  2. consume the same LINES messages into a file: nettool amqp consume
#     --count vs pika basic_consume with an ack per message.
#  3. one message per process, 20 in a row: nettool vs the reference (what
#     start-up, the AMQP handshake and the close cost per process).
#   bench/amqp.sh [BINARY]     (default: build/nettool)
# Needs: rabbitmq-server amqp-tools librabbitmq-dev python3-pika gcc (scripts/install-deps.sh)
set -euo pipefail
NT=$(realpath "${1:-$(dirname "$0")/../build/nettool}")
SRC=$(realpath "$(dirname "$0")")
LINES=${LINES:-100000}
ROUNDS=${ROUNDS:-3}
PY=/usr/bin/python3
work=$(mktemp -d)
cleanup() { bash "$SRC/../tests/peers/rabbitmq.sh" stop "$work/node" > /dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT
cd "$work"
ratio() { echo "scale=2; $1 / $2" | bc; }
median() { printf '%s\n' "$@" | sort -g | sed -n "$(( ($# + 1) / 2 ))p"; }
# seconds CMD...: wall time of CMD, in seconds.
seconds() { local s; s=$(date +%s%N); "$@" > /dev/null; echo "scale=4; ($(date +%s%N) - $s) / 1000000000" | bc; }
rate() { echo "scale=0; $LINES / $1" | bc; }

gcc -O2 "$SRC/amqp_ref.c" -o amqp_ref -lrabbitmq
bash "$SRC/../tests/peers/rabbitmq.sh" start "$work/node" > /dev/null
. "$work/node/env"
export AMQP_URL
"$NT" amqp declare-queue bench > /dev/null
purge() { "$NT" amqp purge bench > /dev/null; }

$PY - "$LINES" > lines.txt <<'PYEOF'
import sys
for i in range(int(sys.argv[1])):
    print(f"{i:08d}" + "x" * 56)
PYEOF
cat > pika_publish.py <<'PYEOF'
import os, sys, pika
conn = pika.BlockingConnection(pika.URLParameters(os.environ["AMQP_URL"]))
ch = conn.channel()
ch.confirm_delivery()
with open(sys.argv[1], "rb") as f:
    for line in f:
        ch.basic_publish(exchange="", routing_key="bench", body=line.rstrip(b"\n"))
conn.close()
PYEOF
cat > pika_consume.py <<'PYEOF'
import os, sys, pika
n = int(sys.argv[1])
conn = pika.BlockingConnection(pika.URLParameters(os.environ["AMQP_URL"]))
ch = conn.channel()
ch.basic_qos(prefetch_count=100)
got = 0
with open(sys.argv[2], "wb") as out:
    def on_message(channel, method, props, body):
        global got
        out.write(body + b"\n")
        channel.basic_ack(method.delivery_tag)
        got += 1
        if got == n:
            channel.stop_consuming()
    ch.basic_consume("bench", on_message)
    ch.start_consuming()
conn.close()
PYEOF

echo "== 1. publish $LINES lines x 64 B from a file (median of $ROUNDS)"
nt=() ref=() pika=() ntnc=() tools=()
for _ in $(seq "$ROUNDS"); do
  purge; nt+=("$(seconds "$NT" amqp publish -r bench < lines.txt)")
  purge; ref+=("$(seconds ./amqp_ref 127.0.0.1 "$AMQP_PORT" bench 1000 < lines.txt)")
  purge; pika+=("$(seconds $PY pika_publish.py lines.txt)")
  purge; ntnc+=("$(seconds "$NT" amqp publish -r bench --no-confirm < lines.txt)")
  purge; tools+=("$(seconds amqp-publish --url="$AMQP_URL" -r bench -l < lines.txt)")
done
t_nt=$(median "${nt[@]}") t_ref=$(median "${ref[@]}") t_pika=$(median "${pika[@]}")
t_ntnc=$(median "${ntnc[@]}") t_tools=$(median "${tools[@]}")
printf '%-44s %8s s  %8s msg/s\n' \
  "nettool amqp publish (confirms)" "$t_nt" "$(rate "$t_nt")" \
  "rabbitmq-c reference (confirms, window 1000)" "$t_ref" "$(rate "$t_ref")" \
  "pika confirm_delivery()" "$t_pika" "$(rate "$t_pika")" \
  "nettool amqp publish --no-confirm" "$t_ntnc" "$(rate "$t_ntnc")" \
  "amqp-publish -l (no confirms)" "$t_tools" "$(rate "$t_tools")"
echo "ratio nettool/reference (confirms):        $(ratio "$t_ref" "$t_nt")   (target >= 0.9)"
echo "ratio nettool/pika (confirms):             $(ratio "$t_pika" "$t_nt")   (target >= 3)"
echo "ratio nettool/amqp-publish -l (no confirms): $(ratio "$t_tools" "$t_ntnc")   (target >= 1.0)"

echo "== 2. consume $LINES messages x 64 B into a file (median of $ROUNDS)"
nt=() pika=()
for _ in $(seq "$ROUNDS"); do
  purge; "$NT" amqp publish -r bench < lines.txt
  nt+=("$(seconds sh -c "exec \"$NT\" amqp consume bench --count $LINES > out.txt")")
  cmp -s out.txt lines.txt || echo "warning: nettool's output differs from what was published" >&2
  purge; "$NT" amqp publish -r bench < lines.txt
  pika+=("$(seconds $PY pika_consume.py "$LINES" out.txt)")
  cmp -s out.txt lines.txt || echo "warning: pika's output differs from what was published" >&2
done
t_nt=$(median "${nt[@]}") t_pika=$(median "${pika[@]}")
printf '%-44s %8s s  %8s msg/s\n' \
  "nettool amqp consume --count" "$t_nt" "$(rate "$t_nt")" \
  "pika basic_consume, an ack each" "$t_pika" "$(rate "$t_pika")"
echo "ratio nettool/pika: $(ratio "$t_pika" "$t_nt")   (target >= 2)"

echo "== 3. one message per process, 20 processes one after another (connect, login, publish, confirm, close)"
head -1 lines.txt > one.txt
loop() { for _ in $(seq 20); do "$@" < one.txt > /dev/null; done; }
t_nt=$(seconds loop "$NT" amqp publish -r bench)
t_ref=$(seconds loop ./amqp_ref 127.0.0.1 "$AMQP_PORT" bench 1000)
printf '%-44s %8s s\n' "nettool amqp publish, 20 processes" "$t_nt" "rabbitmq-c reference, 20 processes" "$t_ref"
echo "ratio nettool/reference (per process):     $(ratio "$t_ref" "$t_nt")   (no target: start-up and handshake)"
