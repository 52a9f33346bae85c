"""The order-book benchmark's server: Binance's diff-depth stream and depth REST, locally.

``python -m benchmarks.book_server '<config JSON>'`` listens on 127.0.0.1 only and
prints ``PORT <n>``.  One port serves both:

* WebSocket: ``/ws/<stream>`` (bare payloads), ``/stream?streams=a/b`` or live
  ``SUBSCRIBE`` (``{"stream", "data"}`` envelopes), pings answered.
* HTTP/1.1 (keep-alive): ``GET /api/v3/depth?symbol=S&limit=N`` (the snapshot), and
  ``GET /bench/drop``, which closes every WebSocket and moves every symbol's ids on
  by 10 (the updates a client misses while reconnecting).

A connection that subscribes to ``<symbol>@depth`` gets the symbol's events at once,
pre-encoded, written with ``sendall`` in 1 MiB chunks.  They start right after the
snapshot's ``lastUpdateId``, which stays put, so a client joins them whether it asks
for the snapshot before subscribing (python-binance) or after (trio_binance).  After
a drop, a re-subscribed symbol gets one event whose ids show the gap, and its
snapshot moves on to match.
"""

from __future__ import annotations

import json
import socket
import sys
import threading
import urllib.parse
from typing import Any

import orjson

from .book_data import build_book
from .frames import ws_frame
from .wsproto_min import (
    OP_CLOSE,
    OP_PING,
    OP_PONG,
    OP_TEXT,
    FrameReader,
    handshake_response,
    parse_request,
)

CHUNK = 1 << 20


class Symbol:
    def __init__(self, name: str, last_id: int, after_events: int, events: list[bytes]):
        self.name = name
        self.stream = f"{name.lower()}@depth"
        self.last_id = last_id  # the snapshot's lastUpdateId now
        self.after_events = after_events  # the last event's u
        self.events = events


class Server:
    def __init__(self, config: dict[str, Any]) -> None:
        data = build_book(config["levels"], config["count"], config.get("per_event", 10))
        self.data = data
        self.symbols: dict[str, Symbol] = {}
        encoded = [orjson.dumps(e) for e in data.events]
        for name in config["symbols"]:
            last = data.events[-1]["u"] if data.events else data.last_update_id
            self.symbols[name] = Symbol(name, data.last_update_id, last, encoded)
        self.lock = threading.Lock()
        self.connections: set[socket.socket] = set()
        self.dropped = False

    # -- HTTP -------------------------------------------------------------------

    def http(self, sock: socket.socket, head: bytes, rest: bytes) -> None:
        while True:
            line = head.split(b"\r\n", 1)[0].decode("latin-1")
            target = line.split(" ")[1]
            split = urllib.parse.urlsplit(target)
            query = dict(urllib.parse.parse_qsl(split.query))
            if split.path.endswith("/depth"):
                symbol = self.symbols.get(query.get("symbol", "").upper())
                if symbol is None:
                    status, body = b"400 Bad Request", b'{"code":-1121,"msg":"Invalid symbol."}'
                else:
                    limit = int(query.get("limit", "100"))
                    body = self.data.snapshot_json(limit, symbol.last_id)
                    status = b"200 OK"
            elif split.path == "/bench/drop":
                self.drop()
                status, body = b"200 OK", b"{}"
            else:
                status, body = b"404 Not Found", b'{"code":-1000,"msg":"not served"}'
            sock.sendall(
                b"HTTP/1.1 " + status + b"\r\nContent-Type: application/json\r\n"
                b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
            )
            while b"\r\n\r\n" not in rest:
                more = sock.recv(65536)
                if not more:
                    return
                rest += more
            head, _, rest = rest.partition(b"\r\n\r\n")

    def drop(self) -> None:
        with self.lock:
            self.dropped = True
            for symbol in self.symbols.values():
                symbol.last_id = symbol.after_events + 10
            connections, self.connections = self.connections, set()
        for sock in connections:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    # -- WebSocket --------------------------------------------------------------

    def websocket(self, sock: socket.socket, head: bytes, rest: bytes) -> None:
        request = parse_request(head)
        send_lock = threading.Lock()
        combined = not request.path.startswith("/ws/")
        with self.lock:
            self.connections.add(sock)
        sock.sendall(handshake_response(request.key))
        for stream in request.streams:
            self.start(sock, send_lock, stream, combined)
        reader = FrameReader()
        pending = rest
        while True:
            for frame in reader.feed(pending):
                if frame.opcode == OP_TEXT:
                    msg = orjson.loads(frame.payload)
                    if msg.get("method") == "SUBSCRIBE":
                        with send_lock:
                            sock.sendall(ws_frame(orjson.dumps({"result": None, "id": msg["id"]})))
                        for stream in msg.get("params", []):
                            self.start(sock, send_lock, stream, combined)
                    elif msg.get("id") is not None:
                        with send_lock:
                            sock.sendall(ws_frame(orjson.dumps({"result": None, "id": msg["id"]})))
                elif frame.opcode == OP_PING:
                    with send_lock:
                        sock.sendall(ws_frame(frame.payload, opcode=OP_PONG))
                elif frame.opcode == OP_CLOSE:
                    return
            pending = sock.recv(65536)
            if not pending:
                return

    def start(self, sock: socket.socket, lock: threading.Lock, stream: str, combined: bool) -> None:
        symbol = next((s for s in self.symbols.values() if s.stream == stream), None)
        if symbol is not None:
            threading.Thread(
                target=self.send, args=(sock, lock, symbol, combined), daemon=True
            ).start()

    def send(
        self, sock: socket.socket, lock: threading.Lock, symbol: Symbol, combined: bool
    ) -> None:
        if self.dropped:  # one event that shows the gap, then nothing
            gap = symbol.last_id
            frames = [orjson.dumps({"e": "depthUpdate", "E": 1, "s": symbol.name, "U": gap,
                                    "u": gap, "b": [], "a": []})]  # fmt: skip
        else:
            frames = symbol.events
        prefix = b'{"stream":"' + symbol.stream.encode() + b'","data":'
        blob = b"".join(ws_frame(prefix + f + b"}" if combined else f) for f in frames)
        try:
            for offset in range(0, len(blob), CHUNK):
                with lock:
                    sock.sendall(blob[offset : offset + CHUNK])
        except OSError:
            pass

    # -- accept -------------------------------------------------------------------

    def serve(self, sock: socket.socket) -> None:
        try:
            head = b""
            while b"\r\n\r\n" not in head:
                data = sock.recv(65536)
                if not data:
                    return
                head += data
            head, _, rest = head.partition(b"\r\n\r\n")
            if b"upgrade: websocket" in head.lower():
                self.websocket(sock, head, rest)
            else:
                self.http(sock, head, rest)
        except OSError:
            pass
        finally:
            sock.close()


def main() -> None:
    config = json.loads(sys.argv[1])
    server = Server(config)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(512)
    print(f"PORT {listener.getsockname()[1]}", flush=True)
    while True:
        sock, _ = listener.accept()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        threading.Thread(target=server.serve, args=(sock,), daemon=True).start()


if __name__ == "__main__":
    main()
