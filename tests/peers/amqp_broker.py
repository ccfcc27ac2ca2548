#!/usr/bin/python3
"""A hostile AMQP 0-9-1 "broker" for the amqp [hostile] tests: it speaks just
enough of the protocol (raw frames, no library to tidy them up) to get a
client to the point where it misbehaves.

  amqp_broker.py PORTFILE SCENARIO
      Binds 127.0.0.1:0, writes the port to PORTFILE, serves connections
      one after another until killed, and appends one line per accepted
      connection to PORTFILE.conns.

Scenarios:
  drop          accept, close at once (no AMQP at all)
  mute          accept, then say nothing at all
  huge          consume: a delivery whose header announces 1 GiB
  stall         consume: a delivery with half its body, then silence (heartbeats off)
  closing-get   get: get-ok, then channel.close 406 instead of the content
  ctrl          consume: channel.close whose reply text holds ESC, CR and LF
  deaf-close    consume: one message; then never answers anything (close included)
  silent        tunes heartbeat 1 s, then sends nothing at all
  no-confirms   publish: confirm.select-ok, then never a basic.ack
"""
import os
import socket
import struct
import sys
import time

FRAME_END = b"\xce"


def shortstr(s):
    s = s.encode() if isinstance(s, str) else s
    return bytes([len(s)]) + s


def longstr(s):
    s = s.encode() if isinstance(s, str) else s
    return struct.pack(">I", len(s)) + s


def frame(kind, channel, payload):
    return struct.pack(">BHI", kind, channel, len(payload)) + payload + FRAME_END


def method(channel, cls, mid, args=b""):
    return frame(1, channel, struct.pack(">HH", cls, mid) + args)


def content_header(size):
    return frame(2, 1, struct.pack(">HHQH", 60, 0, size, 0))


def body(data):
    return frame(3, 1, data)


class Client:
    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def read_exact(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def next_method(self):
        """The next method frame's (class, method, args); heartbeats and content skipped."""
        while True:
            kind, _channel, size = struct.unpack(">BHI", self.read_exact(7))
            payload = self.read_exact(size)
            self.read_exact(1)
            if kind == 1:
                cls, mid = struct.unpack(">HH", payload[:4])
                return cls, mid, payload[4:]

    def send(self, data):
        self.sock.sendall(data)

    def wait_for(self, cls, mid):
        while True:
            got = self.next_method()
            if got[:2] == (cls, mid):
                return got


def handshake(c, heartbeat=0):
    c.read_exact(8)  # "AMQP\0\0\x09\x01"
    c.send(method(0, 10, 10, b"\x00\x09" + struct.pack(">I", 0) + longstr("PLAIN") + longstr("en_US")))
    c.wait_for(10, 11)  # start-ok
    c.send(method(0, 10, 30, struct.pack(">HIH", 0, 131072, heartbeat)))
    c.wait_for(10, 31)  # tune-ok
    c.wait_for(10, 40)  # open
    c.send(method(0, 10, 41, shortstr("")))
    c.wait_for(20, 10)  # channel.open
    c.send(method(1, 20, 11, longstr("")))


def until_consume(c):
    """Answers qos and consume; returns after consume-ok."""
    while True:
        cls, mid, _ = c.next_method()
        if (cls, mid) == (60, 10):
            c.send(method(1, 60, 11))
        elif (cls, mid) == (60, 20):
            c.send(method(1, 60, 21, shortstr("ctag")))
            return


def deliver_header(tag, size):
    args = shortstr("ctag") + struct.pack(">QB", tag, 0) + shortstr("") + shortstr("q")
    return method(1, 60, 60, args) + content_header(size)


def channel_close(text):
    return method(1, 20, 40, struct.pack(">H", 406) + shortstr(text) + struct.pack(">HH", 60, 70))


def answer_until_closed(c):
    """Answers channel.close and connection.close as a broker should."""
    while True:
        cls, mid, _ = c.next_method()
        if (cls, mid) == (20, 40):
            c.send(method(1, 20, 41))
        elif (cls, mid) == (10, 50):
            c.send(method(0, 10, 51))
            return


def idle_forever():
    while True:
        time.sleep(3600)


def serve(c, scenario):
    if scenario == "drop":
        return
    if scenario == "mute":
        idle_forever()
    if scenario == "silent":
        handshake(c, heartbeat=1)
        idle_forever()
    handshake(c)
    if scenario == "huge":
        until_consume(c)
        c.send(deliver_header(1, 1 << 30) + body(b"x" * 1000))
        idle_forever()
    elif scenario == "stall":
        until_consume(c)
        c.send(deliver_header(1, 1000) + body(b"x" * 500))
        idle_forever()
    elif scenario == "closing-get":
        c.wait_for(60, 70)
        args = struct.pack(">QB", 1, 0) + shortstr("") + shortstr("q") + struct.pack(">I", 0)
        c.send(method(1, 60, 71, args) + channel_close("PRECONDITION_FAILED - changed my mind"))
        answer_until_closed(c)
    elif scenario == "ctrl":
        until_consume(c)
        c.send(channel_close("BAD \x1b[31mRED\r\nnettool: forged second line"))
        answer_until_closed(c)
    elif scenario == "deaf-close":
        until_consume(c)
        c.send(deliver_header(1, 3) + body(b"one"))
        idle_forever()
    elif scenario == "no-confirms":
        c.wait_for(85, 10)
        c.send(method(1, 85, 11))
        idle_forever()
    else:
        sys.exit(f"unknown scenario {scenario}")


def main():
    portfile, scenario = sys.argv[1], sys.argv[2]
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    with open(portfile + ".tmp", "w") as f:
        f.write(str(listener.getsockname()[1]))
    os.rename(portfile + ".tmp", portfile)
    while True:
        sock, _ = listener.accept()
        with open(portfile + ".conns", "a") as f:
            f.write("connection\n")
        try:
            serve(Client(sock), scenario)
        except (EOFError, ConnectionError):
            pass
        sock.close()


if __name__ == "__main__":
    main()
