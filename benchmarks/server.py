"""The benchmark server: a Binance-like combined-stream endpoint in its own process.

Started by :mod:`benchmarks.run` as ``python -m benchmarks.server``.  It listens on
127.0.0.1 only, prints ``PORT <n> <tls>`` on stdout (``<tls>`` is the port of the
same service over TLS with ``--tls-cert``/``--tls-key``, else 0), then obeys JSON
commands on stdin, answering each with one JSON line:

* ``{"cmd": "prepare", "mix": m, "count": n}``: pre-encode ``n`` frames of mix ``m``.
* ``{"cmd": "arm", "spec": {...}}``: the next connection that subscribes to every
  stream of the :class:`~benchmarks.spec.RunSpec` gets its data.
* ``{"cmd": "wait", "timeout": s}``: wait until the armed run has been sent; answer
  its :class:`~benchmarks.spec.ServerStats`.
* ``{"cmd": "quit"}``.

Clients subscribe either in the URL (``/stream?streams=a/b``) or with live
``SUBSCRIBE`` requests (answered ``{"result": null, "id": n}``).  Frames are
pre-encoded into one blob per mix and written with ``sendall`` in 1 MiB chunks, so
the server spends a small fraction of a core at any client's top speed; its CPU time
is measured per run and reported.  After the last frame it sends a close frame, waits
for the client's close (up to 10 s) and closes the socket.
"""

from __future__ import annotations

import argparse
import bisect
import dataclasses
import json
import select
import socket
import ssl
import sys
import threading
import time
from typing import Any, Protocol

import orjson

from .frames import STAMP_BASE, Blob, build_blob, burst_frames, close_frame, ws_frame
from .spec import RunSpec, ServerStats
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
CLOSE_WAIT = 10.0
MAX_HEAD = 4 << 20


def log(*args: object) -> None:
    print("[server]", *args, file=sys.stderr, flush=True)


class Sock(Protocol):
    def recv(self, size: int) -> bytes: ...
    def sendall(self, data: bytes | bytearray | memoryview) -> None: ...
    def shutdown(self, how: int) -> None: ...
    def close(self) -> None: ...


class TlsSock:
    """A server-side TLS socket used by a reader and a sender thread at once.

    An OpenSSL connection must not be used by two threads at the same time, so each
    TLS call holds a lock, and the waits for the socket happen outside it.
    """

    def __init__(self, sock: ssl.SSLSocket) -> None:
        sock.setblocking(False)
        self.sock = sock
        self.lock = threading.Lock()

    def _wait(self, readable: bool) -> None:
        if readable:
            select.select([self.sock], [], [], 1.0)
        else:
            select.select([], [self.sock], [], 1.0)

    def recv(self, size: int) -> bytes:
        while True:
            with self.lock:
                try:
                    return self.sock.recv(size)
                except ssl.SSLWantReadError:
                    readable = True
                except ssl.SSLWantWriteError:
                    readable = False
            self._wait(readable)

    def sendall(self, data: bytes | bytearray | memoryview) -> None:
        view = memoryview(data)
        while view:
            with self.lock:
                try:
                    view = view[self.sock.send(view) :]
                    continue
                except ssl.SSLWantWriteError:
                    readable = False
                except ssl.SSLWantReadError:
                    readable = True
            self._wait(readable)

    def shutdown(self, how: int) -> None:
        self.sock.shutdown(how)

    def close(self) -> None:
        self.sock.close()


class Run:
    """An armed scenario, waiting for its connection."""

    def __init__(self, spec: RunSpec, blob: Blob | None) -> None:
        self.spec = spec
        self.blob = blob
        self.wanted = frozenset([*spec.streams, spec.gate] if spec.gate else spec.streams)
        self.taken = False
        self.done = threading.Event()
        self.stats = ServerStats()


