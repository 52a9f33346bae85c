"""A combined-stream connection that never loses data silently.

A :class:`Connection` is a logical slot: the set of streams of one route that share
a socket, kept alive forever.  Underneath it runs one :class:`Link` (one physical
WebSocket session) at a time, or two while rotating.  Task tree, all inside the
manager's nursery::

    Connection.run                      supervisor: connect, back off, rotate
    └── Connection._run_link (per link)
        ├── _reader                     bytes -> frames -> Subscription.deliver()
        ├── _sync                       SUBSCRIBE / UNSUBSCRIBE to match ``subs``
        └── _watchdog                   silence and unanswered-ping detection

The reader handles every frame of a received chunk before it awaits again and never
waits for a consumer, so server pings are always answered promptly.
"""

from __future__ import annotations

import logging
import random
from typing import TYPE_CHECKING, Any, Literal

import httpx
import orjson
import trio

from ._backoff import Pacer, rotation_delay
from ._endpoints import Product
from ._exceptions import BinanceStreamError
from ._protocol import control_error, encode_request
from ._settings import Settings
from ._streams import connection_url
from ._websocket import (
    BINARY,
    CLOSE,
    CONT,
    PING,
    TEXT,
    HandshakeRejected,
    WebSocket,
    WebSocketClosed,
    open_websocket,
)

if TYPE_CHECKING:
    from ._engine import Engine
    from ._handle import _HandleState
    from ._subscription import Subscription

__all__ = ["Connection", "Link", "Signal"]

logger = logging.getLogger("trio_binance")

# A "block" consumer that takes nothing for this long counts as stuck, not slow.
_STUCK_AFTER = 0.05
# Scheduler rounds without progress before the reader stops spinning and sleeps.
_IDLE_ROUNDS = 3


class Signal:
    """A re-armable wake-up: ``fire()`` wakes every task waiting on the current event,
    and fires the ``followers`` too."""

    def __init__(self, *followers: Signal) -> None:
        self.event = trio.Event()
        self._followers = followers

    def fire(self) -> None:
        self.event.set()
        self.event = trio.Event()
        for follower in self._followers:
            follower.fire()


class _LinkBroken(Exception):
    """A link stopped answering requests; it is replaced."""


class _Pending:
    __slots__ = ("done", "msg")

    def __init__(self) -> None:
        self.done = trio.Event()
        self.msg: dict[str, Any] = {}


class Link:
    """One physical WebSocket session of a :class:`Connection`."""

    def __init__(self, conn: Connection, ws: WebSocket, number: int, now: float) -> None:
        self.conn = conn
        self.ws = ws
        self.number = number
        self.opened_at = now
        self.last_frame = now
        self.last_activity = now
        self.rotate_at = now + rotation_delay(
            conn.settings.max_lifetime,
            conn.settings.rotation_margin,
            conn.settings.rotation_jitter,
            conn.rng,
        )
        self.subscribed: set[str] = set()
        self.requested: set[str] = set()
        self.confirmed: set[Subscription] = set()
        self.switched: set[str] = set()
        self.confirmed_at: dict[str, float] = {}
        self.pending: dict[int, _Pending] = {}
        self.pacer = Pacer(conn.settings.control_interval(conn.product))
        self.dead = trio.Event()
        self.cancel_scope = trio.CancelScope()
        self.shutdown_notice = False
        self.close_code: int | None = None
        self.close_reason = ""
        self.frames = 0
        self.malformed = 0

    def __repr__(self) -> str:
        return f"<Link {self.conn.name}#{self.number}>"

    def kill(self, reason: str) -> None:
        """Abandon this link (it is closed and, if still needed, replaced)."""
        if not self.close_reason:
            self.close_reason = reason
        self.cancel_scope.cancel()


