"""One link: one WebSocket session of a connection, and the requests in flight on it.

A :class:`Link` only moves bytes and wakes tasks.  What its frames mean is decided
by the connection's :class:`~trio_binance._router.Router` (the link's
:class:`~trio_binance._router.LinkState` is the router's view of it) and by the
connection's session.

Requests: :meth:`Link.request` sends one frame (paced under the server's
incoming-message limit) and waits for the answer with its id.  The answer is handed
over by the connection's reader, which calls the request's ``on_answer`` callback
right where the answer arrived, between the frames around it, before waking the
requesting task: that is how a confirmation takes effect before the data behind it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final, Literal, NamedTuple

import trio

from ._backoff import Pacer
from ._router import LinkState
from ._websocket import WebSocket

__all__ = ["Link", "LinkBroken", "Liveness", "OnAnswer", "liveness"]

#: Called with the answer and the time it arrived, in the reader's task.
OnAnswer = Callable[[dict[str, Any], float], None]
_NO_ANSWER: Final[dict[str, Any]] = {}


class LinkBroken(Exception):
    """A link stopped answering requests; it is replaced."""


class Liveness(NamedTuple):
    """What a link's watchdog does now (see :func:`liveness`)."""

    action: Literal["silent", "ping", "wait"]
    at: float
    """When the action became due (``"silent"``, ``"ping"``) or falls due (``"wait"``)."""


def liveness(
    now: float, last_frame: float, last_activity: float, idle: float, silence: float
) -> Liveness:
    """The watchdog's decision at ``now``.

    ``"silent"``: nothing at all (no frame, no server ping) for ``silence`` seconds;
    replace the link.  ``"ping"``: no frame for ``idle`` seconds; ping the server.
    ``"wait"``: sleep until ``at``, when one of those falls due.

    Every test compares ``now`` with the very deadline a ``"wait"`` sleeps until
    (never ``now - last`` with a duration: in floating point, ``now - last < idle``
    and ``last + idle <= now`` can both hold), so a wait always ends in progress:
    ``at > now``, and at ``at`` the decision is no longer ``"wait"``.
    """
    silent_at = last_activity + silence
    if now >= silent_at:
        return Liveness("silent", silent_at)
    ping_at = last_frame + idle
    if now >= ping_at:
        return Liveness("ping", ping_at)
    return Liveness("wait", min(ping_at, silent_at))


class _Pending:
    __slots__ = ("answer", "done", "on_answer")

    def __init__(self, on_answer: OnAnswer | None) -> None:
        self.done = trio.Event()
        self.answer: dict[str, Any] = _NO_ANSWER
        self.on_answer = on_answer


class Link:
    """One WebSocket session of a connection (two exist while rotating)."""

    def __init__(
        self,
        *,
        name: str,
        ws: WebSocket,
        state: LinkState,
        control_interval: float,
        rotate_at: float,
        now: float,
    ) -> None:
        self.name = name
        self.ws = ws
        self.state = state
        self.number = state.number
        self.opened_at = now
        self.last_frame = now
        self.last_activity = now
        self.rotate_at = rotate_at
        self.pacer = Pacer(control_interval)
        self.pending: dict[int, _Pending] = {}
        self.dead = trio.Event()
        self.cancel_scope = trio.CancelScope()
        self.shutdown_notice = False
        self.close_code: int | None = None
        self.close_reason = ""
        self.frames = 0
        self.malformed = 0

    def __repr__(self) -> str:
        return f"<Link {self.name}#{self.number}>"

    def kill(self, reason: str) -> None:
        """Abandon this link (it is closed and, if still needed, replaced)."""
        if not self.close_reason:
            self.close_reason = reason
        self.cancel_scope.cancel()

    async def request(
        self,
        request_id: int,
        frame: bytes,
        *,
        what: str,
        answer_within: float,
        on_answer: OnAnswer | None = None,
    ) -> dict[str, Any]:
        """Send ``frame`` (paced) and return the answer carrying ``request_id``.

        Raises:
            LinkBroken: No answer within ``answer_within`` seconds.
            WebSocketClosed: The link closed.
        """
        pending = _Pending(on_answer)
        self.pending[request_id] = pending
        try:
            delay = self.pacer.reserve(trio.current_time())
            if delay > 0:
                await trio.sleep(delay)
            await self.ws.send_text(frame)
            with trio.move_on_after(answer_within):
                await pending.done.wait()
        finally:
            self.pending.pop(request_id, None)
        if pending.answer is _NO_ANSWER:
            raise LinkBroken(f"no answer to {what} within {answer_within:g} s")
        return pending.answer

    def answer(self, request_id: Any, msg: dict[str, Any], now: float) -> bool:
        """Hand ``msg`` to the request it answers; say whether there was one."""
        pending = self.pending.pop(request_id, None) if type(request_id) is int else None
        if pending is None:
            return False
        pending.answer = msg
        if pending.on_answer is not None:
            pending.on_answer(msg, now)
        pending.done.set()
        return True

    def closed(self) -> None:
        """The link is gone: wake every task waiting for an answer."""
        self.dead.set()
        for pending in self.pending.values():
            pending.done.set()
