"""A connection that is kept alive forever: supervision and the reader.

A :class:`Connection` is a logical slot: the streams of one route that share a
socket (or one user-data stream).  Underneath it runs one :class:`~trio_binance._link.Link`
(one WebSocket session) at a time, or two while rotating.  Task tree, all inside
the manager's nursery::

    Connection.run                  supervisor: connect, back off, rotate
    ├── session.background          keep-alives (listen keys), if any
    └── Connection._run_link        per link
        ├── _reader                 bytes -> frames -> the router
        ├── session.serve           SUBSCRIBE / UNSUBSCRIBE (or a user-data subscription)
        └── _watchdog               silence and unanswered-ping detection

Every decision about where a message goes (which link a stream is taken from, what
is a duplicate, where a gap is) belongs to the connection's
:class:`~trio_binance._router.Router`: the reader only hands it frames, answers
and link events, in the order they arrived.  The reader handles every frame of a
received chunk before it awaits again and never waits for a consumer, so server
pings are always answered promptly.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal, Protocol

import orjson
import trio

from ._backoff import rotation_delay
from ._endpoints import Product
from ._exceptions import BinanceAPIError, NetworkError
from ._link import Link, LinkBroken, liveness
from ._logs import describe_seconds
from ._network import network_errors
from ._protocol import dedupe_rule
from ._router import RoutedStream, Router
from ._session import Session
from ._settings import Settings
from ._signal import Signal
from ._transport import Transport
from ._websocket import (
    BINARY,
    CLOSE,
    CONT,
    PING,
    TEXT,
    HandshakeRejected,
    WebSocketClosed,
    open_websocket,
)

if TYPE_CHECKING:
    from ._handle import ConsumerTurn, _HandleState

__all__ = ["Connection", "Host"]

logger = logging.getLogger("trio_binance")

# A "block" consumer that takes nothing for this long counts as stuck, not slow.
_STUCK_AFTER = 0.05
# Scheduler rounds without progress before the reader stops spinning and sleeps.
_IDLE_ROUNDS = 3
# At most one "consumer is behind" warning per handle this often.
_WARN_EVERY = 60.0


class Host(Protocol):
    """What a connection needs of the engine that runs it."""

    @property
    def settings(self) -> Settings: ...

    @property
    def rng(self) -> random.Random: ...

    @property
    def transport(self) -> Transport: ...

    @property
    def turn(self) -> ConsumerTurn: ...

    async def connection_attempt(self) -> None: ...

    def next_request_id(self) -> int: ...

    def reject(self, stream: RoutedStream, code: int | None, msg: str) -> None: ...

    def connection_ended(self, conn: Connection) -> None: ...


class Connection:
    """Streams of one route (or one user-data stream), reconnected and rotated forever."""

    def __init__(
        self,
        host: Host,
        product: Product,
        *,
        name: str,
        url: str,
        session: Session,
        route_url: str = "",
    ) -> None:
        self.host = host
        self.settings: Settings = host.settings
        self.rng = host.rng
        self.product = product
        self.name = name
        self.url = url
        self.route_url = route_url
        self.session = session
        settings = self.settings
        self.router = Router(
            lambda stream: dedupe_rule(product, stream),
            epoch_window=settings.epoch_window,
            hold_limit=settings.rotation_hold,
        )
        # `switched`: a link confirmed streams (what a rotation waits for); every
        # `changed` (streams, link deaths) fires it too.
        self.switched = Signal()
        self.changed = Signal(self.switched)
        # "block" handles fed by this connection that are behind their soft limit.
        self.behind: set[_HandleState] = set()
        self.stuck: set[_HandleState] = set()
        self.links: list[Link] = []
        self.closing = False
        self.failed: BaseException | None = None
        self.backoff = settings.backoff(self.rng)
        self.connects = 0
        self.reconnects = 0
        self.rotations = 0
        self.rejects = 0
        self.malformed_messages = 0
        self.bytes_from_closed_links = 0
        self.frames_from_closed_links = 0
        self._nursery: trio.Nursery | None = None

    def __repr__(self) -> str:
        return (
            f"<Connection {self.name} streams={len(self.router.streams)} links={len(self.links)}>"
        )

    @property
    def streams(self) -> dict[str, RoutedStream]:
        return self.router.streams

    # -- what sessions and the engine use -----------------------------------------

    def next_request_id(self) -> int:
        return self.host.next_request_id()

    def refused(self, stream: RoutedStream, code: int | None, msg: str) -> None:
        self.host.reject(stream, code, msg)

    def malformed(self, link: Link, what: str) -> None:
        link.malformed += 1
        self.malformed_messages += 1
        level = logging.WARNING if link.malformed <= 3 else logging.DEBUG
        logger.log(level, "%s: skipped %s from the server", self.name, what)

    def fail(self, error: BaseException) -> None:
        """Stop for good: every handle raises ``error`` after its buffer."""
        self.failed = error
        for stream in list(self.router.streams.values()):
            for sink in stream.sinks:
                sink.fail(error)
            self.router.remove(stream.name)
        self.changed.fire()
        for link in self.links:
            link.kill("failed")

    # -- supervisor --------------------------------------------------------------------

    async def run(self) -> None:
        """Keep the connection's streams delivered until none is left."""
        try:
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                nursery.start_soon(self.session.background, self)
                await self._supervise()
                nursery.cancel_scope.cancel()
        finally:
            self.closing = True
            self.host.connection_ended(self)

    async def _supervise(self) -> None:
        while self.router.streams:
            link = await self._connect()
            if link is None:
                return
            while True:
                outcome = await self._watch(link)
                if outcome == "empty":
                    link.kill("no streams left")
                    return
                if outcome == "dead":
                    break
                link = await self._rotate(link)
            if trio.current_time() - link.opened_at >= self.settings.healthy_after:
                self.backoff.reset()
            self.reconnects += 1
            delay = self.backoff.failure()
            logger.warning(
                "%s: connection lost (%s); reconnecting in %s",
                self.name,
                _describe_close(link),
                describe_seconds(delay),
            )
            await self._sleep_unless_empty(delay)

    async def _watch(self, link: Link) -> Literal["empty", "dead", "rotate"]:
        while True:
            event = self.changed.event
            if not self.router.streams:
                return "empty"
            if link.dead.is_set():
                return "dead"
            if link.shutdown_notice or trio.current_time() >= link.rotate_at:
                return "rotate"
            with trio.move_on_at(link.rotate_at):
                await event.wait()

    async def _sleep_unless_empty(self, delay: float) -> None:
        deadline = trio.current_time() + delay
        while self.router.streams and trio.current_time() < deadline:
            event = self.changed.event
            with trio.move_on_at(deadline):
                await event.wait()

    async def _connect(self) -> Link | None:
        """Open a new link (retrying with backoff); ``None`` if no streams are left."""
        assert self._nursery is not None
        settings = self.settings
        while self.router.streams:
            await self.host.connection_attempt()
            if not self.router.streams:
                return None
            try:
                url = await self.session.url(self)
                with trio.fail_after(settings.connect_timeout), network_errors("connecting"):
                    ws = await open_websocket(
                        self.host.transport,
                        url,
                        max_message_size=settings.max_message_size,
                        read_size=settings.read_size,
                    )
            except HandshakeRejected as exc:
                self.rejects += 1
                delay = self.backoff.rejected(exc.status, exc.retry_after)
                level = logging.ERROR if exc.status in (418, 429) else logging.WARNING
                logger.log(
                    level,
                    "%s: handshake rejected with HTTP %d; backing off %s",
                    self.name,
                    exc.status,
                    describe_seconds(delay),
                )
                if exc.status in (418, 429):
                    self.router.mark_rejected()
                self._connect_failed(exc)
            except trio.TooSlowError as exc:
                delay = self.backoff.failure()
                logger.warning(
                    "%s: connecting took longer than %s; retrying in %s",
                    self.name,
                    describe_seconds(settings.connect_timeout),
                    describe_seconds(delay),
                )
                self._connect_failed(exc)
            except BinanceAPIError as exc:  # the session's REST call (a listen key) refused
                delay = max(self.backoff.failure(), exc.retry_after or 0.0)
                logger.warning(
                    "%s: preparing the connection failed (%s); retrying in %s",
                    self.name,
                    exc,
                    describe_seconds(delay),
                )
                self._connect_failed(exc)
            except NetworkError as exc:
                delay = max(self.backoff.failure(), exc.retry_after or 0.0)
                logger.warning(
                    "%s: connecting failed (%s); retrying in %s",
                    self.name,
                    exc,
                    describe_seconds(delay),
                )
                self._connect_failed(exc)
            else:
                state = self.router.open_link()
                now = trio.current_time()
                link = Link(
                    name=self.name,
                    ws=ws,
                    state=state,
                    control_interval=settings.control_interval(self.product),
                    rotate_at=now
                    + rotation_delay(
                        settings.max_lifetime,
                        settings.rotation_margin,
                        settings.rotation_jitter,
                        self.rng,
                    ),
                    now=now,
                )
                self.links.append(link)
                self.connects += 1
                logger.info("%s: connected (link %d)", self.name, link.number)
                self._nursery.start_soon(self._run_link, link)
                return link
            if self.failed is not None:
                return None
            await self._sleep_unless_empty(delay)
        return None

    def _connect_failed(self, exc: BaseException) -> None:
        for stream in self.router.streams.values():
            for sink in stream.waiting:
                sink.unavailable(exc)
        self.session.connect_failed(self, exc)

    async def _rotate(self, old: Link) -> Link:
        """Make-before-break: bring up a replacement, hand every stream over, retire ``old``.

        Returns the link to watch next: the replacement, or ``old`` if the
        replacement failed (it is tried again after a backoff).
        """
        why = "serverShutdown" if old.shutdown_notice else "lifetime"
        logger.info("%s: rotating link %d (%s)", self.name, old.number, why)
        router = self.router
        deadline = trio.current_time() + self.settings.rotation_overlap
        # A link rotates once its own requests are answered (streams confirmed).
        await self._wait_until(lambda: not old.state.requests, old, None, deadline)
        router.begin_overlap(old.state)
        new = await self._connect()
        if new is None or self.failed is not None:
            return old
        deadline = trio.current_time() + self.settings.rotation_overlap
        # 1. The new link carries every stream ...
        await self._wait_until(lambda: router.carries_all(new.state), old, new, deadline)
        # 2. ... and the old one has delivered all it owed: a request it answers in
        # order proves that (the router switches every stream that waited on it).
        if not old.dead.is_set() and not new.dead.is_set() and not router.handed_over(old.state):
            request_id = self.next_request_id()
            frame = self.session.barrier(request_id)
            if frame is not None and router.barrier_sent(old.state, request_id):

                def on_answer(msg: dict[str, Any], now: float) -> None:
                    router.answered(old.state, request_id, None, now)

                with trio.move_on_at(deadline):
                    try:
                        await old.request(
                            request_id,
                            frame,
                            what="the rotation barrier",
                            answer_within=max(0.0, deadline - trio.current_time()),
                            on_answer=on_answer,
                        )
                    except (LinkBroken, WebSocketClosed):
                        pass  # the old link dies: what it owed is a gap, if anything
        if new.dead.is_set():
            router.cancel_overlap(old.state)
            delay = self.backoff.failure()
            old.rotate_at = trio.current_time() + delay
            old.shutdown_notice = False
            logger.warning(
                "%s: the replacement link failed; rotating again in %s",
                self.name,
                describe_seconds(delay),
            )
            return old
        old.kill(f"rotated ({why})")
        await old.dead.wait()  # its streams are on the new link (or in a gap) now
        self.rotations += 1
        return new

    async def _wait_until(
        self, done: Callable[[], bool], old: Link, new: Link | None, deadline: float
    ) -> None:
        while trio.current_time() < deadline:
            event = self.switched.event
            if done() or old.dead.is_set() or (new is not None and new.dead.is_set()):
                return
            with trio.move_on_at(deadline):
                await event.wait()

    # -- one link ---------------------------------------------------------------------

    async def _run_link(self, link: Link) -> None:
        try:
            with link.cancel_scope:
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(self._reader, link)
                    nursery.start_soon(self.session.serve, self, link)
                    nursery.start_soon(self._watchdog, link)
        finally:
            # The router first: the other link (if any) takes the streams now.
            self.router.link_lost(link.state, trio.current_time())
            link.closed()
            self.links.remove(link)
            self.bytes_from_closed_links += link.ws.bytes_received
            self.frames_from_closed_links += link.frames
            self.changed.fire()
            with trio.CancelScope(shield=True), trio.move_on_after(self.settings.close_timeout):
                await link.ws.aclose()

    async def _reader(self, link: Link) -> None:
        ws = link.ws
        state = link.state
        streams = self.router.streams
        loads = orjson.loads
        decode_error = orjson.JSONDecodeError
        pongs_count = self.settings.limits_for(self.product).pongs_count
        fragments: list[bytes] = []
        fragment_opcode = TEXT
        turn = self.host.turn
        handed_over = False
        data: bytes | bytearray | memoryview
        try:
            while True:
                frames = await ws.read_frames(checkpointed=handed_over)
                turn.woke = False  # only wakes by this chunk count (a stale one: no waker)
                now = trio.current_time()
                link.last_frame = now
                link.frames += len(frames)
                alive = False  # a message decoded: one store per chunk, not per message
                for frame in frames:
                    if isinstance(frame, bytearray):  # a plain text message: nearly all of them
                        data = frame
                    elif (opcode := frame.opcode) is TEXT and frame.fin:
                        data = frame.data
                    elif opcode is PING:
                        link.last_activity = now
                        if pongs_count:
                            link.pacer.reserve(now)
                        continue
                    elif opcode is TEXT or opcode is BINARY or opcode is CONT:
                        if opcode is not CONT:
                            fragments.clear()
                            fragment_opcode = opcode
                        fragments.append(bytes(frame.data))
                        if not frame.fin:
                            continue
                        data = b"".join(fragments)
                        fragments.clear()
                        if fragment_opcode is BINARY:
                            self.malformed(link, "an unexpected binary message")
                            continue
                    elif opcode is CLOSE:
                        break
                    else:
                        continue  # PONG: counted as a frame above
                    try:
                        msg = loads(data)
                    except decode_error:
                        self.malformed(link, "a message that is not JSON")
                        continue
                    alive = True
                    if type(msg) is dict:
                        stream = streams.get(msg.get("stream"))  # type: ignore[arg-type]
                        if stream is not None:
                            stream.deliver(state, msg, msg.get("data"), now)
                        elif not link.answer(msg.get("id"), msg, now):
                            self.session.on_message(self, link, msg, now)
                    else:
                        self.malformed(link, "a message that is not a JSON object")
                if alive:
                    link.last_activity = now
                handed_over = False
                if self.behind:
                    await self._let_consumers_catch_up()
                elif turn.woke and ws.more_waiting:
                    # Consumers first: they drain this read before the next one (see
                    # ConsumerTurn); the park is this loop's checkpoint.
                    await turn.pass_to_consumers()
                    handed_over = True
        except WebSocketClosed as exc:
            link.close_code = exc.code
            if not link.close_reason:
                link.close_reason = exc.reason
        link.cancel_scope.cancel()

    async def _let_consumers_catch_up(self) -> None:
        """Backpressure for "block" handles that are behind but reading.

        The reader yields to their consumers while they make progress, at most
        ``Settings.backpressure_pause`` per chunk, so the socket (and so the server)
        slows to their pace instead of the backlog growing without bound.  A
        consumer that takes nothing for a while counts as stuck and is not waited
        for again until it has caught up: it must not stall the connection's ping
        answers or the other handles.  One that stays behind for
        ``Settings.slow_consumer_warning`` seconds is reported (at most once a
        minute per handle).
        """
        now = trio.current_time()
        self._warn_slow_consumers(now)
        waiting = {state: (len(state.items), now) for state in self.behind - self.stuck}
        deadline = now + self.settings.backpressure_pause
        idle_rounds = 0
        while waiting and now < deadline:
            await trio.lowlevel.checkpoint()  # runnable consumers take their turn
            now = trio.current_time()
            progressed = False
            for state, (before, since) in list(waiting.items()):
                backlog = len(state.items)
                if state not in self.behind:
                    del waiting[state]
                elif backlog < before:
                    waiting[state] = (backlog, now)
                    progressed = True
                elif now - since >= _STUCK_AFTER:
                    self.stuck.add(state)
                    del waiting[state]
            idle_rounds = 0 if progressed else idle_rounds + 1
            if waiting and idle_rounds >= _IDLE_ROUNDS:
                # Runnable consumers had their turns: the rest await I/O of their own.
                await trio.sleep(_STUCK_AFTER / 50)
                now = trio.current_time()

    def _warn_slow_consumers(self, now: float) -> None:
        after = self.settings.slow_consumer_warning
        for state in self.behind:
            since = state.behind_since
            if since is None or now - since < after or now - state.warned_at < _WARN_EVERY:
                continue
            state.warned_at = now
            logger.warning(
                "%s: its consumer has been behind for %s (%d messages waiting; "
                "overflow=%r holds up to %d before failing the handle)",
                state.short_description,
                describe_seconds(now - since),
                len(state.items),
                state.policy.value,
                state.max_backlog,
            )

    async def _watchdog(self, link: Link) -> None:
        """Replace a link that went silent: no frames, no server pings, no pongs."""
        settings = self.settings
        idle = settings.idle_timeout(self.product)
        silence = settings.limits_for(self.product).ping_interval + idle
        while True:
            now = trio.current_time()
            action, at = liveness(now, link.last_frame, link.last_activity, idle, silence)
            if action == "wait":
                await trio.sleep_until(at)
                continue
            if action == "silent":
                logger.warning(
                    "%s: link %d silent for %s (no data, no server pings); replacing it",
                    self.name,
                    link.number,
                    describe_seconds(now - link.last_activity),
                )
                link.kill("silent")
                return
            delay = link.pacer.reserve(now)
            if delay > 0:
                await trio.sleep(delay)
            sent = trio.current_time()
            try:
                await link.ws.ping(b"trio-binance")
            except WebSocketClosed:
                return
            await trio.sleep(settings.pong_timeout)
            if link.last_frame < sent:
                logger.warning(
                    "%s: link %d did not answer a ping within %s; replacing it",
                    self.name,
                    link.number,
                    describe_seconds(settings.pong_timeout),
                )
                link.kill("ping unanswered")
                return


def _describe_close(link: Link) -> str:
    parts = []
    if link.close_code is not None:
        parts.append(f"code {link.close_code}")
    if link.close_reason:
        parts.append(link.close_reason)
    return ", ".join(parts) or "closed"
