"""The connection engine: places streams on connections and handles on streams.

One :class:`Engine` per manager.  It owns, per (product, route), a pool of
:class:`~trio_binance._connection.Connection` objects each carrying at most the
product's stream limit, one :class:`~trio_binance._subscription.Subscription` per
stream however many handles want it, and the manager-wide connection-attempt budget.
Everything it starts runs in the manager's nursery.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import random
from collections.abc import Callable
from typing import TYPE_CHECKING, final

import trio

from ._backoff import WindowBudget
from ._connection import Connection
from ._endpoints import Endpoints, Product
from ._handle import ConsumerTurn, Overflow, StreamHandle, _HandleState
from ._settings import Settings
from ._streams import StreamRequest
from ._subscription import Subscription
from ._transport import Transport

if TYPE_CHECKING:
    from ._user_data import _UserStream as UserStream

__all__ = ["ConnectionStats", "Engine", "HandleOptions"]

logger = logging.getLogger("trio_binance")


@final
@dataclasses.dataclass(frozen=True)
class HandleOptions:
    """Per-handle choices: buffer size, overflow policy, in-band gap notices."""

    max_queue_size: int = 100
    overflow: Overflow = Overflow.BLOCK
    gap_notices: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.max_queue_size, int) or self.max_queue_size < 1:
            raise ValueError(f"max_queue_size must be an int >= 1, got {self.max_queue_size!r}")
        object.__setattr__(self, "overflow", Overflow.coerce(self.overflow))


@final
@dataclasses.dataclass(frozen=True)
class ConnectionStats:
    """A snapshot of one connection's counters.

    Attributes:
        name: ``product:route#n``, for logs.
        url: The URL dialled.
        streams: Streams currently placed on it.
        links: Open sockets (2 while rotating).
        connects: Successful handshakes.
        reconnects: Reconnections after a lost socket.
        rotations: Make-before-break replacements (24-hour cut, ``serverShutdown``).
        rejects: Handshakes refused with an HTTP status.
        malformed: Frames skipped because they were not JSON objects.
        frames: Frames received over all its sockets (messages, pings, responses).
        bytes: Bytes received over all its sockets.
        opened_at: Trio time the current socket opened, if any.
        last_frame_time: Trio time of the last frame received, if any.
    """

    name: str
    url: str
    streams: int
    links: int
    connects: int
    reconnects: int
    rotations: int
    rejects: int
    malformed: int
    frames: int
    bytes: int
    opened_at: float | None
    last_frame_time: float | None


class Engine:
    """Streams, connections and the budget they share (one per manager)."""

    def __init__(
        self,
        nursery: trio.Nursery,
        *,
        endpoints: Endpoints,
        transport: Transport,
        settings: Settings,
        rng: random.Random | None = None,
    ) -> None:
        self.nursery = nursery
        self.endpoints = endpoints
        self.transport = transport
        self.settings = settings
        self.rng = rng or random.Random()
        self.pools: dict[tuple[Product, str], list[Connection]] = {}
        self.subs: dict[tuple[Product, str, str], Subscription] = {}
        self.budget = WindowBudget(
            settings.max_connection_attempts, settings.connection_attempt_window
        )
        self.closed = False
        self._states: set[_HandleState] = set()
        self.turn = ConsumerTurn()  # readers hand it to the consumers they woke
        self.user_streams: dict[tuple[str, ...], UserStream] = {}
        self._request_ids = itertools.count(1)
        self.connection_numbers = itertools.count(1)

    # -- handles -------------------------------------------------------------

    def open(self, request: StreamRequest, options: HandleOptions) -> StreamHandle:
        """Register a handle for ``request``; subscription happens in the background."""
        state = self._new_state("/".join(request.streams), options)
        subs: list[Subscription] = []
        for name, route in zip(request.streams, request.routes, strict=True):
            route_url = self.endpoints.route_url(request.product, route)
            sub = self._subscription(request.product, route_url, name)
            sub.attach(state, envelope=request.multiplex)
            subs.append(sub)
        if state.pending == 0:
            state.live.set()  # every stream was already live for another handle
        self._states.add(state)

        def on_behind(behind: bool) -> None:
            for sub in subs:
                if behind:
                    sub.conn.behind.add(state)
                else:
                    sub.conn.behind.discard(state)
                    sub.conn.stuck.discard(state)

        def release() -> None:
            on_behind(False)
            self._states.discard(state)
            for sub in subs:
                sub.detach(state)
                if sub.consumers == 0:
                    self._drop(sub)

        def stats() -> tuple[int | None, float | None]:
            times = [t for t in (sub.last_event_time() for sub in subs) if t is not None]
            received = [sub.last_time for sub in subs if sub.last_time is not None]
            return (max(times) if times else None, max(received) if received else None)

        state.release = release
        state.stats_source = stats
        state.on_behind = on_behind
        return StreamHandle(state)

    def _new_state(self, description: str, options: HandleOptions) -> _HandleState:
        if self.closed:
            raise trio.ClosedResourceError("the stream manager is closed")
        return _HandleState(
            description=description,
            max_queue_size=options.max_queue_size,
            policy=options.overflow,
            max_backlog=self.settings.max_backlog,
            gap_notices=options.gap_notices,
            live_timeout=self.settings.live_timeout,
            turn=self.turn,
        )

    def open_user(
        self, key: tuple[str, ...], factory: Callable[[], UserStream], options: HandleOptions
    ) -> StreamHandle:
        """A handle on the user-data stream ``key``, sharing its connection if running."""
        conn = self.user_streams.get(key)
        if conn is None or conn.closing or not conn.subs:
            conn = factory()
            self.user_streams[key] = conn
            self.nursery.start_soon(conn.run, name=f"trio_binance {conn.name}")
        state = self._new_state(conn.name.partition("#")[0], options)
        sub = conn.sub
        sub.attach(state, envelope=False)
        if state.pending == 0:
            state.live.set()
        self._states.add(state)

        def release() -> None:
            self._states.discard(state)
            sub.detach(state)
            if sub.consumers == 0 and conn.subs:
                conn.subs.clear()
                conn.changed.fire()
                self.forget_user_stream(conn)

        def stats() -> tuple[int | None, float | None]:
            return sub.last_event_time(), sub.last_time

        state.release = release
        state.stats_source = stats
        return StreamHandle(state)

    def forget_user_stream(self, conn: Connection) -> None:
        for key, known in list(self.user_streams.items()):
            if known is conn:
                del self.user_streams[key]

    def _subscription(self, product: Product, route_url: str, name: str) -> Subscription:
        key = (product, route_url, name)
        sub = self.subs.get(key)
        if sub is None:
            conn = self._connection_with_room(product, route_url)
            sub = Subscription(key, conn)
            self.subs[key] = sub
            conn.subs[name] = sub
            conn.changed.fire()
        return sub

    def _connection_with_room(self, product: Product, route_url: str) -> Connection:
        pool = self.pools.setdefault((product, route_url), [])
        limit = self.settings.limits_for(product).max_streams
        for conn in pool:
            if not conn.closing and len(conn.subs) < limit:
                return conn
        conn = Connection(self, product, route_url, next(self.connection_numbers))
        pool.append(conn)
        self.nursery.start_soon(conn.run, name=f"trio_binance connection {conn.name}")
        return conn

    def _drop(self, sub: Subscription) -> None:
        if self.subs.get(sub.key) is sub:
            del self.subs[sub.key]
        conn = sub.conn
        if conn.subs.get(sub.name) is sub:
            del conn.subs[sub.name]
            conn.changed.fire()

    def reject(self, sub: Subscription, code: int | None, msg: str) -> None:
        """Binance refused ``sub``: fail its handles and forget it."""
        self._drop(sub)
        sub.rejected(code, msg)

    def connection_ended(self, conn: Connection) -> None:
        pool = self.pools.get((conn.product, conn.route_url))
        if pool is None or conn not in pool:
            return
        pool.remove(conn)
        # Streams added in the instant the connection was closing move to a new one.
        for name, sub in list(conn.subs.items()):
            if self.subs.get(sub.key) is sub and not self.closed:
                del conn.subs[name]
                new_conn = self._connection_with_room(conn.product, conn.route_url)
                sub.conn = new_conn
                new_conn.subs[name] = sub
                new_conn.changed.fire()

    # -- shared budget -----------------------------------------------------------

    def next_request_id(self) -> int:
        return next(self._request_ids)

    async def connection_attempt(self) -> None:
        """Wait until one more connection attempt fits the manager-wide budget."""
        while True:
            now = trio.current_time()
            delay = self.budget.delay(now)
            if delay <= 0:
                self.budget.record(now)
                await trio.lowlevel.checkpoint()
                return
            logger.warning(
                "connection-attempt budget (%d per %.0f s) exhausted; waiting %.1f s",
                self.settings.max_connection_attempts,
                self.settings.connection_attempt_window,
                delay,
            )
            await trio.sleep(delay)

    # -- observation and shutdown ----------------------------------------------

    def connection_stats(self) -> list[ConnectionStats]:
        conns = [conn for pool in self.pools.values() for conn in pool]
        return [_stats(conn) for conn in [*conns, *self.user_streams.values()]]

    def close(self) -> None:
        """End every handle (consumers see EndOfChannel after their buffer)."""
        self.closed = True
        for state in list(self._states):
            state.end()
        self._states.clear()


def _stats(conn: Connection) -> ConnectionStats:
    links = conn.links
    return ConnectionStats(
        name=conn.name,
        url=conn.url if not conn.name.startswith("user:") else "<user data>",
        streams=len(conn.subs),
        links=len(links),
        connects=conn.connects,
        reconnects=conn.reconnects,
        rotations=conn.rotations,
        rejects=conn.rejects,
        malformed=conn.malformed,
        frames=conn.frames_from_closed_links + sum(link.frames for link in links),
        bytes=conn.bytes_from_closed_links + sum(link.ws.bytes_received for link in links),
        opened_at=links[-1].opened_at if links else None,
        last_frame_time=max((link.last_frame for link in links), default=None),
    )
