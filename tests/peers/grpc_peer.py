#!/usr/bin/python3
"""Python grpcio peer for nettool's grpc tests (DEPS.md pitfall 10: stubs
are generated flat, at test time, from grpc-proto's files).

  grpc_peer.py serve STUBDIR PORTFILE      a grpc.testing.TestService server
  grpc_peer.py client STUBDIR TARGET CASE  an interop case against TARGET
  grpc_peer.py stubs STUBDIR               only generate the stubs
  grpc_peer.py evil STUBDIR MODE PORTFILE  a server that is not gRPC (see evil())
  grpc_peer.py reflect STUBDIR MODE PORTFILE  a reflection service that lies (see lying_reflection())
  grpc_peer.py interleave STUBDIR CMD...   drive a bidi `nettool grpc call -d @-`:
                                           each request only after the previous response

The server follows the interop semantics (as nettool grpc serve does), so
the same nettool calls work against both.
"""
import os
import re
import shutil
import subprocess
import sys
import time
from concurrent import futures

PROTO_DIR = "/usr/share/grpc-proto"


def generate(stubdir):
    """Once per build tree: tests running side by side race to make the
    folder, and the first complete one wins (made aside, then renamed)."""
    if not os.path.isdir(stubdir):
        work = "%s.%d" % (stubdir, os.getpid())
        _generate_into(work)
        try:
            os.rename(work, stubdir)
        except OSError:
            shutil.rmtree(work, ignore_errors=True)
    sys.path.insert(0, stubdir)


def _generate_into(stubdir):
    os.makedirs(stubdir, exist_ok=True)
    for sub, name in [("grpc/testing", "empty.proto"), ("grpc/testing", "messages.proto"),
                      ("grpc/testing", "test.proto"), ("grpc/health/v1", "health.proto")]:
        text = open(os.path.join(PROTO_DIR, sub, name)).read()
        text = re.sub(r'import "grpc/testing/([a-z_]+\.proto)"', r'import "\1"', text)
        open(os.path.join(stubdir, name), "w").write(text)
    subprocess.run(["protoc", "-I", stubdir, "--python_out", stubdir, "--grpc_python_out", stubdir,
                    "--plugin=protoc-gen-grpc_python=/usr/bin/grpc_python_plugin",
                    "empty.proto", "messages.proto", "test.proto", "health.proto"], check=True)
    # A FileDescriptorSet for --protoset, and the flat .proto files for --proto.
    subprocess.run(["protoc", "-I", stubdir, "--include_imports",
                    "--descriptor_set_out", os.path.join(stubdir, "test.protoset"), "test.proto"], check=True)


def _write_port(portfile, port):
    """PORTFILE appears whole or not at all (the tests wait for it)."""
    with open(portfile + ".tmp", "w") as f:
        f.write(str(port))
    os.rename(portfile + ".tmp", portfile)


def _run_on_free_port(server, portfile):
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    _write_port(portfile, port)
    server.wait_for_termination()


