"""The connection engine: places streams on connections and handles on streams.

One :class:`Engine` per manager.  It owns, per (product, route), a pool of
:class:`~trio_binance._connection.Connection` objects each carrying at most the
product's stream limit, the user-data connections, and the manager-wide
connection-attempt budget.  A stream exists once per connection however many
handles want it (its :class:`~trio_binance._router.RoutedStream` fans messages out
to them).  Everything it starts runs in the manager's nursery.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import random
from collections.abc import Callable
from typing import final

import trio

from ._backoff import WindowBudget
from ._connection import Connection
from ._endpoints import Endpoints, Product
from ._exceptions import StreamRejected
from ._handle import ConsumerTurn, Overflow, StreamHandle, StreamTotals, _HandleState
from ._router import RoutedStream
from ._session import MarketSession, Session
from ._settings import Settings
from ._streams import StreamRequest, connection_url
from ._transport import Transport

__all__ = ["USER_STREAM", "ConnectionStats", "Engine", "HandleOptions"]

logger = logging.getLogger("trio_binance")

#: The one stream of a user-data connection.
USER_STREAM = "userData"

# Where a stream lives: (product, route URL, stream name).
StreamKey = tuple[Product, str, str]


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

    Every message received is delivered or counted: ``messages + duplicates +
    superseded + not_subscribed + control + malformed`` is every message that
    arrived (pings and pongs are frames, not messages), apart from the few an
    ongoing switch between links holds (``held``).

    Attributes:
        name: ``product:route#n`` (``spot:spot#1``, ``usdm:market#2``), or
            ``user:<kind>#n`` for user data; used in log lines.
        url: The URL dialled (``<user data>`` for user-data streams, whose URLs
            hold a listen key).
        streams: Streams currently placed on it.
        links: Open sockets (2 while rotating).
        connects: Successful handshakes.
        reconnects: Reconnections after a lost socket.
        rotations: Make-before-break replacements (24-hour cut, ``serverShutdown``).
        rejects: Handshakes refused with an HTTP status.
        messages: Stream messages delivered to handles.
        duplicates: Messages dropped because their id was already delivered.
        superseded: Messages dropped because the other link of an overlap had
            delivered them (rotations, reconnects).
        not_subscribed: Messages of a stream no handle wants on the link they came on
            (a stream being unsubscribed, say).
        control: Answers to our requests and events the connection acts on itself
            (``serverShutdown``, ``listenKeyExpired``, ...).
        malformed: Messages skipped because they were not JSON objects, binary, or
            meant nothing.
        held: Messages a switch between two links holds until it is proven.
        id_resets: Times a stream's ids started over (a ``Gap`` with reason ``id_reset``).
        frames: Frames received over all its sockets (messages, pings, pongs).
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
    messages: int
    duplicates: int
    superseded: int
    not_subscribed: int
    control: int
    malformed: int
    held: int
    id_resets: int
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
        #: Which connection each market stream lives on.
        self.placement: dict[StreamKey, Connection] = {}
        self.budget = WindowBudget(
            settings.max_connection_attempts, settings.connection_attempt_window
        )
        self.closed = False
        self._states: set[_HandleState] = set()
        self.turn = ConsumerTurn()  # readers hand it to the consumers they woke
        self.user_streams: dict[tuple[str, ...], Connection] = {}
        self._request_ids = itertools.count(1)
        self._numbers = itertools.count(1)

    # -- handles -------------------------------------------------------------

    def open(self, request: StreamRequest, options: HandleOptions) -> StreamHandle:
        """Register a handle for ``request``; subscription happens in the background."""
        state = self._new_state("/".join(request.streams), options)
        keys: list[StreamKey] = []
        for name, route in zip(request.streams, request.routes, strict=True):
            key = (request.product, self.endpoints.route_url(request.product, route), name)
            self._stream(key).attach(state, envelope=request.multiplex)
            keys.append(key)
        if len(keys) == 1:
            state.id_key = self._stream(keys[0]).id_key
        self._register(state, keys)
        return StreamHandle(state)

    def open_user(
        self,
        key: tuple[str, ...],
        *,
        product: Product,
        label: str,
        session: Callable[[], Session],
        options: HandleOptions,
    ) -> StreamHandle:
        """A handle on the user-data stream ``key``, sharing its connection if running."""
        conn = self.user_streams.get(key)
        if conn is None or conn.closing or not conn.streams:
            conn = Connection(
                self,
                product,
                name=f"user:{label}#{next(self._numbers)}",
                url="<user data>",
                session=session(),
            )
            conn.router.add(USER_STREAM)
            self.user_streams[key] = conn
            self.nursery.start_soon(conn.run, name=f"trio_binance {conn.name}")
        state = self._new_state(conn.name.partition("#")[0], options)
        conn.streams[USER_STREAM].attach(state, envelope=False)

        def streams() -> list[RoutedStream]:
            stream = conn.streams.get(USER_STREAM)
            return [stream] if stream is not None else []

        def release() -> None:
            self._states.discard(state)
            for stream in streams():
                stream.detach(state)
                if stream.consumers == 0:
                    conn.router.remove(USER_STREAM)
                    conn.changed.fire()
                    self.forget_user_stream(conn)

        state.on_release = release
        state.stats_source = lambda: _totals(streams())
        if state.pending == 0:
            state.live.set()
        self._states.add(state)
        return StreamHandle(state)

    def _register(self, state: _HandleState, keys: list[StreamKey]) -> None:
        if state.pending == 0:
            state.live.set()  # every stream was already live for another handle
        self._states.add(state)

        def streams() -> list[tuple[Connection, RoutedStream]]:
            found = []
            for product, route_url, name in keys:
                conn = self.placement.get((product, route_url, name))
                stream = conn.streams.get(name) if conn is not None else None
                if conn is not None and stream is not None:
                    found.append((conn, stream))
            return found

        def on_behind(behind: bool) -> None:
            for conn, _ in streams():
                if behind:
                    conn.behind.add(state)
                else:
                    conn.behind.discard(state)
                    conn.stuck.discard(state)

        def release() -> None:
            on_behind(False)
            self._states.discard(state)
            for key in keys:
                conn = self.placement.get(key)
                stream = conn.streams.get(key[2]) if conn is not None else None
                if stream is not None:
                    stream.detach(state)
                    if stream.consumers == 0:
                        self._drop(key)

        state.on_release = release
        state.stats_source = lambda: _totals([stream for _, stream in streams()])
        state.on_behind = on_behind

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

    def forget_user_stream(self, conn: Connection) -> None:
        for key, known in list(self.user_streams.items()):
            if known is conn:
                del self.user_streams[key]

    def _stream(self, key: StreamKey) -> RoutedStream:
        conn = self.placement.get(key)
        if conn is None:
            conn = self.placement[key] = self._connection_with_room(key[0], key[1])
        stream = conn.streams.get(key[2])
        if stream is None:
            stream = conn.router.add(key[2])
            conn.changed.fire()
        return stream

    def _connection_with_room(self, product: Product, route_url: str) -> Connection:
        pool = self.pools.setdefault((product, route_url), [])
        limit = self.settings.limits_for(product).max_streams
        for conn in pool:
            if not conn.closing and len(conn.streams) < limit:
                return conn
        number = next(self._numbers)
        route = route_url.rsplit("/", 1)[-1] or product.value
        conn = Connection(
            self,
            product,
            name=f"{product.value}:{route}#{number}",
            url=connection_url(route_url),
            session=MarketSession(connection_url(route_url)),
            route_url=route_url,
        )
        pool.append(conn)
        self.nursery.start_soon(conn.run, name=f"trio_binance connection {conn.name}")
        return conn

    def _drop(self, key: StreamKey) -> None:
        conn = self.placement.pop(key, None)
        if conn is not None and key[2] in conn.streams:
            conn.router.remove(key[2])
            conn.changed.fire()

    def reject(self, stream: RoutedStream, code: int | None, msg: str) -> None:
        """Binance refused ``stream``: fail its handles and forget it."""
        error = StreamRejected(stream.name, code, msg)
        for key, conn in list(self.placement.items()):
            if conn.streams.get(key[2]) is stream:
                self._drop(key)
        for sink in stream.sinks:
            sink.fail(error)
            sink.release()

    def connection_ended(self, conn: Connection) -> None:
        pool = self.pools.get((conn.product, conn.route_url))
        if pool is None or conn not in pool:
            return
        pool.remove(conn)
        # Streams added in the instant the connection was closing move to a new one.
        for name, stream in list(conn.streams.items()):
            key = (conn.product, conn.route_url, name)
            if self.placement.get(key) is conn and not self.closed:
                conn.router.remove(name)
                del self.placement[key]
                self._stream(key).adopt(stream)

    # -- shared budget -----------------------------------------------------------

    def next_request_id(self) -> int:
        return next(self._request_ids)

    async def connection_attempt(self) -> None:
        """Wait until one more connection attempt fits the manager-wide budget."""
        while True:
            now = trio.current_time()
            ready_at = self.budget.ready_at(now)
            if ready_at <= now:
                self.budget.record(now)
                await trio.lowlevel.checkpoint()
                return
            logger.warning(
                "connection-attempt budget (%d per %.0f s) exhausted; waiting %.1f s",
                self.settings.max_connection_attempts,
                self.settings.connection_attempt_window,
                ready_at - now,
            )
            await trio.sleep_until(ready_at)

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


def _totals(streams: list[RoutedStream]) -> StreamTotals:
    times = [t for t in (s.last_event_time() for s in streams) if t is not None]
    received = [s.last_time for s in streams if s.last_time is not None]
    return StreamTotals(
        last_event_time=max(times) if times else None,
        last_receive_time=max(received) if received else None,
        duplicates=sum(s.counts.duplicates for s in streams),
        superseded=sum(s.counts.superseded for s in streams),
        id_resets=sum(s.counts.resets for s in streams),
    )


def _stats(conn: Connection) -> ConnectionStats:
    links = conn.links
    router = conn.router
    counts = router.counts()
    return ConnectionStats(
        name=conn.name,
        url=conn.url,
        streams=len(router.streams),
        links=len(links),
        connects=conn.connects,
        reconnects=conn.reconnects,
        rotations=conn.rotations,
        rejects=conn.rejects,
        messages=counts.delivered,
        duplicates=counts.duplicates,
        superseded=counts.superseded,
        not_subscribed=router.not_subscribed,
        control=router.control,
        malformed=conn.malformed_messages,
        held=sum(len(stream.held) for stream in router.streams.values()),
        id_resets=counts.resets,
        frames=conn.frames_from_closed_links + sum(link.frames for link in links),
        bytes=conn.bytes_from_closed_links + sum(link.ws.bytes_received for link in links),
        opened_at=links[-1].opened_at if links else None,
        last_frame_time=max((link.last_frame for link in links), default=None),
    )
