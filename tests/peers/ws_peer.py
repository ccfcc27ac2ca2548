#!/usr/bin/python3
"""Python `websockets` peers for the ws tests (Debian's python3-websockets).

Servers bind 127.0.0.1:0, write the port to PORTFILE, and log what they saw
on stderr (request headers as "H name: value", the negotiated extension and
subprotocol, each close code):

  ws_peer.py serve PORTFILE echo [SUBPROTOCOL...]  echo every message
  ws_peer.py serve PORTFILE close CODE REASON      close with CODE REASON after the first message
  ws_peer.py serve PORTFILE badutf8                send a text frame that is not UTF-8
  ws_peer.py serve PORTFILE count N                send "1".."N" at once, then echo
  ws_peer.py serve PORTFILE send-file PATH         send PATH's bytes as one binary message, then echo
  ws_peer.py serve PORTFILE drop-first             echo; the first connection is dropped (no Close) after one echo

Clients print what they received, one repr() per line, then "closed CODE REASON":

  ws_peer.py client URL script           send text, a multibyte line, an empty one, binary; print echoes
  ws_peer.py client URL closing CODE R   send "x", then close with CODE and reason R
  ws_peer.py client URL big MIB          send one binary message of MIB MiB, print the echo's SHA-256
  ws_peer.py client URL listen N         print N messages received, send nothing
  ws_peer.py client URL say TEXT         send TEXT, then wait for the server to close
  ws_peer.py client URL subprotocol P... offer P..., print the one chosen
  ws_peer.py client URL stall            connect, never read (for --broadcast's 1008)
  ws_peer.py raw PORT BYTES [--drip S]   a valid upgrade by hand, then BYTES (a Python expression,
                                         sent at once or one byte every S seconds); prints the
                                         server's Close code, "eof" or "reset"

Servers for ws connect's hostile tests (PORTFILE as above, raw sockets):

  ws_peer.py evil PORTFILE silent        accept, never answer the upgrade
  ws_peer.py evil PORTFILE bad-accept    answer 101 with a wrong Sec-WebSocket-Accept
  ws_peer.py evil PORTFILE huge MIB      101, then a binary frame announcing MIB MiB, sent in full
  ws_peer.py evil PORTFILE vanish        101, then half a frame, then close the TCP connection
  ws_peer.py evil PORTFILE subprotocol   101 choosing subprotocol "evil", offered or not
"""
import asyncio
import hashlib
import sys

import websockets


def log(*args):
    print(*args, file=sys.stderr, flush=True)


async def serve(portfile, mode, args):
    subprotocols = args if mode == "echo" and args else None
    connections = [0]

    async def handler(ws, path=None):
        for name, value in ws.request_headers.raw_items():
            log(f"H {name.lower()}: {value}")
        log("EXT", ws.response_headers.get("Sec-WebSocket-Extensions", "-"))
        log("SUBPROTOCOL", ws.subprotocol or "-")
        try:
            if mode == "badutf8":
                await ws.write_frame(True, 0x1, b"ok \xff\xfe")
                await ws.wait_closed()
            elif mode == "count":
                for i in range(1, int(args[0]) + 1):
                    await ws.send(str(i))
            elif mode == "send-file":
                with open(args[0], "rb") as f:
                    await ws.send(f.read())
            elif mode == "drop-first":
                connections[0] += 1
                if connections[0] == 1:
                    await ws.send(await ws.recv())
                    log("DROPPING")
                    ws.transport.abort()
                    return
            if mode in ("echo", "count", "send-file", "drop-first"):
                async for m in ws:
                    await ws.send(m)
            elif mode == "close":
                await ws.recv()
                await ws.close(int(args[0]), args[1])
        except websockets.ConnectionClosed:
            pass
        log("CLOSED", ws.close_code, ws.close_reason)

    async with websockets.serve(handler, "127.0.0.1", 0, max_size=None, subprotocols=subprotocols) as server:
        port = server.sockets[0].getsockname()[1]
        with open(portfile + ".tmp", "w") as f:
            f.write(str(port))
        import os
        os.rename(portfile + ".tmp", portfile)
        await asyncio.Future()