def serve(stubdir, portfile):
    import grpc
    import messages_pb2
    import empty_pb2
    import test_pb2_grpc

    def echo(context):
        md = dict(context.invocation_metadata())
        if "x-grpc-test-echo-initial" in md:
            context.send_initial_metadata((("x-grpc-test-echo-initial", md["x-grpc-test-echo-initial"]),))
        if "x-grpc-test-echo-trailing-bin" in md:
            context.set_trailing_metadata((("x-grpc-test-echo-trailing-bin", md["x-grpc-test-echo-trailing-bin"]),))

    def payload(size):
        return messages_pb2.Payload(body=b"\0" * size)

    def maybe_abort(req, context):
        if req.HasField("response_status") and req.response_status.code != 0:
            if req.response_status.message == "rich details":
                context.set_trailing_metadata((("grpc-status-details-bin",
                                                _rich_status(req.response_status.code, "rich details")),))
            context.abort(grpc.StatusCode(_code(req.response_status.code)), req.response_status.message)

    class Service(test_pb2_grpc.TestServiceServicer):
        def EmptyCall(self, req, context):
            echo(context)
            return empty_pb2.Empty()

        def UnaryCall(self, req, context):
            echo(context)
            maybe_abort(req, context)
            return messages_pb2.SimpleResponse(payload=payload(req.response_size), server_id="python")

        def StreamingOutputCall(self, req, context):
            echo(context)
            for p in req.response_parameters:
                if p.interval_us:
                    time.sleep(p.interval_us / 1e6)
                yield messages_pb2.StreamingOutputCallResponse(payload=payload(p.size))
            maybe_abort(req, context)

        def StreamingInputCall(self, reqs, context):
            echo(context)
            total = sum(len(r.payload.body) for r in reqs)
            return messages_pb2.StreamingInputCallResponse(aggregated_payload_size=total)

        def FullDuplexCall(self, reqs, context):
            echo(context)
            for req in reqs:
                maybe_abort(req, context)
                for p in req.response_parameters:
                    if p.interval_us:
                        time.sleep(p.interval_us / 1e6)
                    yield messages_pb2.StreamingOutputCallResponse(payload=payload(p.size))

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8),
                         options=[("grpc.max_receive_message_length", 64 << 20),
                                  ("grpc.max_send_message_length", 64 << 20)])
    test_pb2_grpc.add_TestServiceServicer_to_server(Service(), server)
    _run_on_free_port(server, portfile)


_rich_cache = {}


def _rich_status(code, message):
    if (code, message) not in _rich_cache:
        _rich_cache[(code, message)] = _make_rich_status(code, message)
    return _rich_cache[(code, message)]


def _make_rich_status(code, message):
    """A google.rpc.Status with a BadRequest and a detail of a type no schema
    knows, its types built here from descriptors (protobuf's Python library,
    not nettool's definitions)."""
    from google.protobuf import any_pb2, descriptor_pb2, descriptor_pool, message_factory
    F = descriptor_pb2.FieldDescriptorProto
    pool = descriptor_pool.Default()  # where any_pb2's Any is
    f = descriptor_pb2.FileDescriptorProto(name="peer/rpc.proto", package="google.rpc", syntax="proto3",
                                           dependency=["google/protobuf/any.proto"])
    st = f.message_type.add(name="Status")
    st.field.add(name="code", number=1, type=F.TYPE_INT32, label=F.LABEL_OPTIONAL)
    st.field.add(name="message", number=2, type=F.TYPE_STRING, label=F.LABEL_OPTIONAL)
    st.field.add(name="details", number=3, type=F.TYPE_MESSAGE, label=F.LABEL_REPEATED,
                 type_name=".google.protobuf.Any")
    br = f.message_type.add(name="BadRequest")
    fv = br.nested_type.add(name="FieldViolation")
    fv.field.add(name="field", number=1, type=F.TYPE_STRING, label=F.LABEL_OPTIONAL)
    fv.field.add(name="description", number=2, type=F.TYPE_STRING, label=F.LABEL_OPTIONAL)
    br.field.add(name="field_violations", number=1, type=F.TYPE_MESSAGE, label=F.LABEL_REPEATED,
                 type_name=".google.rpc.BadRequest.FieldViolation")
    pool.AddSerializedFile(f.SerializeToString())
    factory = message_factory.MessageFactory(pool)
    Status = factory.GetPrototype(pool.FindMessageTypeByName("google.rpc.Status"))
    BadRequest = factory.GetPrototype(pool.FindMessageTypeByName("google.rpc.BadRequest"))
    bad = BadRequest()
    v = bad.field_violations.add()
    v.field, v.description = "name", "must not be empty"
    known = any_pb2.Any()
    known.Pack(bad)
    unknown = any_pb2.Any(type_url="type.googleapis.com/example.Secret", value=b"\x08\x01")
    return Status(code=code, message=message, details=[known, unknown]).SerializeToString()


