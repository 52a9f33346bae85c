"""The library's exceptions.

::

    BinanceStreamError
    ├── StreamRejected        the server refused a subscription (e.g. an invalid stream)
    ├── StreamUnavailable     a handle could not go live in time; the last cause is chained
    ├── QueueOverflow         a handle's buffer overflowed under the "raise" policy,
    │                         or its backlog passed ``Settings.max_backlog`` under "block"
    └── UserStreamError       a user-data credential (listen key, token, signature) keeps failing

    ValueError
    └── RetiredStreamError    a stream Binance retired (raised at call time, before any I/O)

Bad arguments raise plain ``ValueError`` at call time.  A handle used after
``aclose()`` raises ``trio.ClosedResourceError``; a handle whose manager has exited
ends with ``trio.EndOfChannel`` once its buffer is drained.
"""

from __future__ import annotations

__all__ = [
    "BinanceStreamError",
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
