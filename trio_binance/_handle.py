"""Stream handles: the Trio receive channels users consume.

A handle's buffer is filled synchronously by the connection's reader (never an
``await`` per message) and drained by the consumer.  What happens when the consumer
falls behind is the handle's :class:`Overflow` policy; whatever the policy, the
reader never waits for a consumer to catch up, so one slow handle cannot stall other
handles or the connection's ping answers.  (After a full read it lets the consumers
it has just woken run first, see :class:`ConsumerTurn`: one pass of the scheduler.)
"""

from __future__ import annotations

import collections
import dataclasses
import enum
import logging
import time
from collections.abc import Callable
from typing import Any, final

import trio
from typing_extensions import TypeVar

from ._exceptions import BinanceStreamError, QueueOverflow, StreamUnavailable
from ._gap import Gap
from ._logs import describe_streams

__all__ = ["HandleStats", "Overflow", "StreamHandle", "StreamTotals"]

logger = logging.getLogger("trio_binance")

#: A handle's message type (see trio_binance.messages); ``StreamHandle`` alone is
#: ``StreamHandle[Any]``.
T_co = TypeVar("T_co", covariant=True, default=Any)

# `async for` over a handle yields to the scheduler at least this often.
_YIELD_EVERY = 64


class Overflow(str, enum.Enum):
    """What a handle does when its consumer falls ``max_queue_size`` messages behind.

    Attributes:
        BLOCK: The default; nothing is dropped.  A consumer that is behind but
            reading slows the connection down to its pace (backpressure, up to
            ``Settings.backpressure_pause`` per read); one that stops reading is not
            waited for: its backlog is kept in memory, a warning is logged once it
            has been behind for ``Settings.slow_consumer_warning`` seconds, and the
            handle fails loudly with :class:`~trio_binance.QueueOverflow` only past
            ``Settings.max_backlog``.
        DROP_OLDEST: Keep the latest ``max_queue_size`` messages; older ones are
            dropped, counted, and reported as a :class:`Gap` (``reason="overflow"``).
        RAISE: Stop the handle: the consumer receives what was buffered, then
            :class:`~trio_binance.QueueOverflow`.
    """

    BLOCK = "block"
    DROP_OLDEST = "drop_oldest"
    RAISE = "raise"

    @classmethod
    def coerce(cls, value: Overflow | str) -> Overflow:
        """Accept a member or its value (``"block"``, ``"drop_oldest"``, ``"raise"``)."""
        if value == "keep_latest":
            return cls.DROP_OLDEST
        try:
            return cls(value)
        except ValueError:
            allowed = ", ".join(repr(m.value) for m in cls)
            raise ValueError(
                f"overflow must be one of {allowed} (or 'keep_latest'), got {value!r}"
            ) from None


@final
@dataclasses.dataclass(frozen=True)
class HandleStats:
    """A snapshot of one handle's counters.

    Attributes:
        messages: Messages delivered into the handle's buffer.
        dropped: Messages dropped by the overflow policy.
        duplicates: Messages of its streams dropped as already delivered (same id).
        superseded: Messages of its streams dropped because the other link of an
            overlap (a rotation, a reconnect) delivered them.
        id_resets: Times an id of its streams started over (a new epoch, with a gap).
        gaps: Gap notices recorded (reconnects and overflow episodes).
        backlog: Messages waiting in the buffer now.
        peak_backlog: Largest backlog seen.
        reconnects: Times a stream of this handle was re-subscribed after a drop.
        last_event_time: Largest ``E`` (ms) seen on the handle's streams, if any.
        last_receive_time: Trio time the last message arrived, if any.
        event_lag: Seconds from ``last_event_time`` (Binance's clock) to when that
            message arrived (our wall clock): network delay plus clock skew.  ``None``
            without an event time, or when read outside Trio.
    """

    messages: int
    dropped: int
    duplicates: int
    superseded: int
    id_resets: int
    gaps: int
    backlog: int
    peak_backlog: int
    reconnects: int
    last_event_time: int | None
    last_receive_time: float | None
    event_lag: float | None = None


@final
@dataclasses.dataclass(frozen=True)
class StreamTotals:
    """What a handle's streams say about themselves (for :class:`HandleStats`)."""

    last_event_time: int | None = None
    last_receive_time: float | None = None
    duplicates: int = 0
    superseded: int = 0
    id_resets: int = 0