def _varint(n):
    out = b""
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out += bytes([byte | 0x80])
        else:
            return out + bytes([byte])


def evil(mode, portfile):
    """Servers that are not what a gRPC client hopes for:
    http1   answers an HTTP/1.1 response to anything
    silent  accepts and never sends a byte
    huge    speaks HTTP/2 only as far as a 100 MiB response frame header"""
    import socket
    import threading
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    _write_port(portfile, srv.getsockname()[1])
    held = []

    def handle(conn):
        if mode == "http1":
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")
            conn.close()
        else:
            held.append(conn)

    while True:
        conn, _ = srv.accept()
        threading.Thread(target=handle, args=(conn,), daemon=True).start()


def lying_reflection(mode, portfile):
    """A grpcio server whose reflection service answers every question with
    raw bytes: `malformed` ones that are no ServerReflectionResponse, or
    `empty`, a list of no services."""
    import grpc
    answer = {"malformed": b"\x0a\xff", "empty": b"\x32\x00"}[mode]

    def info(requests, context):
        for _ in requests:
            yield answer

    handlers = {"ServerReflectionInfo": grpc.stream_stream_rpc_method_handler(info)}
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    for version in ("v1", "v1alpha"):
        server.add_generic_rpc_handlers(
            (grpc.method_handlers_generic_handler("grpc.reflection.%s.ServerReflection" % version, handlers),))
    _run_on_free_port(server, portfile)


def _code(n):
    import grpc
    for c in grpc.StatusCode:
        if c.value[0] == n:
            return c.value
    raise ValueError(n)


