#!/usr/bin/python3
"""Hostile HTTP peers for the [hostile] e2e tests: raw bytes, no library
that would tidy them up. Byte arguments are Python expressions (b'...', b'x' * 100).

  hostile.py client PORT --send B [--then B --after S] [--flood B --mib N]
                    [--drip B --every S] [--read S]
      Connects to 127.0.0.1:PORT and sends B. --then sends more after S
      seconds; --flood sends B repeatedly, up to N MiB, while the server
      reads; --drip sends B one byte every S seconds until the server
      closes. Then reads for up to --read seconds. Prints each response's
      status line, then "closed after N s" when the server closed (or
      reset), or "still open"; with --flood first "flood stopped early"
      (the server hung up before N MiB) or "flood went through".
      --no-read S: a tiny receive buffer, never read, hang up after S s.

  hostile.py server PORTFILE --reply B [--endless B] [--linger S]
      Binds 127.0.0.1:0, writes the port to PORTFILE and answers each
      request head with B (bodies are not read: they pile up or reset);
      --endless then sends B forever; --linger S answers one request, waits
      S seconds without reading and closes.
"""
import argparse
import os
import socket
import sys
import threading
import time


def literal(text):
    value = eval(text, {"__builtins__": {}})  # literals and simple expressions (b"x" * 100)
    return value if isinstance(value, bytes) else value.encode()


def status_lines(data):
    out = []
    for line in data.split(b"\r\n"):
        if line.startswith(b"HTTP/1."):
            out.append(line.decode("latin-1"))
    return out


def client(args):
    s = socket.socket()
    if args.no_read is not None:  # before connecting, so the window stays small
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(("127.0.0.1", args.port))
    start = time.monotonic()
    closed = False
    closed_at = None
    received = bytearray()

    def reader():
        nonlocal closed, closed_at
        while True:
            try:
                chunk = s.recv(65536)
            except OSError:
                chunk = b""
            if not chunk:
                closed_at = time.monotonic()
                closed = True
                return
            received.extend(chunk)

    if args.no_read is None:
        threading.Thread(target=reader, daemon=True).start()
    sent = 0
    try:
        s.sendall(literal(args.send))
        if args.then is not None:
            time.sleep(args.after)
            s.sendall(literal(args.then))
        if args.flood is not None:
            piece = literal(args.flood)
            piece = piece * max(1, 65536 // len(piece))
            while sent < args.mib * 1024 * 1024 and not closed:
                s.sendall(piece)
                sent += len(piece)
        if args.drip is not None:
            for byte in literal(args.drip):
                if closed:
                    break
                s.sendall(bytes([byte]))
                time.sleep(args.every)
    except OSError:
        pass  # the server closed on us: what we read says why
    if args.no_read is not None:
        time.sleep(args.no_read)
        return
    if args.flood is not None:
        print("flood stopped early" if sent < args.mib * 1024 * 1024 else "flood went through")
    deadline = time.monotonic() + args.read
    while not closed and time.monotonic() < deadline:
        time.sleep(0.02)
    for line in status_lines(bytes(received)):
        print(line)
    print("closed after %.0f s" % (closed_at - start) if closed else "still open")
    sys.stdout.flush()


def server(args):
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(16)
    with open(args.portfile + ".tmp", "w") as f:
        f.write("%d\n" % ls.getsockname()[1])
    os.rename(args.portfile + ".tmp", args.portfile)

    def serve(c):
        try:
            pending = b""
            while True:  # one reply per request head, while the client keeps the connection
                while b"\r\n\r\n" not in pending:
                    chunk = c.recv(4096)
                    if not chunk:
                        return
                    pending += chunk
                pending = pending.split(b"\r\n\r\n", 1)[1]
                c.sendall(literal(args.reply))
                if args.endless is not None:
                    piece = literal(args.endless) * 1024
                    while True:
                        c.sendall(piece)
                if args.linger:
                    time.sleep(args.linger)
                    return
        except OSError:
            pass
        finally:
            c.close()

    while True:
        c, _ = ls.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="mode", required=True)
    c = sub.add_parser("client")
    c.add_argument("port", type=int)
    c.add_argument("--send", required=True)
    c.add_argument("--then")
    c.add_argument("--after", type=float, default=0.3)
    c.add_argument("--flood")
    c.add_argument("--mib", type=int, default=64)
    c.add_argument("--drip")
    c.add_argument("--every", type=float, default=0.5)
    c.add_argument("--read", type=float, default=5)
    c.add_argument("--no-read", type=float)
    s = sub.add_parser("server")
    s.add_argument("portfile")
    s.add_argument("--reply", required=True)
    s.add_argument("--endless")
    s.add_argument("--linger", type=float, default=0)
    args = p.parse_args()
    client(args) if args.mode == "client" else server(args)


if __name__ == "__main__":
    main()
