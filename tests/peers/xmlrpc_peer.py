#!/usr/bin/python3
"""Python xmlrpc peers for the xmlrpc tests (the standard library's).

  xmlrpc_peer.py serve PORTFILE [plain]  SimpleXMLRPCServer on 127.0.0.1:0 (allow_none, builtin
                                         types, introspection, multicall) with add, echo (returns
                                         its parameters), boom (fault 42), types (one of every
                                         type), blob N (N bytes of base64), sleep S; a thread per
                                         request, or with 'plain' SimpleXMLRPCServer as it comes
                                         (one request at a time: the speed anchor)
  xmlrpc_peer.py evil PORTFILE MODE      a raw HTTP server answering every request with MODE:
                                         truncated, laughs (a billion-laughs DTD), entity (an
                                         external entity), nest N (N nested arrays), huge MIB
                                         (a MIB MiB body), status (HTTP 500), notxml, stall
                                         (never answers), unknown (an unknown type), bigint,
                                         badlist (a method list with an int in it), undeclared
  xmlrpc_peer.py client URL SCRIPT       ServerProxy and MultiCall against URL: SCRIPT is
                                         'types', 'faults', 'multicall' or 'introspect'; prints
                                         one repr() per line
"""
import base64
import datetime
import socket
import sys
import threading
import time
import xmlrpc.client
import xmlrpc.server


def write_port(path, port):
    with open(path + ".tmp", "w") as f:
        f.write(str(port))
    import os
    os.rename(path + ".tmp", path)


def serve(portfile, plain):
    class Server(xmlrpc.server.SimpleXMLRPCServer):
        daemon_threads = True

    class Threaded(__import__("socketserver").ThreadingMixIn, Server):
        pass

    kind = xmlrpc.server.SimpleXMLRPCServer if plain else Threaded
    s = kind(("127.0.0.1", 0), allow_none=True, logRequests=False, use_builtin_types=True)
    s.register_introspection_functions()
    s.register_multicall_functions()

    def add(a, b):
        "Adds two numbers."
        return a + b

    def echo(*params):
        "Returns its parameters."
        return list(params)

    def boom():
        raise xmlrpc.client.Fault(42, "boom happened")

    def types():
        return {
            "int": 7, "negative": -2147483648, "double": 2.5, "small": 1e-12, "true": True, "false": False,
            "string": "grüße, 世界 <&>", "empty": "", "nil": None,
            "datetime": datetime.datetime(2026, 1, 1, 12, 0, 0), "bytes": b"\x00\x01\xff",
            "array": [1, "two", [3.0]], "struct": {"nested": {"deep": [None]}},
        }

    def blob(n):
        return bytes(i % 251 for i in range(n))

    def sleep(seconds):
        time.sleep(seconds)
        return seconds

    for f in (add, echo, boom, types, blob, sleep):
        s.register_function(f)
    write_port(portfile, s.server_address[1])
    s.serve_forever()


def evil_body(mode, arg):
    if mode == "truncated":
        return b"<?xml version='1.0'?><methodResponse><params><param><value><int>1</int>"
    if mode == "laughs":
        ents = '<!ENTITY lol "lol">' + "".join(
            f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10 if i > 1 else "&lol;" * 10}">' for i in range(1, 10))
        return (f'<?xml version="1.0"?><!DOCTYPE lolz [{ents}]><methodResponse><params><param>'
                '<value><string>&lol9;</string></value></param></params></methodResponse>').encode()
    if mode == "entity":
        return (b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
                b'<methodResponse><params><param><value><string>&xxe;</string></value></param></params>'
                b'</methodResponse>')
    if mode == "undeclared":
        return (b'<?xml version="1.0"?><methodResponse><params><param><value><string>&xxe;</string></value>'
                b'</param></params></methodResponse>')
    if mode == "nest":
        n = int(arg)
        return (b"<?xml version='1.0'?><methodResponse><params><param>" + b"<value><array><data>" * n +
                b"</data></array></value>" * n + b"</param></params></methodResponse>")
    if mode == "unknown":
        return b"<?xml version='1.0'?><methodResponse><params><param><value><float>1</float></value></param></params></methodResponse>"
    if mode == "bigint":
        return b"<?xml version='1.0'?><methodResponse><params><param><value><int>2147483648</int></value></param></params></methodResponse>"
    if mode == "badlist":
        return (b"<?xml version='1.0'?><methodResponse><params><param><value><array><data><value>a</value>"
                b"<value>b</value><value><int>1</int></value></data></array></value></param></params></methodResponse>")
    if mode == "notxml":
        return b"this is not xml"
    return b""


def evil(portfile, mode, arg):
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    write_port(portfile, srv.getsockname()[1])

    def handle(conn):
        try:
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                data += chunk
            if mode == "stall":
                time.sleep(3600)
            if mode == "status":
                conn.sendall(b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 4\r\n\r\noops")
            elif mode == "huge":
                size = int(arg) * 1024 * 1024
                head = b"<?xml version='1.0'?><methodResponse><params><param><value><string>"
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: %d\r\n\r\n" % (size + len(head)))
                conn.sendall(head)
                block = b"a" * 65536
                sent = 0
                while sent < size:
                    conn.sendall(block[: min(len(block), size - sent)])
                    sent += len(block)
            else:
                body = evil_body(mode, arg)
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
            time.sleep(0.5)
        except OSError:
            pass
        finally:
            conn.close()

    while True:
        conn, _ = srv.accept()
        threading.Thread(target=handle, args=(conn,), daemon=True).start()


def client(url, script):
    p = xmlrpc.client.ServerProxy(url, allow_none=True, use_builtin_types=True)
    if script == "types":
        values = [7, -2147483648, 2.5, True, False, "grüße, 世界 <&>\ttab", "", None,
                  datetime.datetime(2026, 1, 1, 12, 0, 0), b"\x00\x01\xff" * 100, [1, "two", [3.0, None]],
                  {"a": {"b": [1, {"c": b"x"}]}, "empty": {}}]
        for v in values:
            print(repr(p.echo(v)))
        print(repr(p.echo(*values[:3])))
        big = bytes(range(256)) * (10 * 4096)  # 10 MiB
        back = p.echo(big)[0]
        print("big", len(back), back == big)
    elif script == "faults":
        for call in (lambda: p.fail(), lambda: p.nosuch(), lambda: p.system.methodHelp(1)):
            try:
                print(repr(call()))
            except xmlrpc.client.Fault as f:
                print("fault", f.faultCode, f.faultString)
    elif script == "multicall":
        m = xmlrpc.client.MultiCall(p)
        m.echo(1)
        m.add(2, 3)
        m.fail()
        m.echo("last")
        results = m()
        for i in range(4):
            try:
                print(repr(results[i]))
            except xmlrpc.client.Fault as f:
                print("fault", f.faultCode, f.faultString)
    elif script == "introspect":
        print(repr(p.system.listMethods()))
        print(repr(p.system.methodHelp("add")))
        print(repr(p.system.methodSignature("system.methodHelp")))
        print(repr(p.system.methodSignature("echo")))


def main():
    if sys.argv[1] == "serve":
        serve(sys.argv[2], len(sys.argv) > 3 and sys.argv[3] == "plain")
    elif sys.argv[1] == "evil":
        evil(sys.argv[2], sys.argv[3], sys.argv[4] if len(sys.argv) > 4 else "0")
    elif sys.argv[1] == "client":
        client(sys.argv[2], sys.argv[3])


if __name__ == "__main__":
    main()
