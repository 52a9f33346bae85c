"""One accepted stream connection of the fake exchange, and the index of them all.

A :class:`FakeConnection` runs four tasks inside its own cancel scope: a reader
(subscription protocol, incoming-rate limit), a sender (drains the outgoing
queue), a pinger (server pings and pong deadlines) and a lifetime timer.  Every
server-side close goes through :meth:`FakeConnection._request_close`, which
records why and cancels the scope; the cleanup then performs the close once,
bounded by ``close_timeout``.

Close codes (recorded as ``close_code``/``closed_by``):

======  ==========  =====================================================
code    closed_by   why
======  ==========  =====================================================
1000    server      :meth:`FakeConnection.close` (any code you pass)
1001    server      24 h lifetime reached, or the fake exchange shut down
1008    server      pong deadline missed, too many incoming messages, or a
                    SUBSCRIBE over the per-connection stream limit
1009    server      a client frame over ``max_message_size``
1006    drop        :meth:`FakeConnection.drop`, or the send queue overflowed
                    (slow consumer): the byte stream is closed, no close frame
(any)   client      the client's close frame (1006 if it just hung up)
======  ==========  =====================================================
"""

from __future__ import annotations

import collections
import dataclasses
import logging
from collections.abc import Callable
from typing import Any, Final, Literal, final

import orjson
import trio
from trio_websocket import ConnectionClosed, WebSocketConnection

from .._endpoints import Product
from ._pipes import ServerSideStream
from ._routing import delivers, redact, stream_route
from ._settings import FakeSettings

__all__ = [
    "NOT_JSON",
    "ClientRequest",
    "FakeConnection",
    "Registry",
    "Service",
    "event_envelope",
    "in_microseconds",
]

logger = logging.getLogger(__name__)

ClosedBy = Literal["server", "client", "drop"]
Service = Literal["streams", "user_data", "ws_api"]

_METHODS: Final = ("SUBSCRIBE", "UNSUBSCRIBE", "LIST_SUBSCRIPTIONS", "SET_PROPERTY", "GET_PROPERTY")
_FIELDS: Final = frozenset({"method", "params", "id"})
_INT64 = 1 << 63
_UINT64 = 1 << 64
_BAD_ID = "Invalid request: request ID must be an unsigned integer"
_NOT_JSON: Final = object()
#: What a request handler (see ``FakeConnection._handler``) gets for a frame that is not JSON.
NOT_JSON: Final = _NOT_JSON


def event_envelope(stream: str, data: str) -> str:
    """The combined-stream frame ``{"stream": ..., "data": ...}`` around JSON ``data``."""
    return f'{{"stream":{orjson.dumps(stream).decode()},"data":{data}}}'


#: Millisecond timestamp fields of spot events: top level, and inside a kline's ``k``.
_TIME_FIELDS: Final = ("E", "T", "O", "C")
_KLINE_TIME_FIELDS: Final = ("t", "T")


def in_microseconds(data: str) -> str:
    """A spot event payload (JSON text) with its timestamps in microseconds.

    What Binance sends on a ``timeUnit=MICROSECOND`` connection: event time ``E``,
    trade time ``T``, a ticker's ``O``/``C`` and a kline's ``k.t``/``k.T`` times
    1000.  Lists (``!miniTicker@arr``) are converted element by element.
    """

    def scale(event: Any) -> Any:
        if isinstance(event, list):
            return [scale(item) for item in event]
        if not isinstance(event, dict):
            return event
        for key in _TIME_FIELDS:
            value = event.get(key)
            if type(value) is int:
                event[key] = value * 1000
        kline = event.get("k")
        if isinstance(kline, dict):
            for key in _KLINE_TIME_FIELDS:
                value = kline.get(key)
                if type(value) is int:
                    kline[key] = value * 1000
        return event

    return orjson.dumps(scale(orjson.loads(data))).decode()


