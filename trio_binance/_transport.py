"""How connections reach the exchange: the network, or a fake's in-memory pipes.

A :class:`Transport` opens a byte stream to a host; the WebSocket protocol runs on
top of it (see :mod:`trio_binance._websocket`).  The default,
:class:`NetworkTransport`, dials TCP and wraps it in TLS with certificate
verification always on.  The fake exchange of :mod:`trio_binance.testing`
provides an in-memory transport so that tests run deterministically under a
fake clock.
"""

from __future__ import annotations

import ssl
from typing import Protocol, runtime_checkable

import httpx
import trio

__all__ = ["NetworkTransport", "Transport"]


@runtime_checkable
class Transport(Protocol):
    """How the library reaches Binance (or a stand-in for it)."""

    async def open_stream(self, host: str, port: int, *, tls: bool) -> trio.abc.Stream:
        """Open a byte stream to ``host:port``, TLS-wrapped when ``tls`` is true."""
        ...

    def http_transport(self) -> httpx.AsyncBaseTransport | None:
        """The httpx transport for REST calls, or ``None`` for httpx's network default."""
        ...


class NetworkTransport:
    """The real network: TCP, plus TLS with certificate verification."""

    def __init__(self, ssl_context: ssl.SSLContext | None = None) -> None:
        self._ssl_context = ssl_context

    def __repr__(self) -> str:
        return "NetworkTransport()"

    async def open_stream(self, host: str, port: int, *, tls: bool) -> trio.abc.Stream:
        tcp = await trio.open_tcp_stream(host, port)
        if not tls:
            return tcp
        if self._ssl_context is None:
            self._ssl_context = ssl.create_default_context()
        stream = trio.SSLStream(tcp, self._ssl_context, server_hostname=host, https_compatible=True)
        try:
            await stream.do_handshake()
        except BaseException:
            await trio.aclose_forcefully(stream)
            raise
        return stream

    def http_transport(self) -> httpx.AsyncBaseTransport | None:
        return None
