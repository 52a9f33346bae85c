"""The one place where lower-layer failures become :class:`~trio_binance.NetworkError`.

Sockets, TLS, proxies, DNS, httpx and a handshake cut short all fail differently;
everything above this boundary sees one exception for "the network let us down"
(retried forever, with backoff) and keeps :class:`~trio_binance.BinanceAPIError` and
:class:`~trio_binance._websocket.HandshakeRejected` for "the server said no".  As
httpx does at its own transport boundary.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import trio

from ._exceptions import NetworkError
from ._websocket import WebSocketClosed

__all__ = ["network_errors"]


@contextmanager
def network_errors(what: str) -> Iterator[None]:
    """Translate failures of the network while doing ``what`` into ``NetworkError``.

    The original exception is chained as the cause; its text (which never holds a
    secret: URLs with listen keys are not part of these messages) is kept.
    """
    try:
        yield
    except (OSError, trio.BrokenResourceError, WebSocketClosed) as exc:
        raise NetworkError(f"{what}: {_describe(exc)}") from exc
    except httpx.HTTPError as exc:  # transport errors and timeouts of REST calls
        raise NetworkError(f"{what}: {_describe(exc)}") from exc


def _describe(exc: BaseException) -> str:
    text = str(exc)
    name = type(exc).__name__
    return f"{name}: {text}" if text else name
