#!/usr/bin/python3
"""pyzmq peers for the zmq tests. Each mode prints READY on stderr once its
socket is bound or connected; received messages go to stdout as repr() of
their frame lists, one per line, so binary frames compare exactly.

  zmq_peer.py pull EP COUNT            bind, print COUNT messages
  zmq_peer.py push EP N [--multipart]  connect, send "1".."N" (or [b"k", i, b"\\x00\\xff"] frames)
  zmq_peer.py sub EP COUNT [TOPIC]     connect, print COUNT messages
  zmq_peer.py pub EP N SUBSCRIBERS     bind XPUB, wait for SUBSCRIBERS subscriptions, send "1".."N"
                                       (EP written ">tcp://…": connect instead, as to a proxy)
  zmq_peer.py router EP COUNT          bind, answer [id, m] with [id, b"re:" + m], COUNT times
  zmq_peer.py dealer EP ID TEXT        connect as ID, send TEXT, print the reply, send "bye"
  zmq_peer.py pair EP COUNT            bind, echo COUNT messages back
  zmq_peer.py rep EP COUNT             bind, answer COUNT requests with b"re:" + request
  zmq_peer.py lossy-rep EP COUNT       as rep, but the first request never gets its reply
  zmq_peer.py req EP TEXT...           connect, send each TEXT as a request, print each reply
  zmq_peer.py curve-rep EP KEYFILE N   as rep, a CURVE server with the secret key in KEYFILE
  zmq_peer.py curve-req EP PUBFILE T   a CURVE client of the server whose public key is in PUBFILE
"""
import sys
import time

import zmq


def ready():
    print("READY", file=sys.stderr, flush=True)


def show(frames):
    print(repr(frames), flush=True)


def main():
    mode, ep = sys.argv[1], sys.argv[2]
    ctx = zmq.Context()
    if mode == "pull":
        s = ctx.socket(zmq.PULL)
        s.bind(ep)
        ready()
        for _ in range(int(sys.argv[3])):
            show(s.recv_multipart())
    elif mode == "push":
        s = ctx.socket(zmq.PUSH)
        s.connect(ep)
        ready()
        multipart = "--multipart" in sys.argv
        for i in range(1, int(sys.argv[3]) + 1):
            if multipart:
                s.send_multipart([b"k", str(i).encode(), b"\x00\xff"])
            else:
                s.send(str(i).encode())
    elif mode == "sub":
        s = ctx.socket(zmq.SUB)
        s.setsockopt(zmq.SUBSCRIBE, sys.argv[4].encode() if len(sys.argv) > 4 else b"")
        s.connect(ep)
        ready()
        for _ in range(int(sys.argv[3])):
            show(s.recv_multipart())
    elif mode == "pub":
        s = ctx.socket(zmq.XPUB)
        s.setsockopt(zmq.XPUB_VERBOSE, 1)
        s.setsockopt(zmq.XPUB_NODROP, 1)
        s.connect(ep[1:]) if ep.startswith(">") else s.bind(ep)
        ready()
        for _ in range(int(sys.argv[4])):
            s.recv()
        for i in range(1, int(sys.argv[3]) + 1):
            s.send(str(i).encode())
    elif mode == "router":
        s = ctx.socket(zmq.ROUTER)
        s.bind(ep)
        ready()
        for _ in range(int(sys.argv[3])):
            frames = s.recv_multipart()
            show(frames)
            s.send_multipart([frames[0], b"re:" + b"".join(frames[1:])])
    elif mode == "dealer":
        s = ctx.socket(zmq.DEALER)
        s.setsockopt(zmq.ROUTING_ID, sys.argv[3].encode())
        s.connect(ep)
        ready()
        s.send(sys.argv[4].encode())
        show(s.recv_multipart())
        s.send(b"bye")
    elif mode == "pair":
        s = ctx.socket(zmq.PAIR)
        s.bind(ep)
        ready()
        for _ in range(int(sys.argv[3])):
            frames = s.recv_multipart()
            s.send_multipart(frames)
    elif mode == "rep":
        s = ctx.socket(zmq.REP)
        s.bind(ep)
        ready()
        for _ in range(int(sys.argv[3])):
            s.send(b"re:" + s.recv())
        # A REQ drops a reply whose connection ends before the application
        # read it (libzmq's req_t forgets the reply pipe): let the last
        # replies be read before this end goes away.
        time.sleep(1)
    elif mode == "lossy-rep":
        # A ROUTER speaks REP's envelope but can leave a request unanswered.
        s = ctx.socket(zmq.ROUTER)
        s.bind(ep)
        ready()
        for i in range(int(sys.argv[3]) + 1):
            identity, empty, body = s.recv_multipart()
            print(f"request {i + 1}: {body!r}", file=sys.stderr, flush=True)
            if i > 0:
                s.send_multipart([identity, empty, b"re:" + body])
    elif mode == "curve-rep":
        s = ctx.socket(zmq.REP)
        s.curve_server = True
        s.curve_secretkey = open(sys.argv[3], "rb").read().strip()
        s.bind(ep)
        ready()
        for _ in range(int(sys.argv[4])):
            s.send(b"re:" + s.recv())
        time.sleep(1)  # as rep: the last reply is read before this end goes
    elif mode == "curve-req":
        s = ctx.socket(zmq.REQ)
        s.curve_publickey, s.curve_secretkey = zmq.curve_keypair()
        s.curve_serverkey = open(sys.argv[3], "rb").read().strip()
        s.connect(ep)
        ready()
        s.send(sys.argv[4].encode())
        show(s.recv_multipart())
    elif mode == "req":
        s = ctx.socket(zmq.REQ)
        s.connect(ep)
        ready()
        for text in sys.argv[3:]:
            s.send(text.encode())
            show(s.recv_multipart())
    else:
        sys.exit(f"unknown mode {mode}")
    s.close(linger=5000)
    ctx.term()


if __name__ == "__main__":
    main()