def _event_lag(event_time: int | None, receive_time: float | None) -> float | None:
    """Wall-clock arrival minus ``E``, derived at read time: nothing on the hot path."""
    if event_time is None or receive_time is None:
        return None
    try:
        age = trio.current_time() - receive_time
    except RuntimeError:
        return None
    return time.time() - age - event_time / 1000


@final
class ConsumerTurn:
    """Lets a reader hand the turn to the consumers it woke before it reads again.

    One per manager, shared by its handles and connections.  After a read that filled
    its buffer (so more data is waiting) and woke consumers, the reader parks here;
    the first woken consumer to run unparks it.  Without this, Trio's scheduler runs
    the reader before those consumers half of the time, and a firehose keeps two or
    more reads' worth of decoded messages alive: with large messages (depth updates)
    that is enough young objects to set off Python's garbage collector, which then
    costs more than everything else together.  The wait is always short: a woken
    task runs in the scheduler's next batch, whatever it does next.
    """

    __slots__ = ("lot", "woke")

    def __init__(self) -> None:
        self.lot = trio.lowlevel.ParkingLot()
        self.woke = False  # set by a handle that woke its consumer, cleared by the reader

    async def pass_to_consumers(self) -> None:
        """Park until a consumer has run.

        Only for a reader that saw :attr:`woke` set by its own deliveries in its
        current step: those consumers run in the scheduler's next batch, and the
        first of them unparks it.  (A stale flag could park it with no one to wake
        it, so the reader clears the flag before each delivery.)
        """
        await self.lot.park()

    def consumer_ran(self) -> None:
        if self.lot:
            self.lot.unpark_all()


