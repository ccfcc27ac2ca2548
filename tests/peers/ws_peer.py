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

Clients print what they received, one repr() per line, then "closed CODE REASON":

  ws_peer.py client URL script           send text, a multibyte line, an empty one, binary; print echoes
  ws_peer.py client URL closing CODE R   send "x", then close with CODE and reason R
  ws_peer.py client URL big MIB          send one binary message of MIB MiB, print the echo's SHA-256
  ws_peer.py client URL listen N         print N messages received, send nothing
  ws_peer.py client URL say TEXT         send TEXT, then wait for the server to close
  ws_peer.py client URL subprotocol P... offer P..., print the one chosen
  ws_peer.py client URL stall            connect, never read (for --broadcast's 1008)
"""
import asyncio
import hashlib
import sys

import websockets


def log(*args):
    print(*args, file=sys.stderr, flush=True)


async def serve(portfile, mode, args):
    subprotocols = args if mode == "echo" and args else None

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
            if mode in ("echo", "count", "send-file"):
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


async def main():
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
