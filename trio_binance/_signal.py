"""``Signal``: a re-armable wake-up for tasks that wait for "something changed"."""

from __future__ import annotations

import trio

__all__ = ["Signal"]


class Signal:
    """``fire()`` wakes every task waiting on the current :attr:`event`, and fires the
    ``followers`` too.  A waiter takes ``signal.event`` *before* checking its
    condition, then waits on that event: a change in between is never missed."""

    def __init__(self, *followers: Signal) -> None:
        self.event = trio.Event()
        self._followers = followers

    def fire(self) -> None:
        self.event.set()
        self.event = trio.Event()
        for follower in self._followers:
            follower.fire()