def client(stubdir, target, case):
    """grpc's interop-test-descriptions, as far as a plaintext server goes."""
    import grpc
    import empty_pb2
    import messages_pb2
    import test_pb2_grpc
    import health_pb2
    import health_pb2_grpc

    channel = grpc.insecure_channel(target)
    stub = test_pb2_grpc.TestServiceStub(channel)

    def check(cond, what):
        if not cond:
            print("FAIL", case, what, flush=True)
            sys.exit(1)

    if case == "empty_unary":
        check(stub.EmptyCall(empty_pb2.Empty()) == empty_pb2.Empty(), "empty response")
    elif case == "large_unary":
        r = stub.UnaryCall(messages_pb2.SimpleRequest(response_size=314159, payload=messages_pb2.Payload(body=b"\0" * 271828)))
        check(len(r.payload.body) == 314159 and r.payload.body == b"\0" * 314159, "314159 zero bytes")
    elif case == "client_compressed_unary":
        r = stub.UnaryCall(messages_pb2.SimpleRequest(response_size=314159, payload=messages_pb2.Payload(body=b"\0" * 271828)),
                           compression=grpc.Compression.Gzip)
        check(len(r.payload.body) == 314159, "314159 bytes")
    elif case == "server_compressed_unary":
        r = stub.UnaryCall(messages_pb2.SimpleRequest(response_size=314159, response_compressed=messages_pb2.BoolValue(value=True),
                                                      payload=messages_pb2.Payload(body=b"\0" * 271828)))
        check(len(r.payload.body) == 314159, "314159 bytes")
    elif case == "client_streaming":
        sizes = [27182, 8, 1828, 45904]
        r = stub.StreamingInputCall(iter(messages_pb2.StreamingInputCallRequest(payload=messages_pb2.Payload(body=b"\0" * s)) for s in sizes))
        check(r.aggregated_payload_size == 74922, "aggregated 74922")
    elif case == "server_streaming":
        sizes = [31415, 9, 2653, 58979]
        req = messages_pb2.StreamingOutputCallRequest(response_parameters=[messages_pb2.ResponseParameters(size=s) for s in sizes])
        got = [len(r.payload.body) for r in stub.StreamingOutputCall(req)]
        check(got == sizes, "sizes %r" % got)
    elif case == "ping_pong":
        import queue
        sizes = [(31415, 27182), (9, 8), (2653, 1828), (58979, 45904)]
        requests = queue.Queue()
        responses = stub.FullDuplexCall(iter(requests.get, None))
        for out, inp in sizes:
            requests.put(messages_pb2.StreamingOutputCallRequest(response_parameters=[messages_pb2.ResponseParameters(size=out)],
                                                                 payload=messages_pb2.Payload(body=b"\0" * inp)))
            r = next(responses)
            check(len(r.payload.body) == out, "ping-pong size %d" % out)
        requests.put(None)
        check(next(responses, None) is None, "the stream ends after half-close")
    elif case == "empty_stream":
        check(list(stub.FullDuplexCall(iter([]))) == [], "no responses")
    elif case == "custom_metadata":
        md = (("x-grpc-test-echo-initial", "test_initial_metadata_value"),
              ("x-grpc-test-echo-trailing-bin", b"\x0a\x0b\x0a\x0b\x0a\x0b"))
        r, call = stub.UnaryCall.with_call(messages_pb2.SimpleRequest(response_size=314159, payload=messages_pb2.Payload(body=b"\0" * 271828)), metadata=md)
        check(("x-grpc-test-echo-initial", "test_initial_metadata_value") in call.initial_metadata(), "initial echo")
        check(("x-grpc-test-echo-trailing-bin", b"\x0a\x0b\x0a\x0b\x0a\x0b") in call.trailing_metadata(), "trailing echo")
        responses = stub.FullDuplexCall(iter([messages_pb2.StreamingOutputCallRequest(response_parameters=[messages_pb2.ResponseParameters(size=314159)])]), metadata=md)
        for _ in responses:
            pass
        check(("x-grpc-test-echo-initial", "test_initial_metadata_value") in responses.initial_metadata(), "duplex initial echo")
        check(("x-grpc-test-echo-trailing-bin", b"\x0a\x0b\x0a\x0b\x0a\x0b") in responses.trailing_metadata(), "duplex trailing echo")
    elif case == "status_code_and_message":
        msg = "test status message"
        try:
            stub.UnaryCall(messages_pb2.SimpleRequest(response_status=messages_pb2.EchoStatus(code=2, message=msg)))
            check(False, "UnaryCall must fail")
        except grpc.RpcError as e:
            check(e.code() == grpc.StatusCode.UNKNOWN and e.details() == msg, "unary status %s %s" % (e.code(), e.details()))
        try:
            list(stub.FullDuplexCall(iter([messages_pb2.StreamingOutputCallRequest(response_status=messages_pb2.EchoStatus(code=2, message=msg))])))
            check(False, "FullDuplexCall must fail")
        except grpc.RpcError as e:
            check(e.code() == grpc.StatusCode.UNKNOWN and e.details() == msg, "duplex status %s %s" % (e.code(), e.details()))
    elif case == "special_status_message":
        msg = "\t\ntest with whitespace\r\nand Unicode BMP \u263a and non-BMP \U0001f608\t\n"
        try:
            stub.UnaryCall(messages_pb2.SimpleRequest(response_status=messages_pb2.EchoStatus(code=2, message=msg)))
            check(False, "UnaryCall must fail")
        except grpc.RpcError as e:
            check(e.code() == grpc.StatusCode.UNKNOWN and e.details() == msg, "status message %r" % e.details())
    elif case == "unimplemented_method":
        try:
            stub.UnimplementedCall(empty_pb2.Empty())
            check(False, "must fail")
        except grpc.RpcError as e:
            check(e.code() == grpc.StatusCode.UNIMPLEMENTED, "code %s" % e.code())
    elif case == "unimplemented_service":
        try:
            channel.unary_unary("/grpc.testing.UnimplementedService/UnimplementedCall")(b"")
            check(False, "must fail")
        except grpc.RpcError as e:
            check(e.code() == grpc.StatusCode.UNIMPLEMENTED, "code %s" % e.code())
    elif case == "cancel_after_begin":
        import queue
        requests = queue.Queue()
        future = stub.StreamingInputCall.future(iter(requests.get, None))
        future.cancel()
        check(future.cancelled(), "cancelled")
    elif case == "cancel_after_first_response":
        import queue
        requests = queue.Queue()
        responses = stub.FullDuplexCall(iter(requests.get, None))
        requests.put(messages_pb2.StreamingOutputCallRequest(response_parameters=[messages_pb2.ResponseParameters(size=31415)],
                                                             payload=messages_pb2.Payload(body=b"\0" * 27182)))
        next(responses)
        responses.cancel()
        try:
            next(responses)
            check(False, "must be cancelled")
        except grpc.RpcError as e:
            check(e.code() == grpc.StatusCode.CANCELLED, "code %s" % e.code())
    elif case == "timeout_on_sleeping_server":
        import queue
        requests = queue.Queue()  # never half-closed: the server keeps waiting
        requests.put(messages_pb2.StreamingOutputCallRequest(payload=messages_pb2.Payload(body=b"\0" * 27182)))
        try:
            list(stub.FullDuplexCall(iter(requests.get, None), timeout=0.001))
            check(False, "must time out")
        except grpc.RpcError as e:
            check(e.code() == grpc.StatusCode.DEADLINE_EXCEEDED, "code %s" % e.code())
    elif case.startswith("oversized="):
        # One raw request of SIZE bytes, past the server's limit.
        size = int(case.split("=")[1])
        big = grpc.insecure_channel(target, options=[("grpc.max_send_message_length", -1)])
        try:
            big.unary_unary("/grpc.testing.TestService/UnaryCall")(b"\x1a" + _varint(size) + b"\0" * size, timeout=60)
            check(False, "must be refused")
        except grpc.RpcError as e:
            check(e.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, "code %s" % e.code())
    elif case.startswith("burst="):
        # N unary calls at once, each asking for a SIZE-byte response.
        n, size = (int(x) for x in case.split("=")[1].split("x"))
        big = grpc.insecure_channel(target, options=[("grpc.max_receive_message_length", -1)])
        stub_big = test_pb2_grpc.TestServiceStub(big)
        futures_ = [stub_big.UnaryCall.future(messages_pb2.SimpleRequest(response_size=size), timeout=60) for _ in range(n)]
        ok = exhausted = other = 0
        for f in futures_:
            try:
                check(len(f.result().payload.body) == size, "full response")
                ok += 1
            except grpc.RpcError as e:
                if e.code() == grpc.StatusCode.RESOURCE_EXHAUSTED and "try again" in e.details():
                    exhausted += 1
                else:
                    other += 1
        # The tests' server budget holds two of the sizes they ask for.
        check(ok >= 1 and other == 0 and (exhausted >= 1) == (n > 2),
              "ok=%d exhausted=%d other=%d" % (ok, exhausted, other))
    elif case.startswith("paced_holds="):
        # N streams that each ask for a 1 MB response 30 s from now: the
        # server holds no budget while a response waits for its interval.
        n = int(case.split("=")[1])
        req = messages_pb2.StreamingOutputCallRequest(
            response_parameters=[messages_pb2.ResponseParameters(size=1000000, interval_us=30000000)])
        calls = [stub.StreamingOutputCall(req) for _ in range(n)]
        time.sleep(1)
        refused = sum(1 for c in calls if c.done())
        for c in calls:
            c.cancel()
        check(refused == 0, "%d of %d paced streams ended early" % (refused, n))
    elif case.startswith("cancelled_halfduplex="):
        # ROUNDSxN HalfDuplexCalls that ask for a paced 1 MB response and are
        # cancelled before the server writes it: the budget must come back.
        rounds, n = (int(x) for x in case.split("=")[1].split("x"))
        import threading
        for _ in range(rounds):
            stop = threading.Event()

            def requests():
                yield messages_pb2.StreamingOutputCallRequest(
                    response_parameters=[messages_pb2.ResponseParameters(size=1000000, interval_us=200000)])
                stop.wait()
            calls = [stub.HalfDuplexCall(requests()) for _ in range(n)]
            time.sleep(0.1)
            for c in calls:
                c.cancel()
            stop.set()
            time.sleep(0.3)
    elif case.startswith("unread_duplex="):
        # A FullDuplexCall that asks for N responses and reads none, for 3 s:
        # the server stops reading it (its -vv log says so).
        n = int(case.split("=")[1])
        sent = [0]

        def requests():
            for _ in range(n):
                sent[0] += 1
                yield messages_pb2.StreamingOutputCallRequest(
                    response_parameters=[messages_pb2.ResponseParameters(size=1000)])
        call = stub.FullDuplexCall(requests())
        time.sleep(3)
        call.cancel()
        check(sent[0] < n, "flow control held the sender back (%d of %d sent)" % (sent[0], n))
    elif case == "health":
        h = health_pb2_grpc.HealthStub(channel)
        check(h.Check(health_pb2.HealthCheckRequest(service="")).status == health_pb2.HealthCheckResponse.SERVING, "server SERVING")
        check(h.Check(health_pb2.HealthCheckRequest(service="grpc.testing.TestService")).status
              == health_pb2.HealthCheckResponse.SERVING, "TestService SERVING")
        try:
            h.Check(health_pb2.HealthCheckRequest(service="no.such.Service"))
            check(False, "unknown service must be NOT_FOUND")
        except grpc.RpcError as e:
            check(e.code() == grpc.StatusCode.NOT_FOUND, "code %s" % e.code())
        watch = h.Watch(health_pb2.HealthCheckRequest(service="down.Service"))
        check(next(watch).status == health_pb2.HealthCheckResponse.NOT_SERVING, "Watch sends NOT_SERVING")
        watch.cancel()
        unknown = h.Watch(health_pb2.HealthCheckRequest(service="no.such.Service"))
        check(next(unknown).status == health_pb2.HealthCheckResponse.SERVICE_UNKNOWN, "Watch sends SERVICE_UNKNOWN")
        unknown.cancel()
    else:
        print("unknown case", case)
        sys.exit(2)
    print("PASS", case, flush=True)


