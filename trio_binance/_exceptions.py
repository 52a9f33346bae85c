"""The library's exceptions.

::

    BinanceStreamError
    ├── StreamRejected        the server refused a subscription (e.g. an invalid stream)
    ├── StreamUnavailable     a handle could not go live in time; the last cause is chained
    ├── QueueOverflow         a handle's buffer overflowed under the "raise" policy,
    │                         or its backlog passed ``Settings.max_backlog`` under "block"
    ├── UserStreamError       the server keeps refusing a user-data credential (listen
    │                         key, token, signature)
    ├── NetworkError          the network failed (DNS, refused, reset, TLS, proxy, HTTP
    │                         transport); retried forever, seen as a chained cause
    └── BinanceAPIError       Binance answered a REST or WebSocket-API request with an error

    ValueError
    └── RetiredStreamError    a stream Binance retired (raised at call time, before any I/O)

Bad arguments raise plain ``ValueError`` at call time.  A handle used after
``aclose()`` raises ``trio.ClosedResourceError``; a handle whose manager has exited
ends with ``trio.EndOfChannel`` once its buffer is drained.
"""

from __future__ import annotations

__all__ = [
    "BinanceAPIError",
    "BinanceStreamError",
    "NetworkError",
    "QueueOverflow",
    "StreamRejected",
    "StreamUnavailable",
    "UserStreamError",
]


class BinanceStreamError(Exception):
    """Base class of the errors this library raises on a stream handle."""


class StreamRejected(BinanceStreamError):
    """Binance refused to subscribe a stream.

    Attributes:
        stream: The stream name that was refused.
        code: Binance's error code (``2`` for an invalid stream).
        msg: Binance's error message.
    """

    def __init__(self, stream: str, code: int | None, msg: str) -> None:
        super().__init__(f"Binance refused stream {stream!r}: {msg} (code {code})")
        self.stream = stream
        self.code = code
        self.msg = msg


class StreamUnavailable(BinanceStreamError):
    """A stream could not go live within ``Settings.live_timeout``."""


class QueueOverflow(BinanceStreamError):
    """A handle's consumer fell too far behind and the handle was stopped.

    Attributes:
        dropped: How many messages could not be delivered.
    """

    def __init__(self, message: str, dropped: int) -> None:
        super().__init__(message)
        self.dropped = dropped


class UserStreamError(BinanceStreamError):
    """A user-data stream's credential keeps failing (rejected key, expired token, ...)."""


class NetworkError(BinanceStreamError):
    """The network failed: DNS, a refused or reset connection, TLS, a proxy, a timeout.

    The library retries these forever with backoff (they never count as a
    credential failure).  You meet one as the cause chained to
    :class:`StreamUnavailable`, and in log lines.

    Attributes:
        retry_after: Seconds to wait before trying again, if the failure said.
    """

    retry_after: float | None = None


class BinanceAPIError(BinanceStreamError):
    """Binance answered a REST or WebSocket-API request with an error.

    Attributes:
        status: HTTP status (REST), or the WebSocket-API ``status``.
        code: Binance's error code, e.g. ``-1125`` or ``-1022``; ``None`` if absent.
        msg: Binance's error message.
        retry_after: Seconds Binance asked us to wait before the next request (its
            ``Retry-After`` header, sent with 429 and 418); ``None`` if it did not say.
    """

    def __init__(
        self, status: int, code: int | None, msg: str, *, retry_after: float | None = None
    ) -> None:
        super().__init__(f"Binance error {code} (HTTP {status}): {msg}")
        self.status = status
        self.code = code
        self.msg = msg
        self.retry_after = retry_after