class _HandleState:
    """The buffer and status shared by a handle and its clones."""

    __slots__ = (
        "behind_since",
        "capacity",
        "description",
        "drop_episode",
        "dropped",
        "ended",
        "error",
        "gap_log",
        "gap_notices",
        "gaps",
        "id_key",
        "items",
        "last_taken",
        "live",
        "live_timeout",
        "lot",
        "max_backlog",
        "messages",
        "on_behind",
        "on_release",
        "open_clones",
        "peak_backlog",
        "pending",
        "policy",
        "reconnects",
        "short_description",
        "soft_limit",
        "stats_source",
        "turn",
        "unavailable_cause",
        "warned_at",
    )

    def __init__(
        self,
        *,
        description: str,
        max_queue_size: int,
        policy: Overflow,
        max_backlog: int,
        gap_notices: bool,
        live_timeout: float | None,
        turn: ConsumerTurn | None = None,
    ) -> None:
        self.description = description
        self.short_description = describe_streams(description)
        self.turn = ConsumerTurn() if turn is None else turn
        self.items: collections.deque[Any] = collections.deque()
        self.policy = policy
        self.soft_limit = max_queue_size
        self.max_backlog = max(max_backlog, max_queue_size)
        self.capacity = max_queue_size
        self.gap_notices = gap_notices
        self.live_timeout = live_timeout
        self.lot = trio.lowlevel.ParkingLot()
        self.live = trio.Event()
        self.error: BaseException | None = None
        self.ended = False
        self.open_clones = 1
        self.pending = 0
        self.messages = 0
        self.dropped = 0
        self.gaps = 0
        self.reconnects = 0
        self.peak_backlog = 0
        # Since when a "block" consumer has been behind its soft limit (None: not).
        self.behind_since: float | None = None
        self.warned_at = float("-inf")
        #: The payload field holding ids (single-stream handles), for overflow gaps.
        self.id_key: str | None = None
        self.last_taken: Any = None
        self.drop_episode: list[Any] | None = None  # [stream, start, end, count]
        self.gap_log: collections.deque[Gap] = collections.deque(maxlen=256)
        self.on_release: Callable[[], None] = _noop
        # Called when a "block" handle falls behind / catches up: the engine lets the
        # connections feeding it slow down to the consumer's pace (see _connection).
        self.on_behind: Callable[[bool], None] = _noop_flag
        self.stats_source: Callable[[], StreamTotals] = StreamTotals
        self.unavailable_cause: BaseException | None = None

    # -- producer side (called synchronously by the engine) -----------------

    def put(self, item: Any) -> None:
        """Deliver one message (the reader's hot path)."""
        items = self.items
        self.messages += 1
        if len(items) < self.capacity:
            if items:  # consumers park only on an empty buffer: nobody to wake
                items.append(item)
                return
            items.append(item)
            if self.lot:
                self.lot.unpark_all()  # clones too: whoever finds nothing parks again
                self.turn.woke = True
            return
        self._overflow(item)

    def _overflow(self, item: Any) -> None:
        items = self.items
        if self.error is not None or self.ended:
            return
        policy = self.policy
        if policy is Overflow.BLOCK:
            if len(items) < self.max_backlog:
                if self.behind_since is None:
                    self.behind_since = trio.current_time()
                    self.on_behind(True)
                # Back on the fast path until the hard limit; take() restores the
                # soft limit once the consumer has caught up.  (The connection
                # slows down for it, and warns if it stays behind.)
                self.capacity = self.max_backlog
                items.append(item)  # not empty before: no consumer is parked
                return
            self._fail_overflow(len(items))
        elif policy is Overflow.DROP_OLDEST:
            now = trio.current_time()
            evicted = items.popleft()
            while isinstance(evicted, Gap) and items:
                evicted = items.popleft()
            self.dropped += 1
            if self.drop_episode is None:
                self.drop_episode = [self.description, now, now, 1]
            else:
                self.drop_episode[2] = now
                self.drop_episode[3] += 1
            items.append(item)
        else:
            self._fail_overflow(self.capacity)

    def _fail_overflow(self, behind: int) -> None:
        self.on_behind(False)
        self.dropped += 1
        self.error = QueueOverflow(
            f"{self.description}: the consumer fell {behind} messages behind "
            f"(overflow={self.policy.value!r}); the handle was stopped",
            dropped=1,
        )
        logger.error("%s", self.error)
        self.lot.unpark_all()
        self.release()

    def release(self) -> None:
        """Detach from every stream (the last clone closed, or the handle failed)."""
        self.on_release()

    def stream_waiting(self) -> None:
        """One more of this handle's streams is not live yet."""
        self.pending += 1

    def stream_live(self) -> None:
        """One of this handle's streams went live; the handle is live when all are."""
        self.pending -= 1
        if self.pending == 0:
            self.live.set()

    def unavailable(self, cause: BaseException) -> None:
        """A connection attempt for a stream of this waiting handle failed."""
        self.unavailable_cause = cause

    def note_gap(self, gap: Gap) -> None:
        """Record a gap; deliver it in-band if the consumer opted in."""
        self.gaps += 1
        if gap.reason == "reconnect":
            self.reconnects += 1
        self.gap_log.append(gap)
        if self.gap_notices and self.error is None and not self.ended:
            self.items.append(gap)
            if self.lot:
                self.lot.unpark_all()

    def fail(self, error: BaseException) -> None:
        """End the handle with ``error`` after its buffered messages."""
        if self.error is None and not self.ended:
            self.on_behind(False)
            self.error = error
            self.live.set()
            self.lot.unpark_all()

    def end(self) -> None:
        """End the handle cleanly (the manager is closing)."""
        self.on_behind(False)
        self.ended = True
        self.live.set()
        self.lot.unpark_all()

    # -- consumer side -------------------------------------------------------

    def _take_drop_episode(self) -> Gap | None:
        episode = self.drop_episode
        if episode is None:
            return None
        self.drop_episode = None
        self.gaps += 1
        before = self.last_taken
        if isinstance(before, Gap):  # nothing delivered since: the same last message
            last_id, event_time = before.last_id, before.last_event_time
        else:
            last_id = before.get(self.id_key) if self.id_key and type(before) is dict else None
            event_time = before.get("E") if type(before) is dict else None
        gap = Gap(
            stream=episode[0], reason="overflow", start=episode[1], end=episode[2],
            dropped=episode[3], last_id=last_id if type(last_id) is int else None,
            last_event_time=event_time if type(event_time) is int else None,
        )  # fmt: skip
        self.gap_log.append(gap)
        # A notice left at the head of the buffer named a message that was dropped:
        # it now follows the same last message as this gap.
        items = self.items
        i = 0
        while i < len(items) and isinstance(items[i], Gap):
            items[i] = dataclasses.replace(
                items[i], last_id=gap.last_id, last_event_time=gap.last_event_time
            )
            i += 1
        return gap

    def take(self) -> Any:
        if self.drop_episode is not None:
            gap = self._take_drop_episode()
            if self.gap_notices:
                return gap
        items = self.items
        if items:
            # The backlog peaks just before a take, so this is the exact peak.
            if len(items) > self.peak_backlog:
                self.peak_backlog = len(items)
            item = self.last_taken = items.popleft()
            if self.behind_since is not None and len(items) < self.soft_limit // 2:
                self._caught_up()
            return item
        if self.error is not None:
            raise self.error
        if self.ended:
            raise trio.EndOfChannel
        raise trio.WouldBlock

    def take_into(self, batch: list[Any], room: int) -> None:
        """Move up to ``room`` buffered messages (all if negative) onto ``batch``.

        Never raises: an error or the end is left for the next :meth:`take`.
        """
        if self.drop_episode is not None:  # its gap goes first: one at a time
            while room != 0:
                try:
                    batch.append(self.take())
                except (trio.WouldBlock, trio.EndOfChannel, BinanceStreamError):
                    return
                room -= 1
            return
        items = self.items
        if room < 0 or room >= len(items):
            batch.extend(items)
            items.clear()
        else:
            for _ in range(room):
                batch.append(items.popleft())
        if batch:
            self.last_taken = batch[-1]
        if self.behind_since is not None and len(items) < self.soft_limit // 2:
            self._caught_up()

    def _caught_up(self) -> None:
        if self.warned_at >= (self.behind_since or 0.0):
            logger.info("%s: its consumer has caught up", self.short_description)
        self.behind_since = None
        self.capacity = self.soft_limit
        self.on_behind(False)


