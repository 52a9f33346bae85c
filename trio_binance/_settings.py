"""Timeouts, margins and limits: one frozen object, Binance's values as defaults."""

from __future__ import annotations

import dataclasses
import random
from typing import final

from ._backoff import Backoff
from ._endpoints import Product

__all__ = ["ProductLimits", "Settings"]


@final
@dataclasses.dataclass(frozen=True)
class ProductLimits:
    """What Binance allows one connection of a product.

    Attributes:
        ping_interval: How often the server pings (seconds).
        pong_deadline: How long the server waits for our pong before closing.
        max_streams: Streams per connection.
        max_incoming_rate: Messages per second the server accepts from us.
        pongs_count: Whether our pongs count towards ``max_incoming_rate`` (spot).
        rest_weight_per_minute: The REST API's request-weight limit per IP and
            minute (order-book snapshots are paced to a share of it).
    """

    ping_interval: float
    pong_deadline: float
    max_streams: int
    max_incoming_rate: float
    pongs_count: bool = False
    rest_weight_per_minute: int = 1200


# REST weight per minute: UNCONFIRMED (not in our protocol notes); Binance's
# published REQUEST_WEIGHT limits as we know them: spot 6000, futures 2400, options 400.
_DEFAULT_LIMITS = {
    Product.SPOT: ProductLimits(
        20.0, 60.0, 1024, 5.0, pongs_count=True, rest_weight_per_minute=6000
    ),
    Product.USDM: ProductLimits(180.0, 600.0, 1024, 10.0, rest_weight_per_minute=2400),
    # COIN-M docs disagree (1024 vs 200): 200 is safe either way.
    Product.COINM: ProductLimits(180.0, 600.0, 200, 10.0, rest_weight_per_minute=2400),
    Product.OPTIONS: ProductLimits(300.0, 900.0, 200, 10.0, rest_weight_per_minute=400),
}