async def client(url, mode, args):
    kwargs = {"max_size": None}
    if mode == "subprotocol":
        kwargs["subprotocols"] = args
    async with websockets.connect(url, **kwargs) as ws:
        if mode == "script":
            for m in ["hello", "grüße, 世界 ✓", "", b"\x00\x01\xff"]:
                await ws.send(m)
                print(repr(await ws.recv()), flush=True)
        elif mode == "closing":
            await ws.send("x")
            print(repr(await ws.recv()), flush=True)
            await ws.close(int(args[0]), args[1])
        elif mode == "big":
            data = bytes(range(256)) * (int(args[0]) * 4096)
            await ws.send(data)
            echo = await ws.recv()
            print(hashlib.sha256(echo).hexdigest() == hashlib.sha256(data).hexdigest(), len(echo), flush=True)
        elif mode == "listen":
            for _ in range(int(args[0])):
                print(repr(await ws.recv()), flush=True)
        elif mode == "say":
            await ws.send(args[0])
            try:
                async for m in ws:
                    print(repr(m), flush=True)
            except websockets.ConnectionClosed:
                pass
        elif mode == "subprotocol":
            print("chosen", ws.subprotocol, flush=True)
        elif mode == "stall":
            log("STALLING")
            ws.transport.pause_reading()
            await asyncio.sleep(3600)
    print("closed", ws.close_code, ws.close_reason, flush=True)


def upgrade_request(port):
    return (f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n").encode()


def raw(port, data, drip):
    import socket
    import time
    s = socket.create_connection(("127.0.0.1", int(port)))
    s.sendall(upgrade_request(port))
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = s.recv(4096)
        if not chunk:
            print("eof before 101", flush=True)
            return
        head += chunk
    rest = head.split(b"\r\n\r\n", 1)[1]
    try:
        if drip:
            for b in data:
                s.sendall(bytes([b]))
                time.sleep(drip)
        else:
            s.sendall(data)
    except OSError:
        pass
    s.settimeout(30)
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            rest += chunk
    except ConnectionResetError:
        print("reset", flush=True)
        return
    # The server's frames: find its Close (opcode 8) and print the code.
    i = 0
    while i + 2 <= len(rest):
        op, n = rest[i] & 0x0F, rest[i + 1] & 0x7F
        i += 2
        if n == 126:
            n, i = int.from_bytes(rest[i:i + 2], "big"), i + 2
        elif n == 127:
            n, i = int.from_bytes(rest[i:i + 8], "big"), i + 8
        if op == 8:
            print("close", int.from_bytes(rest[i:i + 2], "big") if n >= 2 else "-", flush=True)
            return
        i += n
    print("eof", flush=True)


def evil(portfile, mode, args):
    import base64
    import hashlib
    import os
    import socket
    import time
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    with open(portfile + ".tmp", "w") as f:
        f.write(str(srv.getsockname()[1]))
    os.rename(portfile + ".tmp", portfile)
    while True:
        c, _ = srv.accept()
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = c.recv(4096)
            if not chunk:
                break
            head += chunk
        if mode == "silent":
            time.sleep(3600)
        key = [l.split(b":", 1)[1].strip() for l in head.split(b"\r\n") if l.lower().startswith(b"sec-websocket-key:")]
        accept = base64.b64encode(hashlib.sha1(key[0] + b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest())
        if mode == "bad-accept":
            accept = base64.b64encode(b"x" * 20)
        extra = b"Sec-WebSocket-Protocol: evil\r\n" if mode == "subprotocol" else b""
        c.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  b"Sec-WebSocket-Accept: " + accept + b"\r\n" + extra + b"\r\n")
        try:
            if mode == "huge":
                n = int(args[0]) << 20
                c.sendall(bytes([0x82, 127]) + n.to_bytes(8, "big"))
                chunk = b"x" * (1 << 20)
                for _ in range(int(args[0])):
                    c.sendall(chunk)
            elif mode == "vanish":
                c.sendall(bytes([0x81, 10]) + b"half")
                time.sleep(0.2)
        except OSError:
            pass
        c.close()


async def main():
    if sys.argv[1] == "raw":
        drip = float(sys.argv[5]) if len(sys.argv) > 5 and sys.argv[4] == "--drip" else 0
        return raw(sys.argv[2], eval(sys.argv[3]), drip)
    if sys.argv[1] == "evil":
        return evil(sys.argv[2], sys.argv[3], sys.argv[4:])
    role, where, mode, *args = sys.argv[1:]
    try:
        if role == "serve":
            await serve(where, mode, args)
        else:
            await client(where, mode, args)
    except websockets.ConnectionClosed as e:
        print("closed", e.code, e.reason, flush=True)
    except websockets.InvalidStatusCode as e:
        print("rejected", e.status_code, flush=True)


asyncio.run(main())