def _noop() -> None:
    pass


def _noop_flag(flag: bool) -> None:
    pass


@final
class StreamHandle(trio.abc.ReceiveChannel[T_co]):
    """A Trio receive channel of decoded messages for one stream request.

    Do not construct this class directly: every ``*_socket`` method of
    :class:`~trio_binance.BinanceSocketManager` returns one.

    * ``async with handle:`` waits until the stream is live (raising why it cannot
      be) and closes the handle on exit.
    * ``await handle.receive()`` / ``async for msg in handle`` yield messages:
      bare payloads for single-stream handles, ``{"stream", "data"}`` envelopes for
      multiplex handles, plus :class:`Gap` items if the handle has gap notices on.
      ``receive()`` is a full checkpoint.  ``async for`` checks for cancellation at
      every message but yields to other tasks only when it waits or once every 64
      buffered messages, which makes it about twice as fast on a firehose.
    * ``await handle.receive_batch()`` returns every buffered message at once, for
      firehose consumers that want one checkpoint per batch instead of per message.
    * ``clone()`` returns another handle sharing this buffer (each message goes to
      one of the clones, as with Trio channels); the stream is unsubscribed when the
      last clone closes.
    * ``await handle.recv()`` is an alias of ``receive()`` for python-binance users.

    Messages are shared between handles of the same stream: treat them as read-only.

    Typing: the handle is generic in its message type, the
    :mod:`trio_binance.messages` class of its stream: ``bsm.trade_socket(...)`` is a
    ``StreamHandle[Trade]``, or ``StreamHandle[Trade | Gap]`` where gap notices are
    on.  Plain dicts at run time: the types cost nothing.
    """

    def __init__(self, state: _HandleState) -> None:
        self._state = state
        self._closed = False
        self._unyielded = 0  # messages `async for` handed out since its last yield

    def __repr__(self) -> str:
        status = "closed" if self._closed else ("live" if self._state.live.is_set() else "pending")
        return f"<StreamHandle {self._state.description} {status}>"

    @property
    def name(self) -> str:
        """The stream name(s) this handle carries, joined with ``/``."""
        return self._state.description

    @property
    def is_live(self) -> bool:
        """True once every stream of the handle has been confirmed by Binance."""
        return self._state.live.is_set() and self._state.error is None

    @property
    def gaps(self) -> list[Gap]:
        """The most recent gaps (at most 256), oldest first, whether or not in-band."""
        return list(self._state.gap_log)

    @property
    def stats(self) -> HandleStats:
        """A snapshot of this handle's counters (shared with its clones)."""
        st = self._state
        totals = st.stats_source()
        last_event_time, last_receive_time = totals.last_event_time, totals.last_receive_time
        return HandleStats(
            messages=st.messages,
            dropped=st.dropped,
            duplicates=totals.duplicates,
            superseded=totals.superseded,
            id_resets=totals.id_resets,
            gaps=st.gaps + (1 if st.drop_episode is not None else 0),
            backlog=len(st.items),
            peak_backlog=max(st.peak_backlog, len(st.items)),
            reconnects=st.reconnects,
            last_event_time=last_event_time,
            last_receive_time=last_receive_time,
            event_lag=_event_lag(last_event_time, last_receive_time),
        )

    async def wait_live(self) -> None:
        """Wait until every stream of this handle is subscribed and delivering.

        Raises:
            StreamRejected: Binance refused a stream.
            StreamUnavailable: Not live within ``Settings.live_timeout``; the last
                connection error is chained as the cause.
            trio.ClosedResourceError: The handle was closed.
        """
        if self._closed:
            await trio.lowlevel.checkpoint()
            raise trio.ClosedResourceError("this stream handle was closed")
        st = self._state
        timeout = st.live_timeout if st.live_timeout is not None else float("inf")
        with trio.move_on_after(timeout):
            await st.live.wait()
        if st.error is not None:
            raise st.error
        if st.ended and not st.live.is_set():
            raise trio.EndOfChannel
        if not st.live.is_set():
            raise StreamUnavailable(
                f"{st.description} was not live after {st.live_timeout} s"
            ) from st.unavailable_cause

    async def __aenter__(self) -> StreamHandle[T_co]:
        try:
            await self.wait_live()
        except BaseException:
            await self.aclose()
            raise
        return self

    def receive_nowait(self) -> T_co:
        """Return the next buffered message without waiting.

        Raises:
            trio.WouldBlock: Nothing is buffered.
            trio.EndOfChannel: The manager closed and the buffer is drained.
            QueueOverflow: The handle overflowed (after its buffered messages).
            StreamRejected: Binance refused the stream.
        """
        if self._closed:
            raise trio.ClosedResourceError("this stream handle was closed")
        return self._state.take()  # type: ignore[no-any-return]  # (the buffer holds T_co)

    async def receive(self) -> T_co:
        """Wait for and return the next message (see :meth:`receive_nowait`).

        A full Trio checkpoint on every call, as with Trio's own channels.
        """
        await trio.lowlevel.checkpoint_if_cancelled()
        st = self._state
        if st.items or st.drop_episode is not None or st.error is not None or st.ended:
            value = self.receive_nowait()
            await trio.lowlevel.cancel_shielded_checkpoint()
            return value
        if self._closed:
            raise trio.ClosedResourceError("this stream handle was closed")
        while True:
            # Parking is the schedule point; a message found on waking is returned
            # without a second round trip through the scheduler.
            await st.lot.park()
            st.turn.consumer_ran()
            try:
                return self.receive_nowait()
            except trio.WouldBlock:
                continue  # a clone took it first

    recv = receive

    def __aiter__(self) -> StreamHandle[T_co]:
        return self

    async def __anext__(self) -> T_co:
        # `async for` is the common way to consume a handle, so it is cheaper than
        # receive(): every message is a cancellation point, but the loop yields to
        # other tasks only when it waits or after _YIELD_EVERY messages in a row,
        # not once per message (a scheduler round trip costs more than the rest of
        # the hot path together).
        st = self._state
        if st.items and self._unyielded < _YIELD_EVERY and not self._closed:
            await trio.lowlevel.checkpoint_if_cancelled()
            self._unyielded += 1
            return st.take()  # type: ignore[no-any-return]  # (the buffer holds T_co)
        self._unyielded = 1  # receive() yields, then hands out one message
        try:
            return await self.receive()
        except trio.EndOfChannel:
            raise StopAsyncIteration from None

    async def receive_batch(self, max_items: int | None = None) -> list[T_co]:
        """Wait for at least one message, then return everything buffered (up to ``max_items``).

        One checkpoint per batch instead of one per message: the fastest way to drain
        a firehose.  Errors are raised only once the batch before them was returned.

        Raises:
            ValueError: ``max_items`` is less than 1.
        """
        if max_items is not None and max_items < 1:
            raise ValueError(f"max_items must be None or at least 1, got {max_items!r}")
        batch = [await self.receive()]
        self._state.take_into(batch, -1 if max_items is None else max_items - 1)
        return batch

    def clone(self) -> StreamHandle[T_co]:
        """Another handle on the same buffer; the stream stays until all are closed."""
        if self._closed:
            raise trio.ClosedResourceError("this stream handle was closed")
        self._state.open_clones += 1
        return StreamHandle(self._state)

    async def aclose(self) -> None:
        """Close this handle; closing the last clone unsubscribes its streams."""
        if not self._closed:
            self._closed = True
            st = self._state
            st.open_clones -= 1
            if st.open_clones == 0:
                st.release()
                st.lot.unpark_all()
        await trio.lowlevel.checkpoint()