@final
@dataclasses.dataclass(frozen=True)
class ClientRequest:
    """One message a client sent on a stream connection.

    Attributes:
        time: ``trio.current_time()`` when the server read it.
        raw: The frame as received (``bytes`` for a binary frame).
        message: The decoded JSON value, or None if the frame was not JSON.
    """

    time: float
    raw: str | bytes
    message: Any

    @property
    def method(self) -> str | None:
        """The request's ``method`` if it is a JSON object with one."""
        return self.message.get("method") if isinstance(self.message, dict) else None

    @property
    def params(self) -> Any:
        """The request's ``params``, or None."""
        return self.message.get("params") if isinstance(self.message, dict) else None

    @property
    def id(self) -> Any:
        """The request's ``id``, or None."""
        return self.message.get("id") if isinstance(self.message, dict) else None


class Registry:
    """Open connections and who receives which stream; wakes waiters on changes."""

    def __init__(self) -> None:
        # stream name -> connections that receive it (dict as an ordered set)
        self._subscribers: dict[str, dict[FakeConnection, None]] = {}
        self.open: dict[FakeConnection, None] = {}
        self._changed = trio.Event()

    def changed(self) -> None:
        """Wake every :meth:`wait_until` waiter to recheck its condition."""
        self._changed.set()
        self._changed = trio.Event()

    async def wait_until(self, predicate: Callable[[], bool]) -> None:
        """Return once ``predicate()`` is true (checked after every change)."""
        await trio.lowlevel.checkpoint()
        while not predicate():
            await self._changed.wait()

    def subscribers(self, stream: str) -> list[FakeConnection]:
        return list(self._subscribers.get(stream, ()))

    def has_subscribers(self, stream: str, product: Product | None = None) -> bool:
        conns = self._subscribers.get(stream)
        if not conns:
            return False
        return product is None or any(c.product is product for c in conns)

    def add(self, connection: FakeConnection, stream: str) -> None:
        self._subscribers.setdefault(stream, {})[connection] = None

    def discard(self, connection: FakeConnection, stream: str) -> None:
        conns = self._subscribers.get(stream)
        if conns is not None:
            conns.pop(connection, None)
            if not conns:
                del self._subscribers[stream]


