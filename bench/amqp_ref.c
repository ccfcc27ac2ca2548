/* The reference for bench/amqp.sh: the plainest rabbitmq-c publisher with
 * pipelined publisher confirms. Each stdin line is one message to the
 * default exchange with routing key QUEUE; at most WINDOW are unconfirmed;
 * exits 0 once every message was acked.
 *   amqp_ref HOST PORT QUEUE WINDOW < lines
 */
#include <amqp.h>
#include <amqp_tcp_socket.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void die(const char *what) {
  fprintf(stderr, "amqp_ref: %s\n", what);
  exit(1);
}

static void check(amqp_rpc_reply_t r, const char *what) {
  if (r.reply_type != AMQP_RESPONSE_NORMAL) die(what);
}

/* Reads one frame and counts what it confirms. */
static void read_confirm(amqp_connection_state_t conn, uint64_t *confirmed) {
  amqp_frame_t frame;
  if (amqp_simple_wait_frame(conn, &frame) != AMQP_STATUS_OK) die("connection lost");
  if (frame.frame_type != AMQP_FRAME_METHOD) return;
  if (frame.payload.method.id == AMQP_BASIC_ACK_METHOD) {
    const amqp_basic_ack_t *ack = frame.payload.method.decoded;
    if (ack->multiple) *confirmed = ack->delivery_tag;
    else *confirmed += 1; /* the broker acks in order here */
  } else if (frame.payload.method.id == AMQP_BASIC_NACK_METHOD) {
    die("nacked");
  }
  amqp_maybe_release_buffers(conn);
}

int main(int argc, char **argv) {
  if (argc != 5) die("usage: amqp_ref HOST PORT QUEUE WINDOW < lines");
  const uint64_t window = strtoull(argv[4], NULL, 10);
  amqp_connection_state_t conn = amqp_new_connection();
  amqp_socket_t *socket = amqp_tcp_socket_new(conn);
  if (!socket || amqp_socket_open(socket, argv[1], atoi(argv[2])) != AMQP_STATUS_OK) die("connect");
  check(amqp_login(conn, "/", 0, 131072, 0, AMQP_SASL_METHOD_PLAIN, "guest", "guest"), "login");
  amqp_channel_open(conn, 1);
  check(amqp_get_rpc_reply(conn), "channel");
  amqp_confirm_select(conn, 1);
  check(amqp_get_rpc_reply(conn), "confirm.select");

  char *line = NULL;
  size_t cap = 0;
  ssize_t len;
  uint64_t published = 0, confirmed = 0;
  amqp_basic_properties_t props;
  memset(&props, 0, sizeof props);
  while ((len = getline(&line, &cap, stdin)) > 0) {
    if (line[len - 1] == '\n') --len;
    while (published - confirmed >= window) read_confirm(conn, &confirmed);
    amqp_bytes_t body = {(size_t)len, line};
    if (amqp_basic_publish(conn, 1, amqp_empty_bytes, amqp_cstring_bytes(argv[3]), 0, 0, &props, body) !=
        AMQP_STATUS_OK)
      die("publish");
    ++published;
  }
  while (confirmed < published) read_confirm(conn, &confirmed);
  free(line);
  amqp_channel_close(conn, 1, AMQP_REPLY_SUCCESS);
  amqp_connection_close(conn, AMQP_REPLY_SUCCESS);
  amqp_destroy_connection(conn);
  return 0;
}