class Connection:
    """One client socket: a reader thread, and a sender thread once a run starts."""

    def __init__(
        self, server: Server, raw: socket.socket, tls: ssl.SSLContext | None = None
    ) -> None:
        self.server = server
        self.raw = raw
        self.tls = tls
        self.sock: Sock = raw
        self.lock = threading.Lock()
        self.subscribed: set[str] = set()
        self.close_received = threading.Event()
        self.close_sent = False
        self.closed = False

    def send(self, data: bytes | bytearray | memoryview) -> None:
        with self.lock:
            self.sock.sendall(data)

    def send_close(self) -> None:
        with self.lock:
            if self.close_sent or self.closed:
                return
            self.close_sent = True
            try:
                self.sock.sendall(close_frame())
            except OSError:
                pass

    def send_json(self, obj: Any) -> None:
        self.send(ws_frame(orjson.dumps(obj)))

    def serve(self) -> None:
        try:
            if self.tls is not None:  # the handshake, blocking, in this thread
                self.sock = TlsSock(self.tls.wrap_socket(self.raw, server_side=True))
            self._serve()
        except OSError:
            pass
        finally:
            self.close_received.set()
            self._close()

    def _close(self) -> None:
        with self.lock:
            if self.closed:
                return
            self.closed = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()

    def _serve(self) -> None:
        sock = self.sock
        head = b""
        while b"\r\n\r\n" not in head:
            data = sock.recv(65536)
            if not data or len(head) > MAX_HEAD:
                return
            head += data
        head, _, rest = head.partition(b"\r\n\r\n")
        request = parse_request(head)
        self.send(handshake_response(request.key))
        self.subscribed.update(request.streams)
        if request.streams:
            self.server.maybe_start(self)
        reader = FrameReader()
        pending = rest
        while True:
            for frame in reader.feed(pending):
                if frame.opcode == OP_TEXT:
                    self._on_text(frame.payload)
                elif frame.opcode == OP_PING:
                    self.send(ws_frame(frame.payload, opcode=OP_PONG))
                elif frame.opcode == OP_CLOSE:
                    self.close_received.set()
                    self.send_close()
                    return
            pending = sock.recv(65536)
            if not pending:
                return

    def _on_text(self, payload: bytes) -> None:
        try:
            msg = orjson.loads(payload)
        except orjson.JSONDecodeError:
            return
        if not isinstance(msg, dict):
            return
        method, request_id = msg.get("method"), msg.get("id")
        params = msg.get("params") or []
        if method == "SUBSCRIBE":
            self.subscribed.update(params)
            self.send_json({"result": None, "id": request_id})
            self.server.maybe_start(self)
        elif method == "UNSUBSCRIBE":
            self.subscribed.difference_update(params)
            self.send_json({"result": None, "id": request_id})
        elif method == "LIST_SUBSCRIPTIONS":
            self.send_json({"result": sorted(self.subscribed), "id": request_id})
        elif request_id is not None:
            self.send_json({"result": None, "id": request_id})

    # -- senders -------------------------------------------------------------

    def run(self, run: Run) -> None:
        try:
            if run.spec.mode == "latency":
                self._paced(run)
            else:
                self._flood(run)
        except OSError as exc:
            log("send failed:", exc)
        finally:
            run.done.set()
        if run.spec.mode == "memory":
            return  # stay open and idle until the client leaves
        self.send_close()
        self.close_received.wait(CLOSE_WAIT)
        self._close()

    def _flood(self, run: Run) -> None:
        assert run.blob is not None
        count = run.spec.count
        size = run.blob.size(count)
        view = memoryview(run.blob.data)[:size]
        stats = run.stats
        stats.started = True
        cpu0, t0 = time.process_time(), time.perf_counter()
        try:
            for offset in range(0, size, CHUNK):
                self.send(view[offset : offset + CHUNK])
                stats.bytes = min(size, offset + CHUNK)
        finally:
            stats.seconds = time.perf_counter() - t0
            stats.cpu_seconds = time.process_time() - cpu0
            stats.sent = (
                count if stats.bytes == size else bisect.bisect_right(run.blob.ends, stats.bytes)
            )

    def _paced(self, run: Run) -> None:
        assert run.blob is not None
        blob, spec, stats = run.blob, run.spec, run.stats
        data, ends, stamps = blob.data, blob.ends, blob.stamps
        interval = 1.0 / spec.rate
        monotonic_ns, perf_counter, sleep = time.monotonic_ns, time.perf_counter, time.sleep
        stats.started = True
        cpu0, t0 = time.process_time(), perf_counter()
        start = 0
        sent_bytes = 0
        for i in range(spec.count):
            delay = t0 + i * interval - perf_counter()
            if delay > 0:
                sleep(delay)
            frame = bytearray(data[start : ends[i]])
            at = stamps[i] - start
            frame[at : at + 19] = b"%d" % (STAMP_BASE + monotonic_ns())
            self.send(frame)
            sent_bytes += len(frame)
            start = ends[i]
        stats.seconds = perf_counter() - t0
        stats.cpu_seconds = time.process_time() - cpu0
        stats.sent, stats.bytes = spec.count, sent_bytes