@final
class FakeConnection:
    """The server side of one accepted stream connection.

    Created by the fake exchange; tests find them in ``fake.connections``.
    Sending methods (:meth:`send_json` and friends) are synchronous: they queue
    a frame behind any earlier ones and return.

    Attributes:
        id: Sequence number, from 1, in acceptance order.
        product: The product of the URL (portfolio margin: USD-M; the
            WebSocket API: spot), which sets the ping cadence and message rate.
        route: ``"public"``, ``"market"``, ``"private"``, ``"pm"`` or ``""``.
        path: The handshake path, query included.  It may hold a listen key:
            it is accurate here, but redacted in logs and in ``repr()``.
        service: ``"streams"`` (market streams), ``"user_data"`` (a listen-key
            stream) or ``"ws_api"`` (the spot WebSocket API at ``/ws-api/v3``).
        user_kind: The listen-key kind of a ``"user_data"`` connection
            (``"usdm"``, ``"coinm"``, ``"pm"`` or ``"options"``), else None.
        combined: Whether events are wrapped as ``{"stream", "data"}`` (the
            ``combined`` property; starts true on ``/stream`` URLs).
        microseconds: Whether event timestamps are sent in microseconds (a spot
            URL with ``timeUnit=MICROSECOND``).
        opened_at: ``trio.current_time()`` at acceptance.
        closed_at: When it closed (for server-side closes: when the server
            decided to close), or None while open.
        close_code: The close code (see the module docstring), None while open.
        close_reason: The close reason text, None while open.
        closed_by: ``"server"``, ``"client"`` or ``"drop"``, None while open.
        requests: Every message the client sent, in order.
        messages_sent: Frames sent (events, responses, scripted frames).
        bytes_sent: Payload bytes of those frames.
        messages_received: Frames received from the client.
        messages_discarded: Frames not sent because the connection was stalled.
        pings_sent: Server pings sent.
        pings_answered: Pings whose pong (or a later ping's pong) arrived in time.
    """

    def __init__(
        self,
        *,
        id: int,
        product: Product,
        route: str,
        path: str,
        combined: bool,
        ws: WebSocketConnection,
        stream: ServerSideStream,
        registry: Registry,
        settings: FakeSettings,
        now_ms: Callable[[], int],
        service: Service = "streams",
        user_kind: str | None = None,
        microseconds: bool = False,
    ) -> None:
        self.id = id
        self.product = product
        self.route = route
        self.path = path
        self.service: Service = service
        self.user_kind = user_kind
        self.combined = combined
        self.microseconds = microseconds
        self.opened_at = trio.current_time()
        self.closed_at: float | None = None
        self.close_code: int | None = None
        self.close_reason: str | None = None
        self.closed_by: ClosedBy | None = None
        self.requests: list[ClientRequest] = []
        self.messages_sent = 0
        self.bytes_sent = 0
        self.messages_received = 0
        self.messages_discarded = 0
        self.pings_sent = 0
        self.pings_answered = 0
        self._ws = ws
        self._stream = stream
        self._registry = registry
        self._settings = settings
        self._limits = settings.limits(product)
        self._now_ms = now_ms
        self._subscriptions: dict[str, None] = {}
        self._misrouted: dict[str, None] = {}
        self._recent: collections.deque[float] = collections.deque()
        # Frames wait here until sent; the head is removed only once it is on
        # the wire, so a close can still flush it.
        self._queue: collections.deque[str | bytes] = collections.deque()
        self._queue_lot = trio.lowlevel.ParkingLot()
        self._sent_lot = trio.lowlevel.ParkingLot()  # woken as frames leave the queue
        self._scope = trio.CancelScope()
        # (code, reason, by, time) of the first server-side close request
        self._closing: tuple[int, str, ClosedBy, float] | None = None
        self._closed = trio.Event()
        # Replaces the stream protocol (SUBSCRIBE and friends) when set: gets
        # every decoded client message, or NOT_JSON.
        self._handler: Callable[[Any], None] | None = None
        self._close_callbacks: list[Callable[[FakeConnection], None]] = []

    def __repr__(self) -> str:
        state = "open" if self.closed_at is None else f"closed {self.close_code}"
        return f"<FakeConnection #{self.id} {redact(self.path)} {state}>"

    # ----------------------------------------------------------------- state

    @property
    def is_open(self) -> bool:
        """True until the connection has closed."""
        return self.closed_at is None

    @property
    def subscriptions(self) -> frozenset[str]:
        """Streams currently subscribed, misrouted ones included."""
        return frozenset(self._subscriptions)

    @property
    def misrouted(self) -> frozenset[str]:
        """Subscribed streams this connection's route never delivers."""
        return frozenset(self._misrouted)

    @property
    def stalled(self) -> bool:
        """Whether the connection is stalled (see :meth:`stall`)."""
        return self._stream.stalled or self._stream.held

    @property
    def queued(self) -> int:
        """Frames waiting to be sent (a full queue drops the client as a slow consumer)."""
        return len(self._queue)

    async def wait_queue_below(self, n: int) -> None:
        """Wait until fewer than ``n`` frames wait to be sent, or the connection closes.

        A producer that publishes faster than the client reads (a replay at full
        speed) waits here instead of overflowing the queue.
        """
        await trio.lowlevel.checkpoint()
        while len(self._queue) >= n and self.closed_at is None:
            await self._sent_lot.park()

    async def wait_closed(self) -> None:
        """Wait until the connection has closed and its record is final."""
        await trio.lowlevel.checkpoint()
        await self._closed.wait()

    # ------------------------------------------------------------- scripting

    def send_json(self, obj: object) -> None:
        """Queue ``obj`` as one JSON text frame, as is (no combined wrapping)."""
        self._enqueue(orjson.dumps(obj).decode())

    def send_raw(self, frame: str | bytes) -> None:
        """Queue a frame as is: ``str`` as a text frame, ``bytes`` as a binary frame."""
        self._enqueue(frame)

    def send_garbage(self) -> None:
        """Queue a text frame that is not JSON."""
        self._enqueue("<html>502 Bad Gateway</html> {not json")

    def send_oversized(self, n_bytes: int) -> None:
        """Queue a valid JSON text frame of exactly ``n_bytes`` bytes."""
        head, tail = '{"e":"oversized","pad":"', '"}'
        pad = n_bytes - len(head) - len(tail)
        if pad < 0:
            raise ValueError(f"n_bytes must be at least {len(head) + len(tail)}")
        self._enqueue(head + "x" * pad + tail)

    def server_shutdown(self) -> None:
        """Send Binance's ``serverShutdown`` event (spot's maintenance warning).

        Raw connections get ``{"e":"serverShutdown","E":...}``; combined ones get
        it wrapped as ``{"stream":"!serverShutdown","data":{...}}``; WebSocket-API
        connections get ``{"event":{"e":"serverShutdown","E":...}}``.  The
        connection stays open: the client is expected to reconnect.
        """
        event = {"e": "serverShutdown", "E": self._now_ms()}
        if self.service == "ws_api":
            self.send_json({"event": event})
            return
        self._deliver("!serverShutdown", orjson.dumps(event).decode())

    def stall(self, stalled: bool = True, *, discard: bool = True) -> None:
        """Stall (or resume) the connection, as a network path can.

        While stalled the server sends nothing at all (no data, no responses, no
        pings, no pong answers).  It keeps reading and processing what the client
        sends.

        Args:
            stalled: Stall, or resume.
            discard: A dead path (the default): frames due in the meantime are
                lost, counted in ``messages_discarded``.  With ``discard=False``, a
                congested path, as TCP behaves: they wait and arrive, in order,
                once the connection resumes (or the queue overflows and the server
                drops the connection as a slow consumer).
        """
        if discard:
            self._stream.stalled = stalled
        else:
            self._stream.hold(stalled)

    def drop(self) -> None:
        """Close the byte stream abruptly, with no close frame (the client sees 1006)."""
        self._request_close(1006, "dropped", "drop")

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close with a close frame and wait until the connection has closed.

        Frames already queued are sent first.  If the client does not answer
        the close frame within ``close_timeout`` the byte stream is closed anyway.

        Raises:
            ValueError: If ``code`` may not be sent in a close frame (e.g. 1006).
        """
        if not (1000 <= code <= 1003 or 1007 <= code <= 1014 or 3000 <= code <= 4999):
            raise ValueError(f"{code} is not a close code a server may send")
        self._request_close(code, reason, "server")
        await self.wait_closed()

    # -------------------------------------------------------------- delivery

    def _deliver(self, stream: str, data: str, envelope: str | None = None) -> bool:
        """Queue an event payload (JSON text), wrapped if the connection is combined."""
        if self.microseconds:
            data, envelope = in_microseconds(data), None
        if self.combined:
            return self._enqueue(event_envelope(stream, data) if envelope is None else envelope)
        return self._enqueue(data)

    def _enqueue(self, frame: str | bytes) -> bool:
        if self._closing is not None or self.closed_at is not None:
            return False
        if len(self._queue) >= self._settings.send_queue_size:
            logger.warning("connection #%d: send queue full, dropping a slow consumer", self.id)
            self._request_close(1006, "send queue overflow (slow consumer)", "drop")
            return False
        self._queue.append(frame)
        self._queue_lot.unpark_all()
        return True

    def _respond(self, request_id: object, result: object) -> None:
        self.send_json({"result": result, "id": request_id})

    def _error(self, request_id: object, code: int, msg: str) -> None:
        self.send_json({"error": {"code": code, "msg": msg}, "id": request_id})

    # ------------------------------------------------------------- lifetime

    def _request_close(self, code: int, reason: str, by: ClosedBy) -> None:
        if self._closing is None and self.closed_at is None:
            logger.info("connection #%d: %s close %d %r", self.id, by, code, reason)
            self._closing = (code, reason, by, trio.current_time())
            self._scope.cancel()

    async def _serve(self) -> None:
        """Run the connection until it closes, then record how."""
        client_close: tuple[int, str] | None = None
        try:
            with self._scope:
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(self._sender)
                    nursery.start_soon(self._pinger, nursery)
                    nursery.start_soon(self._lifetime)
                    client_close = await self._reader()
                    nursery.cancel_scope.cancel()
        finally:
            with trio.CancelScope(shield=True):
                await self._finish(client_close)

    async def _finish(self, client_close: tuple[int, str] | None) -> None:
        if self._closing is None and client_close is None:
            # Nobody asked: the fake exchange itself is shutting down.
            self._closing = (1001, "server shutting down", "server", trio.current_time())
        if self._closing is not None:
            code, reason, by, closed_at = self._closing
            graceful = not (self.stalled or self._stream.send_incomplete)
            if by == "server" and graceful and self._ws.closed is None:
                with trio.move_on_after(self._settings.close_timeout):
                    try:
                        await self._flush()
                        await self._ws.aclose(code, reason)
                    except ConnectionClosed:
                        pass  # the client went away meanwhile
        else:
            assert client_close is not None
            code, reason = client_close
            by, closed_at = "client", trio.current_time()
        await trio.aclose_forcefully(self._stream)
        self.closed_at = closed_at
        self.close_code, self.close_reason, self.closed_by = code, reason, by
        self._queue.clear()
        self._sent_lot.unpark_all()
        self._registry.open.pop(self, None)
        for name in self._subscriptions:
            self._registry.discard(self, name)
        callbacks, self._close_callbacks = self._close_callbacks, []
        for callback in callbacks:
            callback(self)
        self._closed.set()
        self._registry.changed()

    async def _flush(self) -> None:
        """Send what is still queued: a real server would have sent it already."""
        while self._queue:
            await self._send_head()

    async def _lifetime(self) -> None:
        await trio.sleep_until(self.opened_at + self._settings.max_lifetime)
        self._request_close(1001, "connection lifetime exceeded", "server")

    async def _sender(self) -> None:
        while True:
            while not self._queue:
                await self._queue_lot.park()
            if self._stream.stalled:  # a dead path: the frame is lost
                self._queue.popleft()
                self.messages_discarded += 1
                self._sent_lot.unpark_all()
                continue
            try:
                await self._send_head()
            except ConnectionClosed:
                return

    async def _send_head(self) -> None:
        frame = self._queue[0]
        await self._ws.send_message(frame)
        self._queue.popleft()
        self.messages_sent += 1
        self.bytes_sent += len(frame)
        if self._sent_lot:
            self._sent_lot.unpark_all()

    async def _pinger(self, nursery: trio.Nursery) -> None:
        interval = self._limits.ping_interval
        next_ping = self.opened_at + interval
        # No ping at the very moment the lifetime cut closes the connection.
        while next_ping < self.opened_at + self._settings.max_lifetime:
            await trio.sleep_until(next_ping)
            next_ping += interval
            if self.stalled:
                continue
            self.pings_sent += 1
            deadline = trio.current_time() + self._limits.pong_timeout
            nursery.start_soon(self._ping, str(self._now_ms()).encode(), deadline)

    async def _ping(self, payload: bytes, deadline: float) -> None:
        with trio.move_on_at(deadline):
            try:
                await self._ws.ping(payload)
            except (ConnectionClosed, ValueError):
                return  # closed, or this payload is already in flight
            self.pings_answered += 1
            return
        self._request_close(1008, "pong timeout", "server")

    async def _reader(self) -> tuple[int, str] | None:
        """Read client frames until the client closes; returns its close code and reason."""
        limit = self._limits.max_incoming_per_second
        while True:
            try:
                frame = await self._ws.get_message()
            except ConnectionClosed as exc:
                reason = exc.reason
                code = 1006 if reason is None else reason.code
                return code, "" if reason is None or reason.reason is None else reason.reason
            now = trio.current_time()
            self.messages_received += 1
            if len(frame) > self._settings.max_message_size:
                self.requests.append(ClientRequest(now, frame, None))
                self._request_close(1009, "Message too big", "server")
                return None
            try:
                message: Any = orjson.loads(frame)
            except orjson.JSONDecodeError:
                message = _NOT_JSON
            self.requests.append(
                ClientRequest(now, frame, None if message is _NOT_JSON else message)
            )
            self._recent.append(now)
            # At most ``limit`` messages in any span shorter than one second
            # (with a microsecond of slack for float noise in the clock).
            while self._recent[0] <= now - 1.0 + 1e-6:
                self._recent.popleft()
            if len(self._recent) > limit:
                # Refused unprocessed, as Binance does: the connection is cut.
                self._request_close(1008, "Too many requests", "server")
                return None
            self._handle(message, len(frame))
            self._registry.changed()

    # -------------------------------------------------------------- protocol

    def _handle(self, message: Any, column: int) -> None:
        if self._handler is not None:
            self._handler(message)
            return
        if message is _NOT_JSON:
            self._error(None, 3, "Invalid JSON: expected value at line 1 column 1")
            return
        if not isinstance(message, dict):
            self._error(
                None, 2, f"Invalid request: expected a JSON object at line 1 column {column}"
            )
            return
        request_id = message.get("id")
        if not self._valid_id(request_id, "id" in message):
            self._error(None, 2, _BAD_ID)
            return
        method = message.get("method")
        if method is None:
            self._error(
                request_id, 2, f"Invalid request: missing field `method` at line 1 column {column}"
            )
            return
        if method not in _METHODS:
            expected = ", ".join(f"`{m}`" for m in _METHODS)
            self._error(
                request_id,
                2,
                f"Invalid request: unknown variant `{method}`, expected one of {expected}"
                f" at line 1 column {column}",
            )
            return
        if set(message) - _FIELDS:
            self._error(request_id, 2, "Invalid request: too many parameters")
            return
        params = message.get("params")
        if method in ("SUBSCRIBE", "UNSUBSCRIBE"):
            self._subscribe(request_id, params, subscribe=method == "SUBSCRIBE")
        elif method == "LIST_SUBSCRIPTIONS":
            self._respond(request_id, list(self._subscriptions))
        else:
            self._property(request_id, params, set_it=method == "SET_PROPERTY")

    def _valid_id(self, request_id: object, present: bool) -> bool:
        if isinstance(request_id, bool):
            return False
        if self.product is Product.SPOT:
            # Spot: int64, up to 36 alphanumeric characters, or null.
            if request_id is None:
                return True
            if isinstance(request_id, int):
                return -_INT64 <= request_id < _INT64
            return (
                isinstance(request_id, str)
                and len(request_id) <= 36
                and request_id.isascii()
                and request_id.isalnum()
            )
        return present and isinstance(request_id, int) and 0 <= request_id < _UINT64

    def _subscribe(self, request_id: object, params: object, *, subscribe: bool) -> None:
        if not isinstance(params, list) or not all(
            isinstance(p, str) and stream_route(self.product, p) is not None for p in params
        ):
            self._error(request_id, 2, "Invalid request: invalid stream")
            return
        names: list[str] = list(dict.fromkeys(params))
        if subscribe:
            if not self._add_streams(names):
                # Over the stream limit: Binance cuts the connection, no answer.
                self._request_close(1008, "Too many streams", "server")
                return
        else:
            for name in names:
                if name in self._subscriptions:
                    del self._subscriptions[name]
                    self._misrouted.pop(name, None)
                    self._registry.discard(self, name)
        self._respond(request_id, None)

    def _add_streams(self, names: list[str]) -> bool:
        """Subscribe valid stream names; False (and nothing done) if over the limit."""
        new = [name for name in names if name not in self._subscriptions]
        if len(self._subscriptions) + len(new) > self._limits.max_streams:
            return False
        for name in new:
            self._subscriptions[name] = None
            route = stream_route(self.product, name)
            if route is not None and delivers(self.route, route):
                self._registry.add(self, name)
            else:
                logger.info(
                    "connection #%d: %r belongs on the %r route, not %r: it stays silent",
                    self.id,
                    name,
                    route,
                    self.route,
                )
                self._misrouted[name] = None
        return True

    def _property(self, request_id: object, params: object, *, set_it: bool) -> None:
        if not isinstance(params, list) or not params or not isinstance(params[0], str):
            self._error(request_id, 2, "Invalid request: property name must be a string")
            return
        if params[0] != "combined":
            self._error(request_id, 0, "Unknown property")
            return
        if not set_it:
            self._respond(request_id, self.combined)
            return
        if len(params) != 2 or not isinstance(params[1], bool):
            self._error(request_id, 1, "Invalid value type: expected Boolean")
            return
        self.combined = params[1]
        self._respond(request_id, None)