class Connection:
    """Streams of one route sharing a socket, reconnected and rotated forever."""

    def __init__(self, engine: Engine, product: Product, route_url: str, number: int) -> None:
        self.engine = engine
        self.settings: Settings = engine.settings
        self.rng: random.Random = engine.rng
        self.product = product
        self.route_url = route_url
        self.url = connection_url(route_url)
        self.number = number
        self.name = f"{product.value}:{route_url.rsplit('/', 1)[-1] or product.value}#{number}"
        self.subs: dict[str, Subscription] = {}
        # `switched`: a stream moved to a newer link, or a link confirmed streams (what
        # a rotation waits for); every `changed` (streams, link deaths) fires it too.
        self.switched = Signal()
        self.changed = Signal(self.switched)
        # "block" handles fed by this connection that are behind their soft limit.
        self.behind: set[_HandleState] = set()
        self.stuck: set[_HandleState] = set()
        self.links: list[Link] = []
        self.closing = False
        self.backoff = self.settings.backoff(self.rng)
        self.connects = 0
        self.reconnects = 0
        self.rotations = 0
        self.rejects = 0
        self.malformed = 0
        self.bytes_from_closed_links = 0
        self.frames_from_closed_links = 0
        self._link_numbers = 0
        self._nursery: trio.Nursery | None = None

    def __repr__(self) -> str:
        return f"<Connection {self.name} streams={len(self.subs)} links={len(self.links)}>"

    # -- supervisor ------------------------------------------------------------

    async def run(self) -> None:
        """Keep the connection's streams delivered until none is left."""
        try:
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                await self._supervise()
                nursery.cancel_scope.cancel()
        finally:
            self.closing = True
            self.engine.connection_ended(self)

    async def _supervise(self) -> None:
        while self.subs:
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
                replacement = await self._rotate(link)
                if replacement is None:
                    return
                link = replacement
            if trio.current_time() - link.opened_at >= self.settings.healthy_after:
                self.backoff.reset()
            self.reconnects += 1
            delay = self.backoff.failure()
            logger.warning(
                "%s: connection lost (%s); reconnecting in %.2f s",
                self.name,
                _describe_close(link),
                delay,
            )
            await self._sleep_unless_empty(delay)

    async def _watch(self, link: Link) -> Literal["empty", "dead", "rotate"]:
        while True:
            event = self.changed.event
            if not self.subs:
                return "empty"
            if link.dead.is_set():
                return "dead"
            if link.shutdown_notice or trio.current_time() >= link.rotate_at:
                return "rotate"
            with trio.move_on_at(link.rotate_at):
                await event.wait()

    async def _sleep_unless_empty(self, delay: float) -> None:
        deadline = trio.current_time() + delay
        while self.subs and trio.current_time() < deadline:
            event = self.changed.event
            with trio.move_on_at(deadline):
                await event.wait()

    async def _connect(self) -> Link | None:
        """Open a new link (retrying with backoff); ``None`` if no streams are left."""
        assert self._nursery is not None
        settings = self.settings
        while self.subs:
            await self.engine.connection_attempt()
            if not self.subs:
                return None
            try:
                url = await self._resolve_url()
                with trio.fail_after(settings.connect_timeout):
                    ws = await open_websocket(
                        self.engine.transport,
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
                    "%s: handshake rejected with HTTP %d; backing off %.1f s",
                    self.name,
                    exc.status,
                    delay,
                )
                self._connect_failed(exc, rejected=exc.status in (418, 429))
            except (
                OSError,
                WebSocketClosed,
                trio.TooSlowError,
                trio.BrokenResourceError,
                httpx.HTTPError,
                BinanceStreamError,
            ) as exc:
                delay = self.backoff.failure()
                logger.warning(
                    "%s: connecting failed (%s: %s); retrying in %.2f s",
                    self.name,
                    type(exc).__name__,
                    exc,
                    delay,
                )
                self._connect_failed(exc, rejected=False)
            else:
                self._link_numbers += 1
                link = Link(self, ws, self._link_numbers, trio.current_time())
                self.links.append(link)
                self.connects += 1
                logger.info("%s: connected (link %d)", self.name, link.number)
                self._nursery.start_soon(self._run_link, link)
                return link
            await self._sleep_unless_empty(delay)
        return None

    def _connect_failed(self, exc: BaseException, *, rejected: bool) -> None:
        for sub in self.subs.values():
            for state in sub.waiting:
                state.unavailable_cause = exc
            if rejected and sub.gap_start is not None:
                sub.gap_reason = "rejected"

    async def _rotate(self, old: Link) -> Link | None:
        """Make-before-break: bring up a replacement, switch consumers, retire ``old``."""
        why = "serverShutdown" if old.shutdown_notice else "lifetime"
        logger.info("%s: rotating link %d (%s)", self.name, old.number, why)
        new = await self._connect()
        if new is None:
            return None
        deadline = trio.current_time() + self.settings.rotation_overlap
        quiet = self.settings.rotation_quiet
        while trio.current_time() < deadline:
            progress = self.switched.event
            if old.dead.is_set() or new.dead.is_set():
                break
            now = trio.current_time()
            wake = deadline
            for name, sub in self.subs.items():
                if name in new.switched:
                    continue
                confirmed = new.confirmed_at.get(name)
                if confirmed is None:
                    break
                # A stream silent since the new link took it has nothing in flight.
                quiet_since = max(confirmed, sub.last_time or confirmed)
                if now - quiet_since < quiet:
                    wake = min(wake, quiet_since + quiet)
                    break
            else:
                break
            with trio.move_on_at(wake):
                await progress.wait()
        if not new.dead.is_set():
            for sub in self.subs.values():
                if sub.source is old and sub.name in new.subscribed:
                    sub.source = new
        old.kill(f"rotated ({why})")
        self.rotations += 1
        return new

    # -- one link ----------------------------------------------------------------

    async def _run_link(self, link: Link) -> None:
        try:
            with link.cancel_scope:
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(self._reader, link)
                    nursery.start_soon(self._serve_link, link)
                    nursery.start_soon(self._watchdog, link)
        finally:
            link.dead.set()
            for pending in link.pending.values():
                pending.done.set()
            with trio.CancelScope(shield=True), trio.move_on_after(self.settings.close_timeout):
                await link.ws.aclose()
            self.links.remove(link)
            self.bytes_from_closed_links += link.ws.bytes_received
            self.frames_from_closed_links += link.frames
            now = trio.current_time()
            for name in link.subscribed:
                sub = self.subs.get(name)
                if sub is not None:
                    others = any(name in other.subscribed for other in self.links)
                    sub.link_lost(link, now, others)
            self.changed.fire()

    async def _reader(self, link: Link) -> None:
        ws = link.ws
        subs = self.subs
        loads = orjson.loads
        decode_error = orjson.JSONDecodeError
        pongs_count = self.settings.limits_for(self.product).pongs_count
        fragments: list[bytes] = []
        fragment_opcode = TEXT
        turn = self.engine.turn
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
                            self._malformed(link, "an unexpected binary message")
                            continue
                    elif opcode is CLOSE:
                        break
                    else:
                        continue  # PONG: counted as a frame above
                    try:
                        msg = loads(data)
                    except decode_error:
                        self._malformed(link, "a message that is not JSON")
                        continue
                    alive = True
                    if type(msg) is dict:
                        sub = subs.get(msg.get("stream"))  # type: ignore[arg-type]
                        if sub is not None:
                            sub.deliver(msg, msg.get("data"), link, now)
                            continue
                        self._on_message(link, msg)
                    else:
                        self._malformed(link, "a message that is not a JSON object")
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
        answers or the other handles.
        """
        now = trio.current_time()
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

    def _malformed(self, link: Link, what: str) -> None:
        link.malformed += 1
        self.malformed += 1
        level = logging.WARNING if link.malformed <= 3 else logging.DEBUG
        logger.log(level, "%s: skipped %s from the server", self.name, what)

    # -- hooks a connection of another kind (user data) overrides ------------------

    async def _resolve_url(self) -> str:
        """The URL to dial for the next link (a user-data stream embeds a fresh key)."""
        await trio.lowlevel.checkpoint()
        return self.url

    async def _serve_link(self, link: Link) -> None:
        """Runs beside the reader for the link's lifetime: here, live subscriptions."""
        await self._sync(link)

    def _on_message(self, link: Link, msg: dict[str, Any]) -> None:
        """A JSON object that is not an event of a subscribed stream."""
        self._control(link, msg)

    def _control(self, link: Link, msg: dict[str, Any]) -> None:
        if self._resolve(link, msg, "result", "error", "code"):
            return
        stream = msg.get("stream")
        data = msg.get("data") if stream is not None else msg
        if isinstance(data, dict) and data.get("e") == "serverShutdown":
            logger.info("%s: serverShutdown received on link %d", self.name, link.number)
            link.shutdown_notice = True
            self.changed.fire()
            return
        if stream is not None:
            return  # a stream unsubscribed a moment ago: its last messages are dropped
        self._malformed(link, "an unrecognised message")

    async def _sync(self, link: Link) -> None:
        """Make the link's subscriptions match ``subs``, forever."""
        batch_size = self.settings.subscribe_batch
        try:
            while True:
                event = self.changed.event
                to_add: list[str] = []
                for name, sub in self.subs.items():
                    if name in link.subscribed:
                        if sub not in link.confirmed:
                            link.confirmed.add(sub)
                            sub.confirmed(link)
                    elif name not in link.requested:
                        to_add.append(name)
                if to_add:
                    await self._subscribe(link, to_add[:batch_size])
                    continue
                to_remove = [name for name in link.subscribed if name not in self.subs]
                if to_remove:
                    batch = to_remove[:batch_size]
                    link.subscribed.difference_update(batch)
                    error = await self._request(link, "UNSUBSCRIBE", batch)
                    if error is not None:
                        logger.warning("%s: UNSUBSCRIBE refused: %s", self.name, error[1])
                    continue
                await event.wait()
        except (WebSocketClosed, _LinkBroken) as exc:
            link.kill(str(exc))

    async def _subscribe(self, link: Link, names: list[str]) -> None:
        link.requested.update(names)
        try:
            error = await self._request(link, "SUBSCRIBE", names)
        finally:
            link.requested.difference_update(names)
        if error is None:
            link.subscribed.update(names)
            now = trio.current_time()
            self.switched.fire()  # a rotation may be waiting for these confirmations
            for name in names:
                link.confirmed_at[name] = now
                sub = self.subs.get(name)
                if sub is not None:
                    link.confirmed.add(sub)
                    sub.confirmed(link)
            return
        if len(names) > 1:
            # One bad stream fails the whole request: find it by asking one by one.
            for name in names:
                if name in self.subs:
                    await self._subscribe(link, [name])
            return
        sub = self.subs.get(names[0])
        if sub is not None:
            logger.warning("%s: Binance refused %r: %s", self.name, names[0], error[1])
            self.engine.reject(sub, *error)

    async def _request(
        self, link: Link, method: str, params: list[str]
    ) -> tuple[int | None, str] | None:
        request_id = self.engine.next_request_id()
        frame = encode_request(method, params, request_id)
        return control_error(await self._exchange(link, request_id, frame, method))

    async def _exchange(
        self, link: Link, request_id: int, frame: bytes, method: str
    ) -> dict[str, Any]:
        """Send one request frame (paced) and wait for the response with its id."""
        pending = _Pending()
        link.pending[request_id] = pending
        delay = link.pacer.reserve(trio.current_time())
        if delay > 0:
            await trio.sleep(delay)
        await link.ws.send_text(frame)
        with trio.move_on_after(self.settings.request_timeout):
            await pending.done.wait()
        if not pending.msg:
            link.pending.pop(request_id, None)
            raise _LinkBroken(f"no answer to {method} within {self.settings.request_timeout} s")
        return pending.msg

    @staticmethod
    def _resolve(link: Link, msg: dict[str, Any], *keys: str) -> bool:
        """If ``msg`` answers one of the link's requests, hand it over; say whether it did."""
        request_id = msg.get("id")
        if request_id is None or not any(key in msg for key in keys):
            return False
        pending = link.pending.pop(request_id, None)
        if pending is not None:
            pending.msg = msg
            pending.done.set()
        return True

    async def _watchdog(self, link: Link) -> None:
        """Replace a link that went silent: no frames, no server pings, no pongs."""
        settings = self.settings
        idle = settings.idle_timeout(self.product)
        silence = settings.limits_for(self.product).ping_interval + idle
        while True:
            now = trio.current_time()
            if now - link.last_activity >= silence:
                logger.warning(
                    "%s: link %d silent for %.0f s (no data, no server pings); replacing it",
                    self.name,
                    link.number,
                    now - link.last_activity,
                )
                link.kill("silent")
                return
            if now - link.last_frame >= idle:
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
                        "%s: link %d did not answer a ping within %.0f s; replacing it",
                        self.name,
                        link.number,
                        settings.pong_timeout,
                    )
                    link.kill("ping unanswered")
                    return
                continue
            await trio.sleep_until(min(link.last_frame + idle, link.last_activity + silence))


def _describe_close(link: Link) -> str:
    parts = []
    if link.close_code is not None:
        parts.append(f"code {link.close_code}")
    if link.close_reason:
        parts.append(link.close_reason)
    return ", ".join(parts) or "closed"
