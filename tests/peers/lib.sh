# Helpers for e2e scripts: free ports, readiness by condition (never by a
# fixed sleep), test CAs made at run time, and cleanup of started peers.
PY=/usr/bin/python3
# Debian's node-ws (the ws library, wscat) lives in Debian's global module
# folder, which a Node.js from elsewhere (NodeSource's) does not search.
export NODE_PATH=/usr/share/nodejs

# Background peers die with the script: everything in our process group
# (the harness starts us with setsid), pipelines' sleeps included.
cleanup() {
  for p in $(pgrep -g $$); do [ "$p" != $$ ] && kill "$p" 2>/dev/null; done
  return 0
}
trap cleanup EXIT

free_port() {
  $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# reserve_port NAME: a port held bound (not listening) by a background
# holder, port in NAME.port: connects to it are refused, and no test
# running in parallel can bind it (free_port's port is free only when
# asked). release_port NAME lets it go.
reserve_port() {
  $PY -c 'import os, socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0))
open(sys.argv[1] + ".tmp", "w").write(str(s.getsockname()[1])); os.rename(sys.argv[1] + ".tmp", sys.argv[1])
time.sleep(3600)' "$1.port" & echo $! > "$1.holder"
  wait_file "$1.port"
}
release_port() {
  kill "$(cat "$1.holder")" 2>/dev/null
  wait "$(cat "$1.holder")" 2>/dev/null
  return 0
}

# wait_file FILE: until FILE exists and is not empty (10 s at most).
wait_file() {
  for _ in $(seq 1 400); do [ -s "$1" ] && return 0; sleep 0.025; done
  echo "wait_file: $1 never appeared" >&2
  return 1
}

# wait_tcp PORT [HOST]: until something accepts on HOST:PORT (10 s at most).
wait_tcp() {
  for _ in $(seq 1 400); do
    (exec 3<>"/dev/tcp/${2:-127.0.0.1}/$1") 2>/dev/null && return 0
    sleep 0.025
  done
  echo "wait_tcp: nothing listens on ${2:-127.0.0.1}:$1" >&2
  return 1
}

# wait_unix PATH: until a Unix socket exists at PATH.
wait_unix() {
  for _ in $(seq 1 400); do [ -S "$1" ] && return 0; sleep 0.025; done
  echo "wait_unix: $1 never appeared" >&2
  return 1
}

# make_ca: ca.pem, server.pem/server.key (localhost, 127.0.0.1, ::1),
# client.pem/client.key, all signed by a CA made now; other-ca.pem unrelated.
make_ca() {
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem \
    -days 2 -subj /CN=nettool-test-ca 2>/dev/null
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout other-ca.key -out other-ca.pem \
    -days 2 -subj /CN=other-ca 2>/dev/null
  for who in server client; do
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout $who.key -out $who.csr \
      -subj /CN=$who 2>/dev/null
  done
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\n' > server.ext
  printf 'extendedKeyUsage=clientAuth\n' > client.ext
  openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 \
    -extfile server.ext 2>/dev/null
  openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out client.pem -days 2 \
    -extfile client.ext 2>/dev/null
}

# grpc_lsan: the grpc tests' LeakSanitizer rules under ASan (lsan-grpc.supp
# says which leak of grpc++'s own threads they leave out, and why).
grpc_lsan() {
  [ -n "${NETTOOL_SANITIZED:-}" ] || return 0
  export LSAN_OPTIONS="suppressions=$PEERS/lsan-grpc.supp:print_suppressions=0"
}

# sha FILE: its SHA-256 alone.
sha() { sha256sum "$1" | cut -d' ' -f1; }

# wait_listen PORT: until a TCP listener is bound to PORT (without
# connecting to it, so one-shot peers like socat keep their one accept).
wait_listen() {
  for _ in $(seq 1 400); do
    [ -n "$(ss -Hltn "sport = :$1" 2>/dev/null)" ] && return 0
    sleep 0.025
  done
  echo "wait_listen: nothing listens on port $1" >&2
  return 1
}

# wait_log FILE PATTERN [COUNT]: until FILE has COUNT lines matching PATTERN.
wait_log() {
  for _ in $(seq 1 400); do
    [ "$(grep -c -- "$2" "$1" 2>/dev/null)" -ge "${3:-1}" ] && return 0
    sleep 0.025
  done
  echo "wait_log: '$2' x${3:-1} never appeared in $1" >&2
  return 1
}

# two_random_files SIZE: a.bin and b.bin, SIZE random bytes each, for
# transfers in both directions at once.
two_random_files() {
  head -c "$1" /dev/urandom > a.bin
  head -c "$1" /dev/urandom > b.bin
}

# same_both_ways: what each side sent (a.bin, b.bin) is what the other got
# (got-a.bin, got-b.bin).
same_both_ways() {
  [ "$(sha a.bin)" = "$(sha got-a.bin)" ] || { echo "a.bin arrived changed" >&2; return 1; }
  [ "$(sha b.bin)" = "$(sha got-b.bin)" ] || { echo "b.bin arrived changed" >&2; return 1; }
}

# start_hop PORT TO_PORT: a socat relay from 127.0.0.1:PORT to TO_PORT, a
# connection that a test can cut (cut_hop PORT) and bring back.
start_hop() { socat TCP-LISTEN:$1,fork,reuseaddr,bind=127.0.0.1 TCP:127.0.0.1:$2 & wait_tcp $1; }
# cut_hop PORT: ends the relay and every connection through it.
cut_hop() { pkill -f "TCP-LISTEN:$1,"; sleep 0.3; }

# start_nginx ROOT [DIRECTIVES] [LISTEN_FLAGS]: nginx (one process, config
# and logs in the current directory) serving ROOT on a free port, which it
# sets in NGINX_PORT; DIRECTIVES go into the server block (certificates,
# redirects, gzip…), LISTEN_FLAGS after its listen address (ssl). With
# NGINX_WORKERS set (a number or auto): a master and that many workers.
# Each start has files of its own, so two can run side by side.
start_nginx() {
  NGINX_PORT=$(free_port)
  local conf=nginx-$NGINX_PORT.conf processes="master_process off;"
  # Workers run as `user` (nobody by default, who could not read a 0700
  # test directory): as whoever runs the script instead.
  [ -n "${NGINX_WORKERS:-}" ] && processes="master_process on; worker_processes $NGINX_WORKERS;"
  [ -n "${NGINX_WORKERS:-}" ] && [ "$(id -u)" = 0 ] && processes="$processes user root;"
  mkdir -p nginx-tmp
  cat > "$conf" <<EOF
daemon off;
$processes
pid $PWD/nginx-$NGINX_PORT.pid;
error_log $PWD/nginx-error.log warn;
events { worker_connections 1024; }
http {
  include /etc/nginx/mime.types;
  access_log $PWD/nginx-access.log;
  client_body_temp_path $PWD/nginx-tmp/body;
  proxy_temp_path $PWD/nginx-tmp/proxy;
  fastcgi_temp_path $PWD/nginx-tmp/fastcgi;
  uwsgi_temp_path $PWD/nginx-tmp/uwsgi;
  scgi_temp_path $PWD/nginx-tmp/scgi;
  server {
    listen 127.0.0.1:$NGINX_PORT ${3:-};
    root $1;
    ${2:-}
  }
}
EOF
  nginx -p "$PWD" -c "$PWD/$conf" -e "$PWD/nginx-error.log" & wait_listen "$NGINX_PORT"
}

# start_http_peer: tests/peers/http_peer.py on a free port, set in HTTP_PEER.
start_http_peer() {
  $PY "$PEERS/http_peer.py" http-peer.port 2> http-peer.log & wait_file http-peer.port
  HTTP_PEER=$(cat http-peer.port)
}

# zmq_peer NAME MODE EP ARGS...: tests/peers/zmq_peer.py in the background
# (stdout to NAME.out), returning once its socket is bound or connected.
zmq_peer() {
  local name=$1
  shift
  $PY "$PEERS/zmq_peer.py" "$@" > "$name.out" 2> "$name.err" &
  for _ in $(seq 1 400); do
    grep -q READY "$name.err" 2> /dev/null && return 0
    sleep 0.025
  done
  echo "zmq_peer: $name never became ready" >&2
  cat "$name.err" >&2
  return 1
}

# peak_rss_kb PID: the most resident memory PID has had (VmHWM), in KiB.
peak_rss_kb() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status"; }

# rss_below PID MIB: true when PID's peak RSS stayed under MIB MiB; always
# true under sanitizers (ASan's quarantine and shadow memory), where the
# harness exports NETTOOL_SANITIZED=1.
rss_below() {
  [ "${NETTOOL_SANITIZED:-0}" = 1 ] && return 0
  local kb; kb=$(peak_rss_kb "$1")
  [ -n "$kb" ] && [ "$kb" -lt $(( $2 * 1024 )) ] && return 0
  echo "rss_below: pid $1 peaked at ${kb:-?} KiB, over $2 MiB" >&2
  return 1
}

# wait_conns PORT N: until N connections to local PORT are established.
wait_conns() {
  for _ in $(seq 1 400); do
    [ "$(ss -Htn state established "sport = :$1" 2>/dev/null | wc -l)" -ge "$2" ] && return 0
    sleep 0.025
  done
  echo "wait_conns: fewer than $2 connections on port $1" >&2
  return 1
}

# The amqp tests' broker (peers/rabbitmq.sh, started by CTest's fixture):
# AMQP_URL, AMQP_PORT and the node's name; `uniq_name` gives names that
# tests running at once never share.
amqp_env() {
  [ -f "$BROKER_DIR/env" ] || { echo "amqp_env: no broker at $BROKER_DIR (the 'amqp: broker start' test)" >&2; return 1; }
  # shellcheck disable=SC1091
  . "$BROKER_DIR/env"
  export AMQP_URL AMQP_PORT
}
uniq_name() { echo "nt-$1-$$-$RANDOM"; }
