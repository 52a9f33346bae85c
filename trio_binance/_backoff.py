"""Pure schedules: reconnect backoff, sliding-window budgets, control pacing.

Nothing here sleeps or reads a clock: callers pass ``now`` in and sleep for what
they are told, so every rule is tested synchronously.
"""

from __future__ import annotations

import collections
import random
from typing import final

__all__ = ["Backoff", "Pacer", "WindowBudget", "rotation_delay"]


@final
class Backoff:
    """Capped, jittered exponential backoff, longer after HTTP 418/429 rejects.

    The n-th consecutive failure waits a uniform random time in ``[d/2, d]`` with
    ``d = min(maximum, initial * 2**(n-1))``.  A rejected handshake (429, 418) waits at
    least the server's ``Retry-After``, at least ``reject``/``ban`` seconds, doubling
    per consecutive reject up to ``reject_max``.
    """

    def __init__(
        self,
        *,
        initial: float,
        maximum: float,
        reject: float,
        ban: float,
        reject_max: float,
        rng: random.Random | None = None,
    ) -> None:
        self._initial = initial
        self._maximum = maximum
        self._reject = reject
        self._ban = ban
        self._reject_max = reject_max
        self._rng = rng or random.Random()
        self.failures = 0
        self.rejects = 0

    def reset(self) -> None:
        """Forget past failures (after a healthy connection)."""
        self.failures = 0
        self.rejects = 0

    def failure(self) -> float:
        """Record a failed attempt (network error, drop); return the delay to wait."""
        self.failures += 1
        ceiling = min(self._maximum, self._initial * 2.0 ** min(self.failures - 1, 62))
        return float(self._rng.uniform(ceiling / 2, ceiling))

    def rejected(self, status: int, retry_after: float | None) -> float:
        """Record a rejected handshake with HTTP ``status``; return the delay to wait."""
        if status not in (418, 429):
            # Other 4xx/5xx: an ordinary failure, but never shorter than Retry-After.
            return max(self.failure(), retry_after or 0.0)
        self.failures += 1
        self.rejects += 1
        base = self._ban if status == 418 else self._reject
        delay = min(self._reject_max, base * 2.0 ** min(self.rejects - 1, 62))
        return max(delay, retry_after or 0.0)


@final
class WindowBudget:
    """At most ``limit`` units (connection attempts, request weight) in any sliding
    ``window`` seconds."""

    def __init__(self, limit: int, window: float) -> None:
        if limit < 1:
            raise ValueError("a budget's limit must be at least 1")
        self._limit = limit
        self._window = window
        # (when it leaves the window, units), oldest first
        self._spent: collections.deque[tuple[float, int]] = collections.deque()
        self._used = 0
        self._held_until = float("-inf")

    def ready_at(self, now: float, cost: int = 1) -> float:
        """When spending ``cost`` fits the budget: ``now`` if it fits now, else later.

        A cost above the whole limit waits for an empty window, then goes.  Nothing
        goes before a time given to :meth:`hold_until`.  The result is an absolute
        time and the test for "fits" compares with the same times, so a caller that
        sleeps until it is then within budget (no floating-point near miss that
        would ask for another zero-length wait, forever).
        """
        if now < self._held_until:
            return self._held_until
        spent = self._expire(now)
        excess = self._used + min(cost, self._limit) - self._limit
        if excess <= 0:
            return now
        for leaves_at, amount in spent:  # the oldest entries leave the window first
            excess -= amount
            if excess <= 0:
                return leaves_at
        raise AssertionError("unreachable: the window holds more than the excess")

    def record(self, now: float, cost: int = 1) -> None:
        """Count ``cost`` spent at ``now``."""
        self._spent.append((now + self._window, cost))
        self._used += cost

    def hold_until(self, when: float) -> None:
        """Spend nothing before ``when`` (a server's ``Retry-After``)."""
        self._held_until = max(self._held_until, when)

    def used(self, now: float) -> int:
        """Units counted in the window ending at ``now``."""
        self._expire(now)
        return self._used

    def _expire(self, now: float) -> collections.deque[tuple[float, int]]:
        """Forget what left the window ending at ``now``; return what is left."""
        spent = self._spent
        while spent and spent[0][0] <= now:
            self._used -= spent.popleft()[1]
        return spent


@final
class Pacer:
    """Spaces messages at least ``interval`` seconds apart (a one-token bucket).

    ``reserve`` books the next slot and returns how long to wait for it, so messages
    booked by several tasks go out in booking order, evenly spaced.
    """

    def __init__(self, interval: float) -> None:
        self._interval = interval
        self._next = float("-inf")

    def reserve(self, now: float) -> float:
        """Book a slot for one message; return the wait before sending it."""
        slot = max(now, self._next)
        self._next = slot + self._interval
        return slot - now


def rotation_delay(max_lifetime: float, margin: float, jitter: float, rng: random.Random) -> float:
    """Seconds after opening at which a connection should be replaced."""
    return max_lifetime - margin - rng.uniform(0.0, jitter)
