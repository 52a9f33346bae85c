"""Loopback servers for tests over real sockets: plain TCP, a TLS front, an HTTP proxy.

Everything listens on 127.0.0.1 only.  The TLS certificate in ``tests/tls`` is
issued for 127.0.0.1 and localhost by a throwaway test CA.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path

import trio

TLS_DIR = Path(__file__).parent / "tls"


def client_context() -> ssl.SSLContext:
    """Trusts the test CA only."""
    return ssl.create_default_context(cafile=str(TLS_DIR / "ca.pem"))


def server_context() -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(TLS_DIR / "server.pem"), str(TLS_DIR / "server.key"))
    return context


Handler = Callable[[trio.SocketStream], Awaitable[None]]


@asynccontextmanager
async def tcp_server(handler: Handler) -> AsyncIterator[int]:
    """Serve ``handler`` on 127.0.0.1 (plain TCP); yields the port."""
    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(partial(trio.serve_tcp, handler, 0, host="127.0.0.1"))
        yield listeners[0].socket.getsockname()[1]
        nursery.cancel_scope.cancel()


async def _pump(source: trio.abc.Stream, sink: trio.abc.Stream) -> None:
    try:
        while data := await source.receive_some():
            await sink.send_all(data)
    except (trio.BrokenResourceError, trio.ClosedResourceError):
        pass
    finally:
        await trio.aclose_forcefully(sink)


@asynccontextmanager
async def tls_terminator(target_port: int) -> AsyncIterator[int]:
    """A TLS front (like Binance's) for a plain loopback server; yields its port."""

    async def handler(raw: trio.SocketStream) -> None:
        front = trio.SSLStream(raw, server_context(), server_side=True)
        back = await trio.open_tcp_stream("127.0.0.1", target_port)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_pump, front, back)
            nursery.start_soon(_pump, back, front)

    async with tcp_server(handler) as port:
        yield port


class ConnectProxy:
    """An HTTP proxy on 127.0.0.1 that opens ``CONNECT`` tunnels.

    Attributes:
        requests: The header block of every ``CONNECT`` received, in order.
        refuse: The first this many requests are answered with ``status`` instead.
        drop: The first this many connections are closed before any answer.
        credentials: The ``Proxy-Authorization`` value required, if any (407 otherwise).
    """

    def __init__(self, credentials: str | None = None) -> None:
        self.requests: list[str] = []
        self.credentials = credentials
        self.refuse = 0
        self.status = "503 Service Unavailable"
        self.drop = 0

    async def handle(self, client: trio.SocketStream) -> None:
        head = b""
        while b"\r\n\r\n" not in head:
            data = await client.receive_some()
            if not data:
                return
            head += data
        text = head.decode("latin-1")
        self.requests.append(text)
        if self.drop:
            self.drop -= 1
            await client.aclose()
            return
        lines = text.split("\r\n")
        method, target, _ = lines[0].split(" ")
        headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
        if self.refuse:
            self.refuse -= 1
            await client.send_all(f"HTTP/1.1 {self.status}\r\n\r\n".encode())
            return
        if self.credentials is not None and headers.get("Proxy-Authorization") != self.credentials:
            await client.send_all(b"HTTP/1.1 407 Proxy Authentication Required\r\n\r\n")
            return
        host, _, port = target.rpartition(":")
        if method != "CONNECT" or host != "127.0.0.1":  # only ever loopback
            await client.send_all(b"HTTP/1.1 403 Forbidden\r\n\r\n")
            return
        upstream = await trio.open_tcp_stream(host, int(port))
        await client.send_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_pump, client, upstream)
            nursery.start_soon(_pump, upstream, client)


@asynccontextmanager
async def connect_proxy(proxy: ConnectProxy) -> AsyncIterator[int]:
    """Serve ``proxy`` on 127.0.0.1; yields its port."""
    async with tcp_server(proxy.handle) as port:
        yield port
