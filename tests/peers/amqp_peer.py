#!/usr/bin/python3
"""pika peers for the amqp tests (an independent AMQP client).

  amqp_peer.py publish QUEUE N        N messages "1".."N" with properties and headers
  amqp_peer.py consume QUEUE N        N bodies, one per line, then the properties of the last
  amqp_peer.py count QUEUE            messages ready in QUEUE
  amqp_peer.py respond QUEUE N READY  an RPC server: answers N requests with the body upper-cased,
                                      each preceded by a stray reply with another correlation id;
                                      the body "slow" is answered after 3 s. READY is written once consuming.
The broker comes from $AMQP_URL.
"""
import os
import sys

import pika


def connect():
    return pika.BlockingConnection(pika.URLParameters(os.environ["AMQP_URL"]))


def publish(queue, n):
    conn = connect()
    ch = conn.channel()
    ch.confirm_delivery()
    for i in range(1, n + 1):
        props = pika.BasicProperties(content_type="text/plain", correlation_id=f"c{i}", delivery_mode=2,
                                     priority=3, headers={"who": "pika", "n": i, "ok": True})
        ch.basic_publish(exchange="", routing_key=queue, body=str(i).encode(), properties=props)
    conn.close()


def consume(queue, n):
    conn = connect()
    ch = conn.channel()
    ch.basic_qos(prefetch_count=100)
    got = 0
    last = None
    for method, props, body in ch.consume(queue, inactivity_timeout=20):
        if method is None:
            print("pika: timed out", file=sys.stderr)
            sys.exit(1)
        sys.stdout.write(body.decode(errors="replace") + "\n")
        ch.basic_ack(method.delivery_tag)
        last = props
        got += 1
        if got == n:
            break
    ch.cancel()
    print(f"props: type={last.content_type} corr={last.correlation_id} mode={last.delivery_mode} "
          f"headers={sorted((last.headers or {}).items())}")
    conn.close()


def respond(queue, n, ready):
    import time
    conn = connect()
    ch = conn.channel()
    ch.queue_declare(queue, auto_delete=True)
    answered = 0

    def on_request(channel, method, props, body):
        nonlocal answered
        reply = pika.BasicProperties(correlation_id="not-" + (props.correlation_id or ""))
        channel.basic_publish(exchange="", routing_key=props.reply_to, properties=reply, body=b"stray")
        if body == b"slow":
            time.sleep(3)
        reply = pika.BasicProperties(correlation_id=props.correlation_id, content_type="text/plain")
        channel.basic_publish(exchange="", routing_key=props.reply_to, properties=reply, body=body.upper())
        channel.basic_ack(method.delivery_tag)
        answered += 1
        if answered == n:
            channel.stop_consuming()

    ch.basic_consume(queue, on_request)
    with open(ready, "w") as f:
        f.write("ready\n")
    ch.start_consuming()
    conn.close()


def count(queue):
    conn = connect()
    print(conn.channel().queue_declare(queue, passive=True).method.message_count)
    conn.close()


if __name__ == "__main__":
    what = sys.argv[1]
    if what == "publish":
        publish(sys.argv[2], int(sys.argv[3]))
    elif what == "consume":
        consume(sys.argv[2], int(sys.argv[3]))
    elif what == "respond":
        respond(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    elif what == "count":
        count(sys.argv[2])
    else:
        sys.exit(f"unknown mode {what}")
