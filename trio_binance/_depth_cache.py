"""Depth-cache handles: a local order book kept in sync from a diff stream and REST.

A :class:`DepthCacheHandle` owns one diff-depth :class:`StreamHandle` and drives
:class:`~trio_binance._order_book.BookSync` from the consumer's own task: no task of
its own, so nothing runs when nobody reads, and the book changes only inside
``receive()``.  Events are taken from the stream in batches (one checkpoint per
batch) and applied one per ``receive()``.

Syncing (at the start, after a gap, after a refresh): once the stream is subscribed,
the REST snapshot is requested at once while the stream handle buffers; the buffered
events are then joined to it.  Waits (request weight, backoff, ``Retry-After``)
drain the stream meanwhile, so a long wait holds a few events, not all of them.  The
stream uses the ``block`` overflow policy like every other handle: a book fed faster
than it applies slows the connection down and never loses an event, so it resyncs
only when the ids show a real gap.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Awaitable, Callable, Mapping
from types import MappingProxyType
from typing import Any, Final, Generic, final

import trio

from ._backoff import Backoff, WindowBudget
from ._exceptions import BinanceAPIError, BinanceStreamError, NetworkError
from ._handle import HandleStats, StreamHandle
from ._logs import describe_seconds
from ._order_book import BookSync, DepthCache, NumberT, OutOfSync, ResyncReason, Snapshot

__all__ = ["BookState", "BookStats", "DepthCacheHandle"]

logger = logging.getLogger("trio_binance")

#: HTTP statuses worth retrying: rate limits and server-side failures.
_RETRY_STATUS: Final = frozenset({408, 418, 429})
#: Most events taken from the stream at once (one checkpoint per batch).
_BATCH: Final = 512
#: Buffered events kept while no snapshot request is in flight (see BookSync.trim).
_KEEP_WHILE_WAITING: Final = 1000


@final
@dataclasses.dataclass(frozen=True)
class BookState:
    """Whether a book is in sync, since when, and why not.

    Attributes:
        synced: True while the book is a snapshot joined to the stream.
        since: Trio time at which ``synced`` last changed (or the handle was made).
        reason: Why the book is not in sync: ``"starting"`` before the first sync,
            else the :attr:`last_resync_reason`; ``None`` while in sync.
        detail: What was seen (``"expected update 107, got 108"``); ``None`` while
            in sync.
        resyncs: Times the book was dropped and rebuilt after its first sync.
        last_resync_reason: ``"gap"`` (the ids show a missed update, or that the
            snapshot was older than the stream: ``detail`` says which ids),
            ``"malformed"`` (an event could not be applied) or ``"refresh"``
            (``refresh_interval``); ``None`` if it never resynced.
    """

    synced: bool
    since: float
    reason: str | None
    detail: str | None
    resyncs: int
    last_resync_reason: ResyncReason | None


@final
@dataclasses.dataclass(frozen=True)
class BookStats:
    """A snapshot of one book's counters.

    Attributes:
        updates: Diff events applied to the book.
        skipped: Events already in the book (stale or duplicate), not applied.
        malformed: Events skipped because they are not ``depthUpdate`` events.
        discarded: Buffered events dropped while syncing because no snapshot could
            use them (older than a hole in the ids, or than the next snapshot).
        snapshots: Snapshot requests sent.
        snapshot_failures: Requests that failed (HTTP errors, network, garbage).
        stale_snapshots: Snapshots older than the stream, refused before use.
        resyncs: Times the book was rebuilt after its first sync.
        resync_reasons: Resyncs per reason (see :attr:`BookState.last_resync_reason`).
        stream: The diff stream's :class:`~trio_binance.HandleStats`.
    """

    updates: int
    skipped: int
    malformed: int
    discarded: int
    snapshots: int
    snapshot_failures: int
    stale_snapshots: int
    resyncs: int
    resync_reasons: Mapping[str, int]
    stream: HandleStats


@final
class DepthCacheHandle(trio.abc.ReceiveChannel[DepthCache[NumberT]], Generic[NumberT]):
    """A local order book of one symbol, kept in sync for you.

    * ``async with book:`` waits until the book is in sync (raising why it cannot
      be, e.g. :class:`~trio_binance.BinanceAPIError` for an unknown symbol) and
      closes it on exit.
    * ``await book.receive()`` (alias ``recv()``) and ``async for cache in book``
      yield the live :class:`DepthCache` every time it reaches a new state: the
      first call after a (re)sync returns the freshly synced book at once, every
      other call waits for the next applied update.  So a reader sees every state
      the book goes through, each one a state the exchange had.
    * :attr:`cache` is the live book while in sync, ``None`` otherwise; it changes
      only inside ``receive()`` and :meth:`wait_synced`.
    * :attr:`state` says whether the book is in sync, since when, and why not;
      :attr:`stats` counts updates, snapshots and resyncs by reason.
    * :attr:`stream` is the diff-depth :class:`~trio_binance.StreamHandle` underneath.

    When the ids show a missed update, the book is dropped and rebuilt from a new
    snapshot before it is returned again.  One task reads a book: hand other tasks
    :meth:`DepthCache.copy` results.

    For type checkers the handle is generic in the book's number type, like
    :class:`DepthCache`: ``DepthCacheHandle`` alone is ``DepthCacheHandle[float]``,
    and a book made with ``conv_type=Decimal`` is a ``DepthCacheHandle[Decimal]``.

    Created by :meth:`BinanceSocketManager.depth_cache`,
    :meth:`~BinanceSocketManager.futures_depth_cache` and
    :meth:`~BinanceSocketManager.options_depth_cache`.
    """

    def __init__(
        self,
        *,
        stream: StreamHandle[Any],
        sync: BookSync,
        fetch: Callable[[], Awaitable[Snapshot]],
        budget: WindowBudget,
        weight: int,
        backoff: Backoff,
        refresh_interval: float | None,
        description: str,
        closing: Callable[[], bool] = lambda: False,
    ) -> None:
        self._stream = stream
        self._sync = sync
        self._fetch = fetch
        self._budget = budget
        self._weight = weight
        self._backoff = backoff
        self._refresh_interval = refresh_interval or None  # 0 disables, as in python-binance
        self._refresh_at = float("inf")
        self._description = description
        self._closing = closing
        self._closed = False
        self._busy = False
        self._fresh = False  # synced, and receive() has not returned this sync yet
        self._events: list[Any] = []  # the batch taken from the stream
        self._next = 0  # index of the next event of that batch
        self._since = trio.current_time()
        self._reason: str | None = "starting"
        self._detail: str | None = "no snapshot yet"
        self._last_reason: ResyncReason | None = None
        self._resync_reasons: dict[str, int] = {}
        self._snapshots = 0
        self._snapshot_failures = 0
        self._stale_snapshots = 0
        self._malformed_logged = 0  # sync.malformed when last logged

    def __repr__(self) -> str:
        return f"<DepthCacheHandle {self._description} synced={self._sync.synced}>"

    # -- what the user reads -------------------------------------------------------

    @property
    def name(self) -> str:
        """``<stream>+book``, e.g. ``btcusdt@depth@100ms+book``."""
        return f"{self._stream.name}+book"

    @property
    def cache(self) -> DepthCache[NumberT] | None:
        """The live book while it is in sync, else ``None`` (before the first sync,
        during a resync)."""
        return self._sync.book

    @property
    def stream(self) -> StreamHandle[Any]:
        """The diff-depth stream handle underneath (its ``stats``, ``gaps``)."""
        return self._stream

    @property
    def resyncs(self) -> int:
        """Times the book was dropped and rebuilt after its first sync."""
        return sum(self._resync_reasons.values())

    @property
    def state(self) -> BookState:
        """Whether the book is in sync, since when, and why not."""
        return BookState(
            synced=self._sync.synced,
            since=self._since,
            reason=self._reason,
            detail=self._detail,
            resyncs=self.resyncs,
            last_resync_reason=self._last_reason,
        )

    @property
    def stats(self) -> BookStats:
        """A snapshot of the book's counters."""
        sync = self._sync
        return BookStats(
            updates=sync.applied,
            skipped=sync.skipped,
            malformed=sync.malformed,
            discarded=sync.discarded,
            snapshots=self._snapshots,
            snapshot_failures=self._snapshot_failures,
            stale_snapshots=self._stale_snapshots,
            resyncs=self.resyncs,
            resync_reasons=MappingProxyType(dict(self._resync_reasons)),
            stream=self._stream.stats,
        )

    def get_symbol(self) -> str:
        """The symbol, upper case (python-binance's ``DepthCacheManager.get_symbol``)."""
        return self._sync.symbol

    def get_depth_cache(self) -> DepthCache[NumberT] | None:
        """The book if in sync, else ``None`` (python-binance's ``get_depth_cache``)."""
        return self._sync.book

    # -- channel -----------------------------------------------------------------

    async def __aenter__(self) -> DepthCacheHandle[NumberT]:
        try:
            await self.wait_synced()
        except BaseException:
            await self.aclose()
            raise
        return self

    async def wait_synced(self) -> DepthCache[NumberT]:
        """Wait until the book is in sync and return it.

        The snapshot is requested as soon as the diff stream is subscribed.  This
        does not count as reading the synced state: the next ``receive()`` returns
        it again at once.

        Raises:
            BinanceAPIError: Binance refused the snapshot request (an unknown symbol:
                code ``-1121``); rate limits and server errors are retried.
            StreamRejected, StreamUnavailable: The diff stream cannot be had.
            trio.EndOfChannel: The manager is closing.
            trio.BusyResourceError: Another task is reading this book.
            trio.ClosedResourceError: The handle was closed.
        """
        await self._enter()
        try:
            book = self._sync.book
            if book is None:
                return await self._resync()
            await trio.lowlevel.checkpoint()
            return book
        finally:
            self._busy = False

    async def receive(self) -> DepthCache[NumberT]:
        """Return the live book at its next state.

        Right after a (re)sync (including the first, even if :meth:`wait_synced` or
        ``async with`` already returned it), the synced book at once; otherwise the
        book after the next applied update.  A cancellation point on every call;
        it yields to other tasks once per batch of events taken from the stream.

        Raises:
            trio.EndOfChannel: The manager is closing.
            BinanceAPIError: A snapshot request was refused (see :meth:`wait_synced`).
            QueueOverflow: The stream's backlog passed ``Settings.max_backlog``.
            trio.BusyResourceError: Another task is reading this book.
            trio.ClosedResourceError: The handle was closed.
        """
        if self._closed or self._busy:
            await self._refuse()
        self._busy = True
        try:
            sync = self._sync
            if self._fresh:
                book = sync.book
                if book is not None:
                    self._fresh = False
                    await trio.lowlevel.checkpoint()
                    return book
            events, index = self._events, self._next
            if index < len(events):
                await trio.lowlevel.checkpoint_if_cancelled()
            while True:
                if sync.book is None:
                    book = await self._resync()
                    self._fresh = False
                    return book
                if index == len(events):
                    events = self._events = await self._stream.receive_batch(_BATCH)
                    index = 0
                    if trio.current_time() >= self._refresh_at:
                        self._out_of_sync("refresh", "refresh_interval", logging.INFO)
                        self._next = index
                        continue
                event = events[index]
                index += 1
                self._next = index
                try:
                    if sync.event(event):
                        return sync.book
                except OutOfSync as exc:
                    self._out_of_sync(exc.reason, exc.detail, logging.WARNING)
                else:
                    if sync.malformed != self._malformed_logged:
                        self._log_malformed()
        finally:
            self._busy = False

    recv = receive

    async def aclose(self) -> None:
        """Close the book and its stream (unsubscribing it when nothing else uses it)."""
        self._closed = True
        await self._stream.aclose()

    async def close(self) -> None:
        """Alias of :meth:`aclose` (python-binance's ``DepthCacheManager.close``)."""
        await self.aclose()

    # -- internals -----------------------------------------------------------------

    async def _enter(self) -> None:
        if self._closed or self._busy:
            await self._refuse()
        self._busy = True

    async def _refuse(self) -> None:
        await trio.lowlevel.checkpoint()
        if self._closed:
            raise trio.ClosedResourceError("this depth cache was closed")
        raise trio.BusyResourceError("another task is already reading this depth cache")

    def _out_of_sync(self, reason: ResyncReason, detail: str, level: int) -> None:
        """The book was dropped: say why, once, in the state, the stats and the log."""
        if reason == "refresh":
            self._sync.reset()  # (the sync dropped the book itself for other reasons)
        self._resync_reasons[reason] = self._resync_reasons.get(reason, 0) + 1
        self._last_reason = reason
        self._reason, self._detail = reason, detail
        self._since = trio.current_time()
        self._fresh = False
        logger.log(
            level, "%s: resyncing (%s: %s); fetching a new snapshot", self._description, reason,
            detail,
        )  # fmt: skip

    def _feed(self, events: list[Any]) -> None:
        """Hand events to the (unsynced) sync, which buffers them."""
        sync = self._sync
        for event in events:
            try:
                sync.event(event)
            except OutOfSync:  # pragma: no cover - only a synced book raises
                pass
        if sync.malformed != self._malformed_logged:
            self._log_malformed()

    def _log_malformed(self) -> None:
        count = self._sync.malformed
        logger.warning(
            "%s: skipped %d malformed depth event(s) (not depthUpdate events)",
            self._description,
            count - self._malformed_logged,
        )
        self._malformed_logged = count

    async def _resync(self) -> DepthCache[NumberT]:
        """Fetch snapshots until one joins the buffered stream; return the book."""
        sync = self._sync
        rest, self._events, self._next = self._events[self._next :], [], 0
        self._feed(rest)  # what was taken from the stream and not yet applied
        await self._stream.wait_live()
        while True:
            snapshot = await self._snapshot()
            self._drain()
            try:
                if sync.snapshot(snapshot):
                    break
            except OutOfSync as exc:  # a buffered event could not be applied
                self._snapshot_failures += 1
                delay = self._backoff.failure()
                logger.warning(
                    "%s: %s; another snapshot in %.2f s", self._description, exc.detail, delay
                )
            except (TypeError, ValueError, ArithmeticError):
                self._snapshot_failures += 1
                delay = self._backoff.failure()
                logger.warning(
                    "%s: the snapshot holds a level that is not a number; another in %.2f s",
                    self._description,
                    delay,
                )
            else:
                self._stale_snapshots += 1
                delay = self._backoff.failure()
                logger.info(
                    "%s: the snapshot is older than the stream; another in %.2f s",
                    self._description,
                    delay,
                )
            await self._pause(delay)
        self._backoff.reset()
        now = trio.current_time()
        if self._refresh_interval is not None:
            self._refresh_at = now + self._refresh_interval
        if self._last_reason is not None:
            logger.info(
                "%s: in sync again after %.2f s (%s)",
                self._description,
                now - self._since,
                self._reason,
            )
        self._since = now
        self._reason = self._detail = None
        self._fresh = True
        book = sync.book
        assert book is not None
        return book

    def _drain(self) -> None:
        """Move what the stream buffered during the request into the sync's buffer."""
        events: list[Any] = []
        while True:
            try:
                events.append(self._stream.receive_nowait())
            except (trio.WouldBlock, trio.EndOfChannel, BinanceStreamError):
                break  # an end or an error is raised by the next receive()
        self._feed(events)

    async def _pause(self, delay: float) -> None:
        """Wait ``delay`` seconds, draining the stream meanwhile (few events kept)."""
        await self._pause_until(trio.current_time() + delay)

    async def _pause_until(self, deadline: float) -> None:
        """Wait until ``deadline``, draining the stream meanwhile (few events kept)."""
        sync = self._sync
        with trio.move_on_at(deadline):
            while True:
                self._feed(await self._stream.receive_batch(_BATCH))
                sync.trim(_KEEP_WHILE_WAITING)
        sync.trim(_KEEP_WHILE_WAITING)

    async def _snapshot(self) -> Snapshot:
        """One snapshot, within the product's weight budget, retried on 429/418/5xx."""
        while True:
            if self._closing():
                await trio.lowlevel.checkpoint()
                raise trio.EndOfChannel
            # Every book of the manager shares the product's weight budget: after a
            # reconnect, hundreds of books re-sync without tripping Binance's limit.
            now = trio.current_time()
            ready_at = self._budget.ready_at(now, self._weight)
            if ready_at > now:
                logger.info(
                    "%s: snapshot waits %.1f s for request weight",
                    self._description,
                    ready_at - now,
                )
                await self._pause_until(ready_at)
                continue
            self._budget.record(trio.current_time(), self._weight)
            self._snapshots += 1
            try:
                return await self._fetch()
            except BinanceAPIError as exc:
                if exc.status not in _RETRY_STATUS and exc.status < 500:
                    raise
                retry_after = exc.retry_after
                if retry_after is not None:
                    # The server said when: no book of this product asks before then.
                    self._budget.hold_until(trio.current_time() + retry_after)
                    delay = max(retry_after, self._backoff.failure())
                else:
                    delay = self._backoff.rejected(exc.status, None)
                reason = f"HTTP {exc.status}"
            except (NetworkError, ValueError) as exc:
                if self._closing():  # the manager closed the HTTP client under us
                    raise trio.EndOfChannel from None
                delay = self._backoff.failure()
                cause = exc.__cause__ if isinstance(exc, NetworkError) else exc
                reason = type(cause or exc).__name__
            self._snapshot_failures += 1
            logger.warning(
                "%s: snapshot request failed (%s); retrying in %s",
                self._description,
                reason,
                describe_seconds(delay),
            )
            await self._pause(delay)