class Server:
    def __init__(self, listener: socket.socket) -> None:
        self.listener = listener
        self.blobs: dict[str, Blob] = {}
        self.run: Run | None = None
        self.lock = threading.Lock()

    def blob(self, mix: str, count: int) -> Blob:
        blob = self.blobs.get(mix)
        if blob is None or blob.count < count:
            blob = None  # let the old one go before building the new one
            self.blobs.pop(mix, None)
            blob = build_blob(mix, count)
            self.blobs[mix] = blob
        return blob

    def accept_forever(self, listener: socket.socket, tls: ssl.SSLContext | None) -> None:
        while True:
            sock, _ = listener.accept()
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn = Connection(self, sock, tls)
            threading.Thread(target=conn.serve, daemon=True).start()

    def maybe_start(self, conn: Connection) -> None:
        with self.lock:
            run = self.run
            if run is None or run.taken or not run.wanted <= conn.subscribed:
                return
            run.taken = True
        threading.Thread(target=conn.run, args=(run,), daemon=True).start()

    def arm(self, spec: RunSpec) -> None:
        if spec.mode == "memory":
            blob = burst_frames(spec.streams)
        else:
            blob = self.blob(spec.mix, spec.count)
        with self.lock:
            self.run = Run(spec, blob)

    def command(self, cmd: dict[str, Any]) -> dict[str, Any]:
        name = cmd.get("cmd")
        if name == "prepare":
            blob = self.blob(cmd["mix"], int(cmd["count"]))
            return {"ok": True, "count": blob.count, "bytes": len(blob.data)}
        if name == "arm":
            self.arm(RunSpec(**cmd["spec"]))
            return {"ok": True}
        if name == "wait":
            run = self.run
            if run is None:
                return {"ok": False, "error": "nothing armed"}
            run.done.wait(float(cmd.get("timeout", 0)))
            with self.lock:
                if self.run is run:
                    self.run = None
            return {"ok": True, "stats": dataclasses.asdict(run.stats)}
        if name == "cpu":
            return {"ok": True, "cpu_seconds": time.process_time()}
        return {"ok": False, "error": f"unknown command {name!r}"}


def _listen() -> socket.socket:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(128)
    return listener


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tls-cert", help="PEM certificate chain: also serve over TLS")
    parser.add_argument("--tls-key", help="PEM private key of --tls-cert")
    args = parser.parse_args()
    listener = _listen()
    server = Server(listener)
    threading.Thread(target=server.accept_forever, args=(listener, None), daemon=True).start()
    tls_port = 0
    if args.tls_cert:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.tls_cert, args.tls_key)
        tls_listener = _listen()
        tls_port = tls_listener.getsockname()[1]
        threading.Thread(
            target=server.accept_forever, args=(tls_listener, context), daemon=True
        ).start()
    print(f"PORT {listener.getsockname()[1]} {tls_port}", flush=True)
    for line in sys.stdin:
        if not line.strip():
            continue
        cmd = json.loads(line)
        if cmd.get("cmd") == "quit":
            break
        try:
            reply = server.command(cmd)
        except Exception as exc:  # report, keep serving
            reply = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        print(json.dumps(reply), flush=True)


if __name__ == "__main__":
    main()
