"""Where the threaded managers run user callbacks, and how they report callback errors.

python-binance runs every callback of a threaded manager in one thread, its asyncio
loop's: sync callbacks are called there, ``async def`` callbacks run there as tasks.
Ported programs rely on that (shared state without locks, SQLite connections made in
the first callback, ``asyncio`` calls in async callbacks), so :class:`CallbackLoop`
does the same: one thread per manager running an asyncio event loop, where every
callback of the manager runs.  The Trio thread never runs user code.

:class:`CallbackErrors` keeps a raising callback from flooding the log: the first
error of each exception type is logged with its traceback, the rest are counted and
summarised at most once per interval.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from collections.abc import Coroutine
from typing import Any, Final, TypeVar, final

from ._logs import describe_seconds

__all__ = ["CALLBACK_ERROR_SUMMARY_INTERVAL", "CallbackErrors", "CallbackLoop"]


logger = logging.getLogger("trio_binance")

T = TypeVar("T")

CALLBACK_ERROR_SUMMARY_INTERVAL: Final = 10.0
"""Seconds between two summary lines of one socket's repeated callback errors."""


@final
class CallbackErrors:
    """One socket's callback errors: logged once per exception type, then summarised.

    Pure bookkeeping around the ``trio_binance`` logger; the caller passes the time,
    so it is tested without a clock.  Not thread-safe: used from the callback thread.

    Args:
        socket_name: The socket's name, for log lines.
        interval: Seconds between two summary lines.
    """

    def __init__(self, socket_name: str, interval: float = CALLBACK_ERROR_SUMMARY_INTERVAL) -> None:
        self.socket_name = socket_name
        self.interval = interval
        self.total = 0
        """Every error recorded."""
        self.unreported = 0
        """Errors since the last log line about them."""
        self._seen: set[type[BaseException]] = set()
        self._latest: BaseException | None = None
        self._reported_at: float | None = None
        self._flush_due: float | None = None

    def record(self, exc: BaseException, now: float) -> float | None:
        """Log or count one error raised by the callback at time ``now``.

        The first error of its exception type is logged at ERROR with its traceback.
        Others are counted; once ``interval`` has passed since the last line, the count
        is logged as one summary line.

        Returns:
            When :meth:`flush` should be called to report what is still unreported,
            if a flush is newly due; ``None`` otherwise (nothing pending, or a flush
            already scheduled).
        """
        self.total += 1
        self._latest = exc
        if type(exc) not in self._seen:
            self._seen.add(type(exc))
            logger.error(
                "callback of socket %s raised %s; delivery continues (further errors "
                "are counted and summarised every %s)",
                self.socket_name,
                type(exc).__name__,
                describe_seconds(self.interval),
                exc_info=exc,
            )
            if self._reported_at is None:
                self._reported_at = now
            return None
        self.unreported += 1
        assert self._reported_at is not None
        due = self._reported_at + self.interval
        if now >= due:
            self.flush(now)
            return None
        if self._flush_due is None:
            self._flush_due = due
            return due
        return None

    def flush(self, now: float) -> None:
        """Log one summary line of the errors not yet reported, if any."""
        self._flush_due = None
        if not self.unreported:
            return
        latest = self._latest
        logger.warning(
            "callback of socket %s raised %d more time%s since the last report "
            "(%d in all); latest: %s: %s",
            self.socket_name,
            self.unreported,
            "" if self.unreported == 1 else "s",
            self.total,
            type(latest).__name__,
            latest,
        )
        self.unreported = 0
        self._reported_at = now


@final
class CallbackLoop:
    """A thread running an asyncio event loop: where one manager's callbacks run.

    Made by the manager when it starts and closed when it stops.  ``marker`` is set
    as ``manager`` on the thread-local ``local`` in the loop's thread, so that the
    manager can tell when it is called from one of its own callbacks.

    Args:
        name: The thread's name.
        local: A ``threading.local`` to mark the loop's thread in.
        marker: The value to mark it with (the manager).
    """

    def __init__(self, name: str, local: threading.local, marker: object) -> None:
        self.loop = asyncio.new_event_loop()
        self._local = local
        self._marker = marker
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    @property
    def thread(self) -> threading.Thread:
        """The loop's thread."""
        return self._thread

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Run ``coro`` on the loop; returns a future of its result (thread-safe)."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def close(self) -> None:
        """Stop the loop and wait for its thread.

        A sync callback that is running finishes first; ``async`` callbacks (and any
        task a callback started) that are still pending are cancelled.  Idempotent.
        """
        if self._thread.is_alive():
            try:
                self.loop.call_soon_threadsafe(self.loop.stop)
            except RuntimeError:  # pragma: no cover - closed meanwhile
                pass
            if threading.current_thread() is not self._thread:
                self._thread.join()

    def _run(self) -> None:
        self._local.manager = self._marker
        loop = self.loop
        asyncio.set_event_loop(loop)
        try:
            loop.run_forever()
        finally:
            try:
                pending = asyncio.all_tasks(loop)
                for task in pending:
                    task.cancel()
                if pending:
                    loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
                loop.run_until_complete(loop.shutdown_asyncgens())
            finally:
                asyncio.set_event_loop(None)
                loop.close()
