"""Settings of the fake exchange: Binance's published limits, as defaults.

Every number here is what Binance documents for 2026 (see
``binance-streams-facts.md`` §2).  Tests shrink them with
:func:`dataclasses.replace` or :meth:`FakeSettings.with_limits`, for example a
ping interval of one second to exercise keepalive code quickly.
"""

from __future__ import annotations

import dataclasses
from typing import final

from .._endpoints import Product

__all__ = ["FakeSettings", "ProductLimits"]

# 2026-01-01T00:00:00Z: event times are deterministic under a fake clock.
DEFAULT_EPOCH_MS = 1_767_225_600_000


@final
@dataclasses.dataclass(frozen=True)
class ProductLimits:
    """Keepalive rules and limits of one product's stream servers.

    Attributes:
        ping_interval: Seconds between server pings.
        pong_timeout: Seconds the server waits for the pong answering a ping
            (a pong for a later ping also answers the earlier ones; unsolicited
            pongs answer nothing) before it closes the connection with 1008.
        max_streams: Most streams one connection may hold; a SUBSCRIBE beyond it
            closes the connection with 1008, a URL naming more is rejected with 400.
        max_incoming_per_second: Most client messages (text or binary frames)
            in any one-second span; one more closes the connection with 1008.
    """

    ping_interval: float
    pong_timeout: float
    max_streams: int
    max_incoming_per_second: int

    def __post_init__(self) -> None:
        if not self.ping_interval >= 0.001:
            raise ValueError(f"ping_interval must be at least 1 ms, got {self.ping_interval!r}")
        if not self.pong_timeout > 0:
            raise ValueError(f"pong_timeout must be positive, got {self.pong_timeout!r}")
        if self.max_streams < 1 or self.max_incoming_per_second < 1:
            raise ValueError("max_streams and max_incoming_per_second must be at least 1")


@final
@dataclasses.dataclass(frozen=True)
class FakeSettings:
    """How the fake exchange behaves; the defaults are Binance's.

    Attributes:
        spot: Spot stream limits: ping every 20 s, pong within 60 s, 1024 streams,
            5 incoming messages per second.
        usdm: USD-M futures: 180 s / 600 s, 1024 streams, 10 messages per second.
        coinm: COIN-M futures: 180 s / 600 s, 200 streams, 10 messages per second.
        options: Options: 300 s / 900 s, 200 streams, 10 messages per second.
        max_lifetime: Seconds after which a connection is closed with 1001 (24 h).
        connection_attempts: Handshakes allowed per ``connection_window``; the
            next ones are rejected with 429 (every attempt counts, rejected or not).
        connection_window: The sliding window of the attempt limit, in seconds.
        max_message_size: Largest frame the server accepts from a client; a bigger
            one closes the connection with 1009.
        epoch_ms: Wall-clock time in ms at ``trio.current_time() == 0``; event
            times are ``epoch_ms + current_time() * 1000``.  The default,
            2026-01-01T00:00:00Z, keeps them deterministic under ``MockClock``;
            ``None`` anchors them to the real wall clock when the fake starts.
        seed: Seed of the synthetic market's random numbers.
        close_timeout: Seconds a server-side close waits for the client's close
            frame before it drops the byte stream.
        handshake_timeout: Seconds a new connection may take to send its HTTP
            request before the server hangs up.
        send_queue_size: Frames queued per connection; a client too slow to
            drain them is dropped (1006) as a slow consumer.
        pipe_buffer_size: Bytes an in-memory pipe holds in each direction, the
            stand-in for TCP buffers: a client that stops reading stalls the
            server's sends to it, as on a real socket.
        listen_key_validity: Seconds a listen key lives after its last POST or
            PUT (60 min); then ``listenKeyExpired`` is sent and the key forgotten.
        listen_token_validity: Longest validity, in seconds, of a margin listen
            token (``POST /sapi/v1/userListenToken``), and the default when the
            request has no ``validity``: 24 h, Binance's maximum.
    """

    spot: ProductLimits = ProductLimits(20.0, 60.0, 1024, 5)
    usdm: ProductLimits = ProductLimits(180.0, 600.0, 1024, 10)
    coinm: ProductLimits = ProductLimits(180.0, 600.0, 200, 10)
    options: ProductLimits = ProductLimits(300.0, 900.0, 200, 10)
    max_lifetime: float = 24 * 3600.0
    connection_attempts: int = 300
    connection_window: float = 300.0
    max_message_size: int = 1 << 20
    epoch_ms: int | None = DEFAULT_EPOCH_MS
    seed: int = 0
    close_timeout: float = 1.0
    handshake_timeout: float = 10.0
    send_queue_size: int = 10_000
    pipe_buffer_size: int = 256 * 1024
    listen_key_validity: float = 3600.0
    listen_token_validity: float = 24 * 3600.0

    def __post_init__(self) -> None:
        for name in (
            "max_lifetime",
            "connection_window",
            "close_timeout",
            "handshake_timeout",
            "listen_key_validity",
            "listen_token_validity",
        ):
            if not getattr(self, name) > 0:
                raise ValueError(f"FakeSettings.{name} must be positive")
        for name in ("connection_attempts", "max_message_size", "send_queue_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"FakeSettings.{name} must be at least 1")
        if self.pipe_buffer_size < 1024:
            raise ValueError("FakeSettings.pipe_buffer_size must be at least 1024 bytes")

    def limits(self, product: Product) -> ProductLimits:
        """The stream limits of ``product``."""
        return {
            Product.SPOT: self.spot,
            Product.USDM: self.usdm,
            Product.COINM: self.coinm,
            Product.OPTIONS: self.options,
        }[product]

    def with_limits(
        self,
        product: Product,
        *,
        ping_interval: float | None = None,
        pong_timeout: float | None = None,
        max_streams: int | None = None,
        max_incoming_per_second: int | None = None,
    ) -> FakeSettings:
        """A copy with some limits of one product changed.

        Example:
            ``FakeSettings().with_limits(Product.SPOT, ping_interval=1, pong_timeout=3)``
        """
        old = self.limits(product)
        new = ProductLimits(
            ping_interval=old.ping_interval if ping_interval is None else ping_interval,
            pong_timeout=old.pong_timeout if pong_timeout is None else pong_timeout,
            max_streams=old.max_streams if max_streams is None else max_streams,
            max_incoming_per_second=(
                old.max_incoming_per_second
                if max_incoming_per_second is None
                else max_incoming_per_second
            ),
        )
        if product is Product.SPOT:
            return dataclasses.replace(self, spot=new)
        if product is Product.USDM:
            return dataclasses.replace(self, usdm=new)
        if product is Product.COINM:
            return dataclasses.replace(self, coinm=new)
        return dataclasses.replace(self, options=new)