def interleave(cmd):
    """Writes one FullDuplexCall request at a time to CMD's stdin and waits
    (up to 10 s) for its response line before writing the next."""
    import select
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    got = 0
    for size in (1, 2, 3):
        proc.stdin.write(b'{"responseParameters":[{"size":%d}]}\n' % size)
        proc.stdin.flush()
        ready, _, _ = select.select([proc.stdout], [], [], 10)
        if not ready:
            print("no response to request", size, "before the next was written", flush=True)
            proc.kill()
            sys.exit(1)
        line = proc.stdout.readline()
        print("response", size, line.decode().strip(), flush=True)
        got += 1
    proc.stdin.close()
    rest = proc.stdout.read()
    print("after close:", rest.decode().strip() or "nothing", "rc", proc.wait(), flush=True)


if __name__ == "__main__":
    mode, stubdir = sys.argv[1], sys.argv[2]
    generate(stubdir)
    if mode == "serve":
        serve(stubdir, sys.argv[3])
    elif mode == "evil":
        evil(sys.argv[3], sys.argv[4])
    elif mode == "reflect":
        lying_reflection(sys.argv[3], sys.argv[4])
    elif mode == "interleave":
        interleave(sys.argv[3:])
    elif mode == "client":
        for case in sys.argv[4:]:
            client(stubdir, sys.argv[3], case)
