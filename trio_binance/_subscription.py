"""One subscribed stream: its consumers, its live state and its de-duplication.

A :class:`Subscription` exists once per (product, route, stream name) while at least
one handle wants it.  The connection's reader calls :meth:`Subscription.deliver` for
every message of the stream; delivery is synchronous and never waits for consumers.

During a rotation (or a reconnect) two links may carry the same stream.  Messages are
then accepted from the link that is the subscription's ``source``; the other link's
messages are used only when they directly follow what was delivered (so nothing is
lost if the old link falls behind), and the subscription switches to the new link as
soon as the new link has caught up (it delivers an id already seen).  Streams without
ids switch on the new link's first message: best effort, documented.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import trio

from ._endpoints import Product
from ._exceptions import StreamRejected
from ._handle import Gap, _HandleState
from ._protocol import dedupe_rule

if TYPE_CHECKING:
    from ._connection import Connection, Link

__all__ = ["Subscription"]


class Subscription:
    """One stream on one connection, fanned out to every handle that asked for it."""

    __slots__ = (
        "bare",
        "conn",
        "envelope",
        "gap_reason",
        "gap_start",
        "id_key",
        "key",
        "last_id",
        "last_payload",
        "last_time",
        "live",
        "name",
        "product",
        "source",
        "successor",
        "waiting",
    )

    def __init__(self, key: tuple[Product, str, str], conn: Connection) -> None:
        self.key = key
        self.product, _, self.name = key
        self.conn = conn
        # Copy-on-write tuples: a consumer failing inside deliver() detaches itself
        # without disturbing the loop that is delivering to it.
        self.bare: tuple[_HandleState, ...] = ()
        self.envelope: tuple[_HandleState, ...] = ()
        self.waiting: list[_HandleState] = []
        self.live = False
        self.source: Link | None = None
        self.id_key, self.successor = dedupe_rule(self.product, self.name)
        self.last_id: int = -1
        self.last_payload: Any = None
        self.last_time: float | None = None
        self.gap_start: float | None = None
        self.gap_reason = "reconnect"

    def __repr__(self) -> str:
        return f"<Subscription {self.name} live={self.live}>"

    @property
    def consumers(self) -> int:
        return len(self.bare) + len(self.envelope)

    # -- handles -------------------------------------------------------------

    def attach(self, state: _HandleState, *, envelope: bool) -> None:
        if envelope:
            self.envelope = (*self.envelope, state)
        else:
            self.bare = (*self.bare, state)
        if not self.live:
            self.waiting.append(state)
            state_pending_add(state, 1)

    def detach(self, state: _HandleState) -> None:
        self.bare = tuple(s for s in self.bare if s is not state)
        self.envelope = tuple(s for s in self.envelope if s is not state)
        self.waiting = [s for s in self.waiting if s is not state]

    def confirmed(self, link: Link) -> None:
        """Binance acknowledged the subscription on ``link``."""
        now = trio.current_time()
        if self.source is None or self.source.dead.is_set():
            self.source = link
        if self.gap_start is not None:
            gap = Gap(
                stream=self.name,
                reason=self.gap_reason,
                start=self.gap_start,
                end=now,
                last_event_time=self.last_event_time(),
                last_id=self.last_id if self.id_key is not None and self.last_id >= 0 else None,
            )
            self.gap_start = None
            for state in (*self.bare, *self.envelope):
                state.note_gap(gap)
        if not self.live:
            self.live = True
            waiting, self.waiting = self.waiting, []
            for state in waiting:
                state_pending_add(state, -1)

    def rejected(self, code: int | None, msg: str) -> None:
        """Binance refused the stream: fail every handle that asked for it."""
        error = StreamRejected(self.name, code, msg)
        for state in (*self.bare, *self.envelope):
            state.fail(error)
            state.release()

    def link_lost(self, link: Link, now: float, others_have_it: bool) -> None:
        """``link`` died; start a gap unless another live link carries the stream."""
        if self.source is link:
            self.source = None
        if others_have_it or not self.live:
            return
        if self.gap_start is None:
            self.gap_start = self.last_time if self.last_time is not None else now
            self.gap_reason = "reconnect"

    def last_event_time(self) -> int | None:
        payload = self.last_payload
        if isinstance(payload, dict):
            value = payload.get("E")
            if isinstance(value, int):
                return value
            if isinstance(value, str) and value.isdigit():
                return int(value)
        return None

    # -- the hot path ------------------------------------------------------------

    def deliver(self, envelope: Any, payload: Any, link: Link, now: float) -> None:
        """Hand one message to every consumer, de-duplicating across links."""
        if link is self.source:  # the common case: one link, ids only to remember
            key = self.id_key
            if key is not None and type(payload) is dict:
                value = payload.get(key)
                if type(value) is int:
                    if value <= self.last_id:
                        return
                    self.last_id = value
        elif not self._from_other(link, payload):
            return
        # publish(), inlined on the reader's hot path
        self.last_payload = payload
        self.last_time = now
        for state in self.bare:
            state.put(payload)
        for state in self.envelope:
            state.put(envelope)

    def _from_other(self, link: Link, payload: Any) -> bool:
        """A message from a link that is not the source: is it wanted?"""
        key = self.id_key
        if key is not None and type(payload) is dict:
            value = payload.get(key)
            if type(value) is int:
                if not self._accept_other(link, value, payload) or value <= self.last_id:
                    return False
                self.last_id = value
                return True
        return self._switch_to(link)

    def publish(self, envelope: Any, payload: Any, now: float) -> None:
        """Hand one accepted message to every consumer."""
        self.last_payload = payload
        self.last_time = now
        for state in self.bare:
            state.put(payload)
        for state in self.envelope:
            state.put(envelope)

    def _switch_to(self, link: Link) -> bool:
        """A link other than the source delivered: move to it if it is the newer link
        (or the source is gone); an older link's messages are no longer wanted."""
        source = self.source
        if source is not None and not source.dead.is_set() and link.number < source.number:
            return False
        self.source = link
        link.switched.add(self.name)
        self.conn.switched.fire()
        return True

    def _accept_other(self, link: Link, value: int, payload: dict[str, Any]) -> bool:
        source = self.source
        if source is None or source.dead.is_set():
            return self._switch_to(link)
        if value <= self.last_id:
            # The new link has caught up with what was delivered: switch to it.
            return self._switch_to(link)
        successor = self.successor
        # Ahead of the source: accept only a direct successor, else let the source
        # deliver it (no loss if the source lags behind).
        return successor is not None and self.last_id >= 0 and successor(self.last_id, payload)


def state_pending_add(state: _HandleState, delta: int) -> None:
    """Count the handle's streams not yet live; mark the handle live at zero."""
    state.pending += delta
    if state.pending == 0 and delta < 0:
        state.live.set()
