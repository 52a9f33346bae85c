"""How connections reach the exchange: the network, or a fake's in-memory pipes.

A :class:`Transport` opens a byte stream to a host; the WebSocket protocol runs on
top of it (see :mod:`trio_binance._websocket`).  The default,
:class:`NetworkTransport`, dials TCP (directly or through an HTTP proxy's
``CONNECT`` tunnel) and wraps it in TLS with certificate verification always on.
The fake exchange of :mod:`trio_binance.testing` provides an in-memory transport
so that tests run deterministically under a fake clock.

The network transport's streams are :class:`trio_binance._socket_stream.SocketStream`
rather than :class:`trio.SocketStream` / :class:`trio.SSLStream`: measured, they cost
less per wake-up (see that module).
"""

from __future__ import annotations

import ssl
from typing import Protocol, runtime_checkable

import httpx
import trio

from ._socket_stream import HttpProxy, open_socket_stream

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
    """The real network: TCP, plus TLS with certificate verification.

    Args:
        ssl_context: The TLS context (the system's trust store by default).
        proxy: An HTTP proxy, ``http://[user:password@]host[:port]``.  WebSocket
            connections tunnel through it with ``CONNECT`` (TLS stays end to end,
            verified against Binance's host name), and REST calls use it too.

    Raises:
        ValueError: ``proxy`` is not such a URL (checked here, before any I/O).
    """

    def __init__(self, ssl_context: ssl.SSLContext | None = None, *, proxy: str | None = None):
        self._ssl_context = ssl_context
        self._proxy_url = proxy
        self._proxy = HttpProxy(proxy) if proxy is not None else None

    def __repr__(self) -> str:
        return "NetworkTransport()" if self._proxy is None else f"NetworkTransport({self._proxy!r})"

    async def open_stream(self, host: str, port: int, *, tls: bool) -> trio.abc.Stream:
        if not tls:
            return await open_socket_stream(host, port, proxy=self._proxy)
        if self._ssl_context is None:
            context = ssl.create_default_context()
            context.options |= ssl.OP_NO_RENEGOTIATION
            self._ssl_context = context
        return await open_socket_stream(
            host, port, ssl_context=self._ssl_context, proxy=self._proxy
        )

    def http_transport(self) -> httpx.AsyncBaseTransport | None:
        if self._proxy_url is None:
            return None
        verify: ssl.SSLContext | bool = self._ssl_context or True
        return httpx.AsyncHTTPTransport(proxy=self._proxy_url, verify=verify)
