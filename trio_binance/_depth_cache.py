"""Depth-cache handles: a local order book kept in sync from a diff stream and REST.

A :class:`DepthCacheHandle` owns one diff-depth :class:`StreamHandle` and drives
:class:`~trio_binance._order_book.BookSync` from the consumer's own task: no task of
its own, so nothing runs when nobody reads.  Each ``receive()`` applies the next
event; when the book is not in sync (at the start, after a gap, after a refresh) it
waits for an event, fetches a REST snapshot, joins the two, and returns the fresh
book.  The stream handle buffers events meanwhile; it keeps the newest ones when it
is full, and the resulting gap in the ids starts a new snapshot.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, Final, final

import httpx
import trio

from ._backoff import Backoff, WindowBudget
from ._handle import StreamHandle
from ._order_book import BookSync, DepthCache, OutOfSync
from ._rest import BinanceAPIError

__all__ = ["DepthCacheHandle"]

logger = logging.getLogger("trio_binance")

#: HTTP statuses worth retrying: rate limits and server-side failures.
_RETRY_STATUS: Final = frozenset({408, 418, 429})


@final
class DepthCacheHandle(trio.abc.ReceiveChannel[DepthCache]):
    """A local order book of one symbol, kept in sync for you.

    ``async with`` waits until the book is in sync (or raises why it cannot be) and
    closes it on exit.  ``await receive()`` (alias ``recv()``) and ``async for``
    yield the live :class:`DepthCache` after each update, and right after every
    re-synchronisation.  The book only ever shows states that Binance had: when ids
    show that an update was missed, the book is rebuilt from a new snapshot before
    it is returned again (counted in :attr:`resyncs`).

    Created by :meth:`BinanceSocketManager.depth_cache`,
    :meth:`~BinanceSocketManager.futures_depth_cache` and
    :meth:`~BinanceSocketManager.options_depth_cache`.
    """

    def __init__(
        self,
        *,
        stream: StreamHandle,
        sync: BookSync,
        fetch: Callable[[], Awaitable[dict[str, Any]]],
        budget: WindowBudget,
        weight: int,
        backoff: Backoff,
        refresh_interval: float | None,
        description: str,
    ) -> None:
        self._stream = stream
        self._sync = sync
        self._fetch = fetch
        self._budget = budget
        self._weight = weight
        self._backoff = backoff
        self._refresh_interval = refresh_interval
        self._refresh_at = float("inf")
        self._description = description
        self._closed = False
        self._busy = False
        self._synced_once = False
        self.resyncs = 0
        """Times the book was rebuilt after the first sync (gaps and refreshes)."""

    def __repr__(self) -> str:
        return f"<DepthCacheHandle {self._description} synced={self._sync.synced}>"

    @property
    def name(self) -> str:
        """``<stream>+book``, e.g. ``btcusdt@depth@100ms+book``."""
        return f"{self._stream.name}+book"

    @property
    def cache(self) -> DepthCache | None:
        """The book if it is in sync, else ``None``."""
        return self._sync.book

    @property
    def stream(self) -> StreamHandle:
        """The diff-depth stream handle underneath (for its ``stats`` and ``gaps``)."""
        return self._stream

    async def __aenter__(self) -> DepthCacheHandle:
        try:
            await self.wait_synced()
        except BaseException:
            await self.aclose()
            raise
        return self

    async def wait_synced(self) -> DepthCache:
        """Wait until the book is in sync and return it.

        Raises:
            BinanceAPIError: Binance refused the snapshot request (for example an
                unknown symbol); rate limits and server errors are retried.
            StreamRejected, StreamUnavailable: The diff stream cannot be had.
            trio.BusyResourceError: Another task is reading this book.
            trio.ClosedResourceError: The handle was closed.
        """
        await self._enter()
        try:
            await self._stream.wait_live()
            book = self._sync.book
            if book is None:
                return await self._resync()
            await trio.lowlevel.checkpoint()
            return book
        finally:
            self._busy = False

    async def receive(self) -> DepthCache:
        """Wait for the next update of the book and return the (live) book.

        One task reads a book: hand other tasks :meth:`DepthCache.copy` results.

        Raises:
            trio.EndOfChannel: The manager is closing.
            BinanceAPIError: A snapshot request was refused (see :meth:`wait_synced`).
            trio.BusyResourceError: Another task is reading this book.
            trio.ClosedResourceError: The handle was closed.
        """
        await self._enter()
        try:
            return await self._receive()
        finally:
            self._busy = False

    recv = receive

    async def _receive(self) -> DepthCache:
        sync = self._sync
        while True:
            book = sync.book
            if book is None:
                return await self._resync()
            event = await self._stream.receive()
            if trio.current_time() >= self._refresh_at:
                logger.info("%s: periodic refresh of the book", self._description)
                self._restart()
                self._take(event)
                continue
            try:
                if sync.event(event):
                    return book
            except OutOfSync as exc:
                logger.warning("%s: %s; fetching a new snapshot", self._description, exc)
                self._restart()
                self._take(event)
            except (TypeError, ValueError):
                logger.warning(
                    "%s: skipped a malformed depth event; fetching a new snapshot",
                    self._description,
                )
                self._restart()

    async def aclose(self) -> None:
        """Close the book and its stream (unsubscribing it when nothing else uses it)."""
        self._closed = True
        await self._stream.aclose()

    async def _enter(self) -> None:
        if self._closed or self._busy:
            await trio.lowlevel.checkpoint()
            if self._closed:
                raise trio.ClosedResourceError("this depth cache was closed")
            raise trio.BusyResourceError("another task is already reading this depth cache")
        self._busy = True

    def _restart(self) -> None:
        self._sync.reset()
        self.resyncs += 1

    async def _resync(self) -> DepthCache:
        """Buffer the stream, fetch snapshots until one joins it; return the book."""
        sync = self._sync
        if not sync.buffered:
            # Binance's recipe: the stream first, so that the snapshot can be joined.
            self._take(await self._stream.receive())
        while True:
            snapshot = await self._snapshot()
            self._drain()
            try:
                if sync.snapshot(snapshot):
                    break
            except (OutOfSync, ValueError, TypeError) as exc:
                # The buffer has a hole (events dropped) or garbage: start over,
                # pausing so that a stream that keeps failing costs few snapshots.
                delay = self._backoff.failure()
                logger.warning("%s: %s; starting over in %.2f s", self._description, exc, delay)
                sync.reset()
                await trio.sleep(delay)
                self._take(await self._stream.receive())
                continue
            delay = self._backoff.failure()
            logger.info(
                "%s: the snapshot is older than the stream; another in %.2f s",
                self._description,
                delay,
            )
            await trio.sleep(delay)
        self._backoff.reset()
        if self._refresh_interval is not None:
            self._refresh_at = trio.current_time() + self._refresh_interval
        if self._synced_once:
            logger.info("%s: in sync again", self._description)
        self._synced_once = True
        assert sync.book is not None
        return sync.book

    def _take(self, event: Any) -> None:
        try:
            self._sync.event(event)
        except ValueError:
            logger.warning("%s: skipped a malformed depth event", self._description)

    def _drain(self) -> None:
        """Move what the stream buffered during the snapshot into the book's buffer."""
        while True:
            try:
                event = self._stream.receive_nowait()
            except trio.WouldBlock:
                return
            self._take(event)

    async def _snapshot(self) -> dict[str, Any]:
        while True:
            # Every book of the manager shares the product's weight budget: after a
            # reconnect, hundreds of books re-sync without tripping Binance's limit.
            wait = self._budget.delay(trio.current_time(), self._weight)
            if wait > 0:
                logger.info("%s: snapshot waits %.1f s for request weight", self._description, wait)
                await trio.sleep(wait)
                continue
            self._budget.record(trio.current_time(), self._weight)
            try:
                return await self._fetch()
            except BinanceAPIError as exc:
                if exc.status not in _RETRY_STATUS and exc.status < 500:
                    raise
                delay = self._backoff.rejected(exc.status, None)
                reason = f"HTTP {exc.status}"
            except (httpx.HTTPError, ValueError) as exc:
                delay = self._backoff.failure()
                reason = type(exc).__name__
            logger.warning(
                "%s: snapshot request failed (%s); retrying in %.2f s",
                self._description,
                reason,
                delay,
            )
            await trio.sleep(delay)