@final
@dataclasses.dataclass(frozen=True)
class Settings:
    """Every tunable of the connection engine, with Binance's values as defaults.

    Attributes:
        limits: Per-product :class:`ProductLimits`.
        control_rate_margin: Fraction of ``max_incoming_rate`` we allow ourselves
            for SUBSCRIBE/UNSUBSCRIBE/pings, leaving room for pongs.
        subscribe_batch: Most streams named in one SUBSCRIBE request.
        connect_timeout: TCP + TLS + WebSocket handshake, seconds.
        close_timeout: How long a closing handshake may take before we drop the socket.
        request_timeout: How long to wait for a SUBSCRIBE/UNSUBSCRIBE answer.
        live_timeout: How long ``async with handle`` waits for the stream to go live
            before raising ``StreamUnavailable`` (``None``: wait forever).
        idle_grace: Extra silence tolerated beyond the product's ping interval before
            we ping the server ourselves.
        pong_timeout: How long our own ping may go unanswered before the connection
            counts as dead and is replaced.
        max_lifetime: Binance's connection lifetime (the 24-hour cut).
        rotation_margin: Rotate this long before ``max_lifetime``.
        rotation_jitter: Up to this much extra, random, so connections don't rotate at once.
        rotation_overlap: Longest time old and new connections overlap during a rotation
            (an old connection that has not handed everything over by then is closed,
            with a ``"rotation"`` gap where data may be missing).
        rotation_hold: Most messages of one stream the new connection may hold, during
            an overlap, until the switch is proven; beyond it the switch is made (with
            a gap where data may be missing).
        epoch_window: An id that goes back further than the ids delivered in the last
            ``epoch_window``-ish seconds is not a duplicate but a new epoch (the
            exchange started its ids again): it is delivered after an ``"id_reset"`` gap.
        slow_consumer_warning: A ``block`` handle whose consumer has been behind (its
            backlog above ``max_queue_size``) for this long is reported at WARNING,
            at most once a minute.
        backoff_initial: First reconnect delay (before jitter).
        backoff_max: Cap of the reconnect delay.
        healthy_after: A connection that lived this long resets the backoff.
        reject_backoff: Minimum delay after an HTTP 429 handshake reject.
        ban_backoff: Minimum delay after an HTTP 418 (IP ban) handshake reject.
        reject_backoff_max: Cap of the delay after repeated 418/429 rejects.
        max_connection_attempts: Connection attempts allowed per
            ``connection_attempt_window`` across the whole manager (Binance: 300 per 5 min).
        connection_attempt_window: Length of that window, seconds.
        max_message_size: Largest message accepted; a larger one closes the connection
            with 1009 and the engine reconnects.
        read_size: Most bytes read (and so parsed) per socket read.  16 KiB is one TLS
            record, what a read from Binance returns at most anyway; larger reads
            keep more messages alive at once and cost more in garbage collection.
        max_backlog: Hard bound of a handle's backlog under the ``block`` policy.
        backpressure_pause: Longest time the reader yields, per chunk read, to the
            consumers of ``block`` handles that are behind but reading.
        listen_key_keepalive: How often a listen key is kept alive (PUT):
            python-binance's ``user_timeout``.
        listen_key_validity: How long Binance keeps a listen key without a keepalive;
            a reconnect after a longer outage creates a new key first.
        listen_token_renew_before: A margin listen token is replaced this long before
            its ``expirationTime``.
        credential_retries: Consecutive failures of a credential step (key, token,
            signature subscription) after which the handle raises ``UserStreamError``.
        snapshot_weight_share: Share of a product's ``rest_weight_per_minute`` that the
            manager's order-book snapshots may use together; the rest is left to your
            own REST calls.  Snapshots beyond it wait.
    """

    limits: dict[Product, ProductLimits] = dataclasses.field(
        default_factory=lambda: dict(_DEFAULT_LIMITS)
    )
    control_rate_margin: float = 0.8
    subscribe_batch: int = 200
    connect_timeout: float = 10.0
    close_timeout: float = 2.0
    request_timeout: float = 10.0
    live_timeout: float | None = 60.0
    idle_grace: float = 5.0
    pong_timeout: float = 10.0
    max_lifetime: float = 24 * 3600.0
    rotation_margin: float = 1800.0
    rotation_jitter: float = 600.0
    rotation_overlap: float = 30.0
    rotation_hold: int = 100_000
    epoch_window: float = 60.0
    slow_consumer_warning: float = 5.0
    backoff_initial: float = 0.5
    backoff_max: float = 60.0
    healthy_after: float = 30.0
    reject_backoff: float = 30.0
    ban_backoff: float = 120.0
    reject_backoff_max: float = 3600.0
    max_connection_attempts: int = 300
    connection_attempt_window: float = 300.0
    max_message_size: int = 4 * 1024 * 1024
    read_size: int = 16384
    max_backlog: int = 100_000
    backpressure_pause: float = 1.0
    listen_key_keepalive: float = 1800.0
    listen_key_validity: float = 3600.0
    listen_token_renew_before: float = 600.0
    credential_retries: int = 5
    snapshot_weight_share: float = 0.5

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if isinstance(value, (int, float)) and not isinstance(value, bool) and value < 0:
                raise ValueError(f"Settings.{field.name} must be >= 0, got {value!r}")
        if self.rotation_margin + self.rotation_jitter >= self.max_lifetime:
            raise ValueError("rotation_margin + rotation_jitter must be below max_lifetime")
        share = self.snapshot_weight_share
        if not 0 < share <= 1:
            raise ValueError(f"Settings.snapshot_weight_share must be in (0, 1], got {share!r}")
        if self.subscribe_batch < 1 or self.read_size < 1024:
            raise ValueError("subscribe_batch must be >= 1 and read_size >= 1024")
        missing = set(Product) - set(self.limits)
        if missing:
            raise ValueError(f"Settings.limits lacks {sorted(p.value for p in missing)}")

    def backoff(self, rng: random.Random | None = None) -> Backoff:
        """A fresh reconnect :class:`~trio_binance._backoff.Backoff` with these delays."""
        return Backoff(
            initial=self.backoff_initial,
            maximum=self.backoff_max,
            reject=self.reject_backoff,
            ban=self.ban_backoff,
            reject_max=self.reject_backoff_max,
            rng=rng,
        )

    def limits_for(self, product: Product) -> ProductLimits:
        """The :class:`ProductLimits` of ``product``."""
        return self.limits[product]

    def idle_timeout(self, product: Product) -> float:
        """Silence after which we ping the server ourselves."""
        return self.limits[product].ping_interval + self.idle_grace

    def control_interval(self, product: Product) -> float:
        """Seconds between two control messages we send on one connection."""
        return 1.0 / (self.limits[product].max_incoming_rate * self.control_rate_margin)
