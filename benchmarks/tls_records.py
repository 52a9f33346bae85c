"""Reading many small TLS records: ``python -m benchmarks.tls_records``.

A server may write one TLS record per WebSocket message.  The main suite's TLS
server writes 16 KiB records (it sends 1 MiB at a time), so this scenario is
measured here, on the transport alone: a server process (pinned to CPU 0) writes
``--count`` records of ``--size`` bytes as fast as it can, and each client (pinned
to CPU 1, one at a time, interleaved repetitions) reads them all with 16 KiB reads.
The figure is the client's CPU time per record: the server is the slower side here,
so wall-clock rates would measure the server.

Clients: trio_binance's ``SocketStream`` (memory BIOs), ``trio.SSLStream`` over
``trio.SocketStream``, and asyncio's SSL transport (``loop.create_connection``).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import socket
import ssl
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import trio

if __package__ in (None, ""):
    sys.path[0] = str(Path(__file__).resolve().parent.parent)  # the repo, not benchmarks/
    __package__ = "benchmarks"

from trio_binance._socket_stream import open_socket_stream

TLS_DIR = Path(__file__).resolve().parent.parent / "tests" / "tls"
READ = 16384


def _pin(cpu: int) -> None:
    if hasattr(os, "sched_setaffinity") and cpu < (os.cpu_count() or 1):
        os.sched_setaffinity(0, {cpu})


def _serve(listener: socket.socket, count: int, size: int) -> None:
    _pin(0)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(TLS_DIR / "server.pem", TLS_DIR / "server.key")
    conn, _ = listener.accept()
    with context.wrap_socket(conn, server_side=True) as tls:
        tls.recv(1)  # the client is ready
        record = b"x" * size
        for _ in range(count):
            tls.sendall(record)  # one record each
        tls.recv(1)  # the client has read everything


def _client_context() -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(TLS_DIR / "ca.pem"))


async def _drain(stream: trio.abc.Stream, total: int) -> float:
    """Start the server, read ``total`` bytes in 16 KiB reads; the CPU time it took."""
    await stream.send_all(b"g")
    got = 0
    start = time.process_time()
    while got < total:
        got += len(await stream.receive_some(READ))
    cpu = time.process_time() - start
    await stream.send_all(b"d")
    return cpu


async def _trio_binance(port: int, total: int) -> float:
    stream = await open_socket_stream("127.0.0.1", port, ssl_context=_client_context())
    async with stream:
        return await _drain(stream, total)


async def _trio_sslstream(port: int, total: int) -> float:
    tcp = await trio.open_tcp_stream("127.0.0.1", port)
    stream = trio.SSLStream(tcp, _client_context(), server_hostname="127.0.0.1")
    async with stream:
        await stream.do_handshake()
        return await _drain(stream, total)


async def _asyncio(port: int, total: int) -> float:
    loop = asyncio.get_running_loop()
    done = loop.create_future()
    marks: dict[str, float] = {}

    class Counter(asyncio.Protocol):
        got = 0

        def data_received(self, data: bytes) -> None:
            self.got += len(data)
            if self.got >= total and not done.done():
                marks["end"] = time.process_time()
                done.set_result(None)

    transport, _ = await loop.create_connection(
        Counter, "127.0.0.1", port, ssl=_client_context(), server_hostname="127.0.0.1"
    )
    marks["start"] = time.process_time()
    transport.write(b"g")
    await done
    transport.write(b"d")
    await asyncio.sleep(0.05)
    transport.close()
    return marks["end"] - marks["start"]


CLIENTS: dict[str, Callable[[int, int], float]] = {
    "trio_binance SocketStream": lambda port, total: trio.run(_trio_binance, port, total),
    "trio.SSLStream": lambda port, total: trio.run(_trio_sslstream, port, total),
    "asyncio SSL transport": lambda port, total: asyncio.run(_asyncio(port, total)),
}


def measure(name: str, count: int, size: int) -> float:
    """Client CPU µs per record for one run of ``name``."""
    listener = socket.create_server(("127.0.0.1", 0))
    server = multiprocessing.get_context("fork").Process(
        target=_serve, args=(listener, count, size)
    )
    server.start()
    try:
        cpu = CLIENTS[name](listener.getsockname()[1], count * size)
    finally:
        server.join(30)
        listener.close()
    return 1e6 * cpu / count


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.tls_records", description=__doc__)
    parser.add_argument("--count", type=int, default=200_000)
    parser.add_argument("--size", type=int, default=300, help="bytes per record")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    _pin(1)
    runs: dict[str, list[float]] = {name: [] for name in CLIENTS}
    for rep in range(args.repeat):
        names = list(CLIENTS)
        names = names[rep % len(names) :] + names[: rep % len(names)]
        for name in names:
            runs[name].append(measure(name, args.count, args.size))
    ours = statistics.median(runs["trio_binance SocketStream"])
    print(f"{args.count:,} TLS records of {args.size} bytes; client CPU µs per record (median)")
    print()
    print("| client | CPU µs/record | ÷ trio_binance |")
    print("|---|---:|---:|")
    for name, values in runs.items():
        value = statistics.median(values)
        print(f"| {name} | {value:.2f} | {value / ours:.2f}x |")


if __name__ == "__main__":
    main()
