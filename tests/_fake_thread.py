"""The fake exchange on 127.0.0.1 in a Trio thread of its own, for the threaded managers.

The threaded managers run Trio in a thread of their own, so the fake cannot share
their run: it listens on loopback in another thread, and tests reach it with
``trio.from_thread``.  Waits are bounded by :data:`WAIT` seconds.
"""

from __future__ import annotations

import dataclasses
import queue
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import trio

from trio_binance.testing import FakeBinance, open_fake_binance

WAIT = 5.0  # the longest any condition is waited for

T = TypeVar("T")


@dataclasses.dataclass(frozen=True)
class FakeInThread:
    """The fake exchange running in its own Trio thread, seen from the test's thread."""

    fake: FakeBinance
    token: trio.lowlevel.TrioToken

    def wait_until(self, predicate: Callable[[FakeBinance], bool]) -> None:
        """Wait (in the fake's thread, at most WAIT seconds) until ``predicate(fake)``."""

        async def wait() -> None:
            with trio.fail_after(WAIT):
                await self.fake.wait_until(lambda: predicate(self.fake))

        trio.from_thread.run(wait, trio_token=self.token)

    def call(self, function: Callable[[FakeBinance], T]) -> T:
        """Run ``function(fake)`` in the fake's thread (to publish, say); its result."""
        return trio.from_thread.run_sync(function, self.fake, trio_token=self.token)


@contextmanager
def fake_in_thread(
    setup: Callable[[FakeBinance], object] = lambda fake: None,
) -> Iterator[FakeInThread]:
    """A fake exchange on 127.0.0.1 in its own thread; ``setup(fake)`` runs first there."""
    handoff: queue.Queue[tuple[FakeInThread, trio.Event] | BaseException] = queue.Queue()

    async def serve() -> None:
        async with open_fake_binance(listen=True, host="127.0.0.1") as fake:
            setup(fake)
            done = trio.Event()
            handoff.put((FakeInThread(fake, trio.lowlevel.current_trio_token()), done))
            await done.wait()

    def run() -> None:
        try:
            trio.run(serve)
        except BaseException as exc:  # pragma: no cover - reported to the test
            handoff.put(exc)

    thread = threading.Thread(target=run, name="fake exchange", daemon=True)
    thread.start()
    got = handoff.get(timeout=WAIT)
    if isinstance(got, BaseException):  # pragma: no cover
        raise got
    in_thread, done = got
    try:
        yield in_thread
    finally:
        try:
            trio.from_thread.run_sync(done.set, trio_token=in_thread.token)
        except trio.RunFinishedError:  # pragma: no cover - the fake failed
            pass
        thread.join(WAIT)
        assert not thread.is_alive()
        if not handoff.empty():  # pragma: no cover - the fake failed during the test
            failure = handoff.get()
            assert isinstance(failure, BaseException)
            raise failure
