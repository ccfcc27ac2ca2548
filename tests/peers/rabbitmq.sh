#!/usr/bin/env bash
# The tests' own RabbitMQ node (DEPS.md pitfall 9): no systemd, its own
# epmd, data and log dirs under DIR, every port picked now and bound to
# 127.0.0.1 only. CTest runs `start` as a fixture before the amqp tests and
# `stop` after them; the tests read DIR/env.
#
#   rabbitmq.sh start DIR   -> DIR/env has AMQP_PORT, AMQP_URL, BROKER_PID …
#   rabbitmq.sh stop DIR    -> the node and its epmd are stopped by PID
set -euo pipefail
action=$1
dir=$(realpath -m "$2")
PY=/usr/bin/python3

free_port() {
  $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# A CA made now, a server certificate for localhost and 127.0.0.1 and a
# client certificate, for the amqps:// listener.
make_certificates() {
  local d=$1
  mkdir -p "$d"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$d/ca.key" -out "$d/ca.pem" \
    -days 2 -subj /CN=nettool-amqp-test-ca 2> /dev/null
  for who in server client; do
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$d/$who.key" -out "$d/$who.csr" \
      -subj "/CN=$who" 2> /dev/null
  done
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' > "$d/server.ext"
  printf 'extendedKeyUsage=clientAuth\n' > "$d/client.ext"
  for who in server client; do
    openssl x509 -req -in "$d/$who.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial -out "$d/$who.pem" \
      -days 2 -extfile "$d/$who.ext" 2> /dev/null
  done
  chmod 644 "$d"/*.key
}

stop() {
  [ -f "$dir/env" ] || return 0
  # shellcheck disable=SC1091
  . "$dir/env"
  for pid in "${BROKER_PID:-}" "${EPMD_PID:-}"; do
    [ -n "$pid" ] || continue
    kill "$pid" 2>/dev/null || continue
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
    kill -9 "$pid" 2>/dev/null || true
  done
  # The Erlang VM's helpers (erl_child_setup, inet_gethost) belong to the node.
  pkill -f -- "-rabbit .*$dir" 2>/dev/null || true
  rm -f "$dir/env"
}

start() {
  stop
  rm -rf "$dir"
  mkdir -p "$dir/home" "$dir/mnesia" "$dir/log"
  local amqp_port amqps_port dist_port epmd_port
  amqp_port=$(free_port)
  amqps_port=$(free_port)
  dist_port=$(free_port)
  epmd_port=$(free_port)
  # A long name on the address itself: a fresh machine may not resolve
  # "localhost" (Erlang then fails with epmd_error nxdomain).
  local node="nettool-test-$$@127.0.0.1"
  printf '[].\n' > "$dir/enabled_plugins"
  make_certificates "$dir/tls"

  export HOME="$dir/home" ERL_EPMD_PORT=$epmd_port
  epmd -port "$epmd_port" -address 127.0.0.1 > "$dir/log/epmd.log" 2>&1 &
  local epmd_pid=$!
  local erl_args="-start_epmd false -kernel inet_dist_use_interface {127,0,0,1}"
  (
    export RABBITMQ_NODENAME=$node RABBITMQ_USE_LONGNAME=true RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 RABBITMQ_NODE_PORT=$amqp_port
    export RABBITMQ_DIST_PORT=$dist_port RABBITMQ_MNESIA_BASE="$dir/mnesia" RABBITMQ_LOG_BASE="$dir/log"
    export RABBITMQ_PID_FILE="$dir/rabbit.pid" RABBITMQ_ENABLED_PLUGINS_FILE="$dir/enabled_plugins"
    export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="$erl_args" RABBITMQ_CONFIG_FILE="$dir/rabbitmq"
    # A memory alarm would block every publisher on a busy test machine.
    cat > "$dir/rabbitmq.conf" <<CONF
vm_memory_high_watermark.absolute = 2GiB
disk_free_limit.absolute = 50MB
loopback_users = none
listeners.ssl.default = $amqps_port
ssl_options.cacertfile = $dir/tls/ca.pem
ssl_options.certfile = $dir/tls/server.pem
ssl_options.keyfile = $dir/tls/server.key
ssl_options.verify = verify_peer
ssl_options.fail_if_no_peer_cert = false
CONF
    exec /usr/lib/rabbitmq/bin/rabbitmq-server > "$dir/log/stdout.log" 2>&1
  ) &
  local broker_pid=$!
  cat > "$dir/env" <<EOF
BROKER_DIR=$dir
BROKER_PID=$broker_pid
EPMD_PID=$epmd_pid
AMQP_PORT=$amqp_port
AMQP_NODE=$node
ERL_EPMD_PORT=$epmd_port
AMQP_URL=amqp://guest:guest@127.0.0.1:$amqp_port
AMQPS_PORT=$amqps_port
AMQP_CA=$dir/tls/ca.pem
AMQP_CLIENT_CERT=$dir/tls/client.pem
AMQP_CLIENT_KEY=$dir/tls/client.key
EOF
  # Ready once the AMQP port accepts (DEPS.md: await_startup fails this early).
  for _ in $(seq 1 1200); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$amqp_port") 2>/dev/null && (exec 3<>"/dev/tcp/127.0.0.1/$amqps_port") 2>/dev/null; then
      echo "rabbitmq: node $node ready on 127.0.0.1:$amqp_port"
      return 0
    fi
    kill -0 "$broker_pid" 2>/dev/null || break
    sleep 0.05
  done
  echo "rabbitmq: the node did not start (see $dir/log):" >&2
  tail -20 "$dir/log/stdout.log" >&2 || true
  stop
  return 1
}

case $action in
  start) start ;;
  stop) stop ;;
  *) echo "usage: rabbitmq.sh start|stop DIR" >&2; exit 2 ;;
esac
