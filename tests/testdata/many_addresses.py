"""Connections from many loopback addresses, for tests/adversarial_addresses_test.ts.

Deno 2.9.6 cannot choose the local address of a TCP connection, so this
helper opens them: each bound to its own 127.0.0.N (all loopback on Linux).
It reads one JSON command a line on stdin and writes one JSON event a line
on stdout:

  {"op": "open", "id": 1, "addr": "127.0.0.5", "port": 5000, "report": true}
      -> {"ev": "open", "id": 1, "ok": true} (or "ok": false, "error": ...)
         then, with "report", {"ev": "line", "id": 1, "text": ...} per line
         and always {"ev": "closed", "id": 1, "last": LAST LINE, "lines": N}
  {"op": "send", "id": 1, "text": "hello"}
  {"op": "flood", "id": 1, "prefix": "f1", "count": 60, "interval_ms": 20}
      -> sends "PREFIX line K" COUNT times, then {"ev": "flooded", "id": 1}
  {"op": "close", "id": 1}
  {"op": "quit"}
"""

import json
import socket
import sys
import threading
import time

lock = threading.Lock()
conns = {}


def emit(event):
    with lock:
        sys.stdout.write(json.dumps(event) + "\n")
        sys.stdout.flush()


def reader(ident, sock, report):
    buffer = b""
    last = ""
    count = 0
    try:
        while True:
            data = sock.recv(65536)
            if not data:
                break
            buffer += data
            while b"\n" in buffer:
                raw, buffer = buffer.split(b"\n", 1)
                last = raw.decode("utf-8", "replace")
                count += 1
                if report:
                    emit({"ev": "line", "id": ident, "text": last})
    except OSError:
        pass
    emit({"ev": "closed", "id": ident, "last": last, "lines": count})


def open_one(command):
    ident = command["id"]
    try:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind((command["addr"], 0))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.settimeout(10)
        sock.connect(("127.0.0.1", command["port"]))
        sock.settimeout(None)
    except OSError as error:
        emit({"ev": "open", "id": ident, "ok": False, "error": str(error)})
        return
    conns[ident] = sock
    emit({"ev": "open", "id": ident, "ok": True})
    threading.Thread(
        target=reader, args=(ident, sock, command.get("report", False)),
        daemon=True,
    ).start()


def send(ident, text):
    sock = conns.get(ident)
    if sock is None:
        return
    try:
        sock.sendall((text + "\n").encode("utf-8"))
    except OSError:
        pass


def flood(command):
    for k in range(command["count"]):
        send(command["id"], "%s line %d" % (command["prefix"], k))
        time.sleep(command["interval_ms"] / 1000)
    emit({"ev": "flooded", "id": command["id"]})


for raw in sys.stdin:
    command = json.loads(raw)
    op = command["op"]
    if op == "open":
        open_one(command)
    elif op == "send":
        send(command["id"], command["text"])
    elif op == "flood":
        threading.Thread(target=flood, args=(command,), daemon=True).start()
    elif op == "close":
        sock = conns.pop(command["id"], None)
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            except OSError:
                pass
    elif op == "quit":
        break

for sock in conns.values():
    try:
        sock.shutdown(socket.SHUT_RDWR)
        sock.close()
    except OSError:
        pass
