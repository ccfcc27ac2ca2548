#!/usr/bin/python3
"""An HTTP/1.1 test server on Python's http.server.

Usage: http_peer.py PORTFILE
Binds 127.0.0.1:0, writes the port to PORTFILE, serves until killed.

  /echo...              200, JSON: method, path, headers, body
  /status/N             status N, Retry-After copied from ?retry_after=
  /redirect/N?to=URL    status N with Location: URL
  /chunked              a chunked body: "one\ntwo\nthree\n"
  /flaky/KEY?fails=N&retry_after=S
                        503 (Retry-After: S) the first N times for KEY, then 200 "ok KEY"
  /reset                reads the request, then resets the connection
  /malformed            answers with a broken status line
  /count/KEY            200 with how many requests KEY has seen (from /flaky and /reset)
  /form                 parses a multipart/form-data body with the email package:
                        one JSON line per part: name, filename, type, size, sha256
  /encoded/ENC          "line N" x 1000 with Content-Encoding: deflate (zlib), rawdeflate
                        (labelled deflate), gzip, or bad (labelled gzip, not gzip)
"""
import email.parser
import email.policy
import gzip
import hashlib
import http.server
import os
import json
import socket
import struct
import sys
import threading
import urllib.parse
import zlib

counts = {}
lock = threading.Lock()


def bump(key):
    with lock:
        counts[key] = counts.get(key, 0) + 1
        return counts[key]


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        sys.stderr.write("%s %s\n" % (self.command, self.path))

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def reply(self, status, data, headers=()):
        if isinstance(data, str):
            data = data.encode()
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        if status in (204, 304):  # no body, no length (RFC 9110 §15.3.5, §15.4.5)
            self.end_headers()
            return
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def handle_any(self):
        url = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(url.query))
        parts = url.path.strip("/").split("/")
        body = self.body()
        if parts[0] == "echo":
            self.reply(200, json.dumps({
                "method": self.command, "path": self.path,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body": body.decode("latin-1")}) + "\n", [("Content-Type", "application/json")])
        elif parts[0] == "status":
            extra = [("Retry-After", query["retry_after"])] if "retry_after" in query else []
            self.reply(int(parts[1]), "status %s\n" % parts[1], extra)
        elif parts[0] == "redirect":
            self.reply(int(parts[1]), "", [("Location", query["to"])])
        elif parts[0] == "chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for piece in (b"one\n", b"two\n", b"three\n"):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            self.wfile.write(b"0\r\n\r\n")
        elif parts[0] == "flaky":
            n = bump(parts[1])
            if n <= int(query.get("fails", 2)):
                self.reply(503, "busy\n", [("Retry-After", query.get("retry_after", "1"))])
            else:
                self.reply(200, "ok %s\n" % parts[1])
        elif parts[0] == "reset":
            bump("reset")
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True
        elif parts[0] == "malformed":
            self.wfile.write(b"HTTP/1.1 2xx Broken\r\nContent-Length: 0\r\n\r\n")
            self.close_connection = True
        elif parts[0] == "form":
            ctype = self.headers.get("Content-Type", "")
            msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
                b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + body)
            out = []
            for part in msg.iter_parts():
                data = part.get_payload(decode=True)
                out.append(json.dumps({
                    "name": part.get_param("name", header="content-disposition"),
                    "filename": part.get_filename(), "type": part.get_content_type(),
                    "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}))
            self.reply(200, "".join(line + "\n" for line in out))
        elif parts[0] == "encoded":
            text = "".join("line %d\n" % i for i in range(1000)).encode()
            if parts[1] == "deflate":
                data = zlib.compress(text)
            elif parts[1] == "rawdeflate":
                c = zlib.compressobj(wbits=-15)
                data = c.compress(text) + c.flush()
            elif parts[1] == "gzip":
                data = gzip.compress(text)
            else:
                data = b"this is not gzip at all"
            label = "deflate" if "deflate" in parts[1] else "gzip"
            self.reply(200, data, [("Content-Encoding", label)])
        elif parts[0] == "count":
            with lock:
                self.reply(200, "%d\n" % counts.get(parts[1], 0))
        else:
            self.reply(404, "no such path\n")

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = handle_any


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
server.serve_forever()
