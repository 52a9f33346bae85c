"""The switchboard of one connection: where every received message goes (Sans-I/O).

A :class:`Router` knows a connection's streams and its links (one WebSocket session
each; two while one replaces the other).  It takes events, synchronously and in the
order the connection saw them, and decides everything about delivery:

* **In:** links opening and dying; requests sent and answered (``SUBSCRIBE``,
  ``UNSUBSCRIBE``, and the *barrier* of a rotation); messages arriving, on the hot
  path through :meth:`RoutedStream.deliver`.  The caller passes the time; nothing
  here reads a clock, awaits, or touches a socket.
* **Out:** messages and :class:`~trio_binance.Gap` notices put into *sinks* (the
  handles' buffers), in order; streams going live; refusals to report; and a named
  counter for every message not delivered.

The accounting invariant it holds: every message received for a stream is
delivered once, in order, or counted as a *duplicate* (an id already delivered),
*superseded* (the other link of an overlap had it or has it), or *not subscribed*
(no stream of this connection wants it on that link); and every stretch in which
messages may be missing becomes one :class:`Gap`, put into the sinks before the
next message of that stream, with the id and time of the last message before it.

How a stream moves between links (a reconnect, a rotation):

* With no link carrying it, a stream remembers since when (its gap has begun).  The
  first link to confirm it becomes its *source*, and the gap is put into the sinks
  right then, before anything that link delivers: a confirmation is processed
  where it arrives, between the frames around it.  A message that arrives on a
  link before the link's confirmation counts as one.
* While a second link confirms a stream that a source still carries, the second
  link is the *candidate*.  The source keeps delivering.  The candidate's messages
  that the source has already delivered are superseded; those it has not are held
  (bounded).  The candidate becomes the source, with no gap, as soon as that is
  proven safe: it delivers something the source has delivered (it has caught up);
  the source delivers the first message it holds; its first held message directly
  follows the last delivered (trade ``t + 1``, depth ``U``/``pu``); or the source
  link answers a *barrier* request sent after the candidate confirmed (a server
  answers in order, so everything the source link owed has then arrived).
* If the source link dies first, the candidate takes over at once; what it held is
  delivered after a ``"rotation"`` gap unless the ids prove nothing is missing.

Streams whose messages carry no id compare messages by content during an overlap
(Binance sends the same bytes on both links).
"""

from __future__ import annotations

import collections
import dataclasses
from collections.abc import Callable, Iterable
from typing import Any, Final, Protocol, final

import orjson

from ._gap import Gap
from ._protocol import DedupeRule

__all__ = ["BARRIER", "Answer", "LinkState", "RoutedStream", "Router", "Sink", "StreamCounts"]

#: The method name a barrier request is recorded under.
BARRIER: Final = "BARRIER"
SUBSCRIBE: Final = "SUBSCRIBE"
UNSUBSCRIBE: Final = "UNSUBSCRIBE"


class Sink(Protocol):
    """Where a stream's messages go: a handle's buffer."""

    def put(self, item: Any) -> None:
        """One message, in order."""

    def note_gap(self, gap: Gap) -> None:
        """Data may be missing here (before the next ``put``)."""

    def stream_waiting(self) -> None:
        """One more of the sink's streams is not live yet."""

    def stream_live(self) -> None:
        """One of the sink's streams went live."""

    # What the connection (not the router) may also tell a sink:

    def fail(self, error: BaseException) -> None:
        """The stream ended with ``error`` (after what is buffered)."""

    def unavailable(self, cause: BaseException) -> None:
        """An attempt to bring a stream of this waiting sink live failed."""

    def release(self) -> None:
        """Detach from every stream."""


@final
@dataclasses.dataclass
class StreamCounts:
    """Messages of a stream (or of a whole connection), by what became of them."""

    delivered: int = 0
    duplicates: int = 0
    superseded: int = 0
    resets: int = 0

    def add(self, other: StreamCounts) -> None:
        self.delivered += other.delivered
        self.duplicates += other.duplicates
        self.superseded += other.superseded
        self.resets += other.resets


@final
class LinkState:
    """What the router knows of one link: its streams and its open requests."""

    __slots__ = (
        "alive",
        "asked",
        "number",
        "requests",
        "retiring",
        "single",
        "subscribed",
        "unwanted",
    )

    def __init__(self, number: int) -> None:
        self.number = number
        self.alive = True
        #: Being replaced: it takes no new streams.
        self.retiring = False
        #: Confirmed on this link.
        self.subscribed: set[str] = set()
        #: In an unanswered SUBSCRIBE.
        self.asked: set[str] = set()
        #: Subscribed here but wanted by nobody any more: to UNSUBSCRIBE.
        self.unwanted: set[str] = set()
        #: Refused inside a batch: asked for again one at a time, to find the bad one.
        self.single: dict[str, None] = {}
        #: Unanswered requests: id -> (method, stream names, waiting streams).
        self.requests: dict[int, tuple[str, tuple[str, ...], tuple[RoutedStream, ...]]] = {}

    def __repr__(self) -> str:
        return f"<LinkState #{self.number} alive={self.alive} streams={len(self.subscribed)}>"


@final
@dataclasses.dataclass(frozen=True)
class Answer:
    """What an answered request meant.

    Attributes:
        method: ``"SUBSCRIBE"``, ``"UNSUBSCRIBE"`` or ``"BARRIER"``.
        names: The streams it named.
        error: ``(code, msg)`` if it was refused.
        rejected: Streams the server refused (a single-stream SUBSCRIBE that failed).
    """

    method: str
    names: tuple[str, ...]
    error: tuple[int | None, str] | None
    rejected: tuple[RoutedStream, ...] = ()


Key = Any  # an int id, or a content fingerprint (bytes) for streams without ids


def fingerprint(payload: Any) -> bytes:
    """A message's identity by content, for streams without ids."""
    return orjson.dumps(payload)


class RoutedStream:
    """One stream of a connection: its sinks, its source link and its accounting.

    ``deliver`` is the reader's hot path: one comparison decides that a message comes
    from the only link carrying the stream, and it goes straight to the sinks.
    """

    __slots__ = (
        "bare",
        "candidate",
        "counts",
        "covered",
        "doubt",
        "envelope",
        "fast",
        "floor",
        "floor_due",
        "floor_next",
        "gap_reason",
        "gap_start",
        "half_window",
        "handover",
        "held",
        "hold_limit",
        "id_key",
        "last_id",
        "last_payload",
        "last_time",
        "live",
        "name",
        "recent",
        "router",
        "skip",
        "source",
        "successor",
        "waiting",
    )

    def __init__(self, router: Router, name: str, rule: DedupeRule) -> None:
        self.router = router
        self.name = name
        self.id_key, self.successor = rule
        self.bare: tuple[Sink, ...] = ()
        self.envelope: tuple[Sink, ...] = ()
        self.waiting: list[Sink] = []
        self.live = False
        self.source: LinkState | None = None
        self.candidate: LinkState | None = None
        #: ``source`` when nothing else needs looking at (the hot path), else None.
        self.fast: LinkState | None = None
        #: The candidate's messages not yet delivered: (key, envelope, payload).
        self.held: collections.deque[tuple[Key, Any, Any]] = collections.deque()
        #: Streams without ids, during an overlap: what the source delivered, in order.
        self.recent: dict[bytes, None] | None = None
        #: After switching to a candidate that was behind: what it will send again.
        self.skip: set[bytes] | None = None
        self.hold_limit = router.hold_limit
        self.half_window = router.epoch_window / 2
        self.last_id = -1
        # Ids from `floor` up are recent: seen again, they are duplicates; below it,
        # the stream's ids started over (a new epoch).  `floor` trails by one to two
        # half-windows of time.
        self.floor = -1
        self.floor_next = -1
        self.floor_due = 0.0
        self.handover = -1  # last id delivered by the previous source
        # Since when data may be missing, to be judged by the next id (does it
        # directly follow the last one?); None when nothing is in doubt.
        self.doubt: float | None = None
        # A gap was just put in: the next id may jump without another one.
        self.covered = False
        self.last_time: float | None = None
        self.last_payload: Any = None
        self.gap_start: float | None = None
        self.gap_reason = "reconnect"
        self.counts = StreamCounts()

    def __repr__(self) -> str:
        return f"<RoutedStream {self.name} live={self.live}>"

    # -- sinks -----------------------------------------------------------------

    @property
    def consumers(self) -> int:
        return len(self.bare) + len(self.envelope)

    def attach(self, sink: Sink, *, envelope: bool) -> None:
        """Add a sink; it gets bare payloads, or ``{"stream", "data"}`` envelopes."""
        if envelope:
            self.envelope = (*self.envelope, sink)
        else:
            self.bare = (*self.bare, sink)
        if not self.live:
            self.waiting.append(sink)
            sink.stream_waiting()

    def adopt(self, other: RoutedStream) -> None:
        """Take over the sinks of ``other`` (a stream moved to another connection)."""
        self.bare = (*self.bare, *other.bare)
        self.envelope = (*self.envelope, *other.envelope)
        if self.live:
            for sink in other.waiting:
                sink.stream_live()
        else:
            self.waiting.extend(other.waiting)
        other.bare = other.envelope = ()
        other.waiting = []

    def detach(self, sink: Sink) -> None:
        self.bare = tuple(s for s in self.bare if s is not sink)
        self.envelope = tuple(s for s in self.envelope if s is not sink)
        self.waiting = [s for s in self.waiting if s is not sink]

    @property
    def sinks(self) -> tuple[Sink, ...]:
        return (*self.bare, *self.envelope)

    def last_event_time(self) -> int | None:
        """``E`` (ms) of the last message delivered, if it had one."""
        payload = self.last_payload
        if isinstance(payload, dict):
            value = payload.get("E")
            if isinstance(value, int):
                return value
            if isinstance(value, str) and value.isdigit():
                return int(value)
        return None

    # -- the hot path --------------------------------------------------------------

    def deliver(self, link: LinkState, envelope: Any, payload: Any, now: float) -> None:
        """One message of this stream arrived on ``link``."""
        if link is self.fast:  # the only link carrying the stream: nearly always
            key = self.id_key
            if key is not None and type(payload) is dict:
                value = payload.get(key)
                if type(value) is int:
                    last = self.last_id
                    if value <= last:
                        self._backwards(value, envelope, payload, now)
                        return
                    if value != last + 1 and self.successor is not None:
                        self._check_follows(last, payload, now)
                    self.last_id = value
                    if now >= self.floor_due:
                        self._roll_floor(value, now)
            self.last_payload = payload
            self.last_time = now
            self.counts.delivered += 1
            for sink in self.bare:
                sink.put(payload)
            for sink in self.envelope:
                sink.put(envelope)
            return
        if link is self.source:
            self._from_source(envelope, payload, now)
        elif link is self.candidate:
            self._from_candidate(envelope, payload, now)
        elif link.alive and (self.name in link.asked or self.name in link.subscribed):
            if self.source is link or self.candidate is link:  # pragma: no cover
                raise AssertionError("unreachable")
            if self.name in link.subscribed and self.source is not None:
                self.counts.superseded += 1  # a link this stream already moved away from
                return
            # Data before the link's confirmation: it is one.
            self.router.confirm(link, (self.name,), now)
            if link is self.source or link is self.candidate:
                self.deliver(link, envelope, payload, now)
            else:  # pragma: no cover
                self.counts.superseded += 1
        else:
            self.router.not_subscribed += 1

    # -- the slow paths ----------------------------------------------------------

    def _key(self, payload: Any) -> int | None:
        key = self.id_key
        if key is not None and type(payload) is dict:
            value = payload.get(key)
            if type(value) is int:
                return value
        return None

    def _publish(self, envelope: Any, payload: Any, now: float) -> None:
        self.last_payload = payload
        self.last_time = now
        self.counts.delivered += 1
        for sink in self.bare:
            sink.put(payload)
        for sink in self.envelope:
            sink.put(envelope)

    def _check_follows(self, last: int, payload: Any, now: float) -> None:
        """Where ids chain, a message that does not follow the last one means some
        were missed on the link itself: say so."""
        successor = self.successor
        if last >= 0 and successor is not None and not successor(last, payload):
            self._gap("skipped", self.last_time if self.last_time is not None else now, now)

    def _accept_id(self, value: int, now: float) -> None:
        self.last_id = value
        if now >= self.floor_due:
            self._roll_floor(value, now)

    def _roll_floor(self, value: int, now: float) -> None:
        if self.floor_next < 0 or value < self.floor_next:
            self.floor_next = value  # the first id of an epoch
        self.floor = self.floor_next
        self.floor_next = value
        self.floor_due = now + self.half_window

    def _backwards(self, value: int, envelope: Any, payload: Any, now: float) -> None:
        """An id not above the last one delivered: a duplicate, or a new epoch."""
        if value <= self.handover:
            self.counts.superseded += 1  # the previous source delivered it already
            return
        if value >= self.floor:
            self.counts.duplicates += 1
            return
        # Further back than anything delivered in the last window: the exchange
        # started its ids again.  Say so, and follow.
        self.counts.resets += 1
        self._gap("id_reset", self.last_time if self.last_time is not None else now, now)
        self.last_id = value
        self.floor = self.floor_next = value
        self.handover = -1
        self.floor_due = now + self.half_window
        self._publish(envelope, payload, now)

    def _from_source(self, envelope: Any, payload: Any, now: float) -> None:
        value = self._key(payload)
        if value is not None:
            if value <= self.last_id:
                self._backwards(value, envelope, payload, now)
                return
            if self.doubt is not None:
                successor = self.successor
                if successor is None or self.last_id < 0 or not successor(self.last_id, payload):
                    self._gap("rotation", self.doubt, now)
                self.doubt = None
                self._update_fast()
            elif self.covered:
                self.covered = False  # the gap just put in covers this discontinuity
                self._update_fast()
            elif value != self.last_id + 1 and self.successor is not None:
                self._check_follows(self.last_id, payload, now)
            if value > self.handover >= 0:
                self.handover = -1  # the new source is past what the old one delivered
                self._update_fast()
            self._accept_id(value, now)
            self._publish(envelope, payload, now)
            held = self.held
            if held and held[0][0] <= value:
                # The source reached what the candidate holds: proven, switch.
                while held and held[0][0] <= value:
                    held.popleft()
                    self.counts.superseded += 1
                self._switch(now, proven=True)
            return
        print_: bytes | None = None
        if self.skip is not None:
            print_ = fingerprint(payload)
            if print_ in self.skip:
                self.skip.discard(print_)
                self.counts.superseded += 1
                return
            self.skip = None  # the new source is past what the old one delivered
            self._update_fast()
        if self.recent is not None:
            if print_ is None:
                print_ = fingerprint(payload)
            self._publish(envelope, payload, now)
            held = self.held
            if held and held[0][0] == print_:
                held.popleft()
                self.counts.superseded += 1
                self._switch(now, proven=True)
                return
            recent = self.recent
            recent[print_] = None
            if len(recent) > self.hold_limit:
                if self.candidate is not None:
                    self._switch(now, proven=False)  # stop waiting for the old link
                else:
                    del recent[next(iter(recent))]  # older than any candidate can send
            return
        self._publish(envelope, payload, now)

    def _from_candidate(self, envelope: Any, payload: Any, now: float) -> None:
        value = self._key(payload)
        if value is not None:
            if value <= self.last_id:
                # It has caught up with what was delivered: take it as the source.
                self.counts.superseded += 1
                self._switch(now, proven=True)
                return
            successor = self.successor
            if (
                not self.held
                and self.last_id >= 0
                and successor is not None
                and successor(self.last_id, payload)
            ):
                self._switch(now, proven=True)
                self._from_source(envelope, payload, now)
                return
            self._hold(value, envelope, payload, now)
            return
        print_ = fingerprint(payload)
        recent = self.recent
        if recent is not None and print_ in recent:
            self.counts.superseded += 1  # caught up: take it (skipping what it sends again)
            self._switch(now, proven=True)
            return
        self._hold(print_, envelope, payload, now)

    def _hold(self, key: Key, envelope: Any, payload: Any, now: float) -> None:
        self.held.append((key, envelope, payload))
        if len(self.held) > self.hold_limit:
            # The source is far behind its replacement: stop waiting for it.
            self._switch(now, proven=False)

    def _doubt(self, now: float) -> None:
        """Data may be missing since the last message: with ids, the next one decides
        (no gap if it directly follows); without, it is a gap now."""
        since = self.last_time if self.last_time is not None else now
        if self.id_key is None:
            self._gap("rotation", since, now)
        elif self.held:
            if not self._proven_by_successor():
                self._gap("rotation", since, now)
        elif self.doubt is None:
            self.doubt = since

    def _proven_by_successor(self) -> bool:
        """Whether the first held message directly follows the last delivered one."""
        successor = self.successor
        if not self.held or successor is None or self.last_id < 0:
            return False
        key, _, payload = self.held[0]
        return type(key) is int and successor(self.last_id, payload)

    def _switch(self, now: float, *, proven: bool) -> None:
        """Make the candidate the source; deliver what it held that is new.

        Without ids, what the old source delivered during the overlap is what the
        new one may still send again: it is skipped until the new source sends
        something else.
        """
        previous, self.source = self.source, self.candidate
        self.candidate = None
        if not proven:
            self._doubt(now)
        held, self.held = self.held, collections.deque()
        recent = self.recent
        # While the previous source lives, remember what the new one delivers: it
        # may have to take over again.
        keep = self.id_key is None and previous is not None and previous.alive
        self.recent = {} if keep else None
        self.skip = set(recent) if recent else None
        self.handover = self.last_id if self.id_key is not None else -1
        for key, envelope, payload in held:
            if type(key) is int:
                if key <= self.last_id:
                    self.counts.superseded += 1
                    continue
                self._accept_id(key, now)
            else:
                if recent is not None and key in recent:
                    self.counts.superseded += 1
                    continue
                if self.recent is not None:
                    self.recent[key] = None
            self._publish(envelope, payload, now)
        self._update_fast()

    def _gap(self, reason: str, start: float, now: float) -> None:
        gap = Gap(
            stream=self.name,
            reason=reason,
            start=start,
            end=now,
            last_event_time=self.last_event_time(),
            last_id=self.last_id if self.id_key is not None and self.last_id >= 0 else None,
        )
        for sink in self.sinks:
            sink.note_gap(gap)

    def _update_fast(self) -> None:
        quiet = (
            self.candidate is None
            and self.recent is None
            and self.skip is None
            and self.handover < 0
            and self.doubt is None
            and not self.covered
            and not self.held
        )
        self.fast = self.source if quiet else None

    # -- link events (called by the router) ---------------------------------------

    def _confirmed(self, link: LinkState, now: float) -> None:
        if self.source is link or self.candidate is link:
            return
        if self.source is None:
            self.source = link
            if self.gap_start is not None:
                self._gap(self.gap_reason, self.gap_start, now)
                self.gap_start = None
                self.doubt = None
                self.covered = self.id_key is not None  # the next id may jump
            if not self.live:
                self.live = True
                waiting, self.waiting = self.waiting, []
                for sink in waiting:
                    sink.stream_live()
        elif link.number > self.source.number and not link.retiring:
            # A newer link: it takes over once that is proven safe.
            if self.candidate is not None:  # a third link: the newest wins
                self._drop_candidate()
            self.candidate = link
            if self.id_key is None and self.recent is None:
                self.recent = {}
        # (An older or retiring link confirming late is not taken: what it
        # delivers, the source has delivered or will.)
        self._update_fast()

    def _watch(self) -> None:
        """An overlap begins: remember what the source delivers (streams without ids)."""
        if self.id_key is None and self.recent is None and self.source is not None:
            self.recent = {}
            self._update_fast()

    def _drop_candidate(self) -> None:
        self.counts.superseded += len(self.held)
        self.held.clear()
        self.candidate = None
        if self.source is None or not self.source.retiring:
            self.recent = None  # no overlap any more
        self._update_fast()

    def _carried_elsewhere(self) -> bool:
        """Whether a live link other than the source has the stream subscribed."""
        source, name = self.source, self.name
        return any(
            other.alive and other is not source and name in other.subscribed
            for other in self.router.links
        )

    def _link_lost(self, link: LinkState, now: float) -> None:
        if self.candidate is link:
            self._drop_candidate()
        if self.source is not link:
            if self.recent is not None and self.candidate is None and not self._carried_elsewhere():
                self.recent = None  # the overlap is over
                self._update_fast()
            return
        if self.candidate is not None:
            self._switch(now, proven=False)
            return
        self.source = None
        for other in self.router.links:
            if other.alive and other is not link and self.name in other.subscribed:
                # An older link still carrying it (the source replaced it, or it
                # confirmed late): it takes over; what it sends again is superseded.
                # What it sent while it was not the source was set aside.
                self.source = other
                self.skip = set(self.recent) if self.recent else None
                self.recent = None
                self.handover = self.last_id if self.id_key is not None else -1
                self._doubt(now)
                self._update_fast()
                return
        # What it delivered during an overlap, the next link may send again.
        self.skip = set(self.recent) if self.recent else None
        self.recent = None
        self._update_fast()
        if self.live and self.gap_start is None:
            self.gap_start = self.last_time if self.last_time is not None else now
            self.gap_reason = "reconnect"


class Router:
    """The streams and links of one connection, and every decision about delivery."""

    def __init__(
        self,
        rule: Callable[[str], DedupeRule],
        *,
        epoch_window: float = 60.0,
        hold_limit: int = 100_000,
    ) -> None:
        self._rule = rule
        self.epoch_window = epoch_window
        self.hold_limit = hold_limit
        self.streams: dict[str, RoutedStream] = {}
        self.links: list[LinkState] = []
        #: Messages for a stream no handle wants on the link they came on.
        self.not_subscribed = 0
        #: Answers to our requests, and events the connection consumed itself.
        self.control = 0
        self._gone = StreamCounts()  # counts of streams removed since
        self._numbers = 0

    def __repr__(self) -> str:
        return f"<Router streams={len(self.streams)} links={len(self.links)}>"

    # -- streams -----------------------------------------------------------------

    def add(self, name: str) -> RoutedStream:
        """The stream ``name``, added if new (it is subscribed on the next request)."""
        stream = self.streams.get(name)
        if stream is None:
            stream = self.streams[name] = RoutedStream(self, name, self._rule(name))
            for link in self.links:
                link.unwanted.discard(name)
        return stream

    def remove(self, name: str) -> None:
        """Nobody wants ``name`` any more: it is unsubscribed; its messages are not."""
        stream = self.streams.pop(name, None)
        if stream is None:
            return
        self._gone.add(stream.counts)
        stream.counts = StreamCounts()
        stream.source = stream.candidate = stream.fast = None  # what still comes: not ours
        stream.held.clear()
        for link in self.links:
            if name in link.subscribed:
                link.subscribed.discard(name)
                link.unwanted.add(name)
            link.single.pop(name, None)

    def counts(self) -> StreamCounts:
        """Every stream's counts, removed streams included."""
        total = StreamCounts()
        total.add(self._gone)
        for stream in self.streams.values():
            total.add(stream.counts)
        return total

    def mark_rejected(self) -> None:
        """Handshakes are being refused: the gaps now open say so."""
        for stream in self.streams.values():
            if stream.gap_start is not None:
                stream.gap_reason = "rejected"

    # -- links -----------------------------------------------------------------------

    def open_link(self) -> LinkState:
        """A new link; it carries nothing until it confirms streams."""
        self._numbers += 1
        link = LinkState(self._numbers)
        self.links.append(link)
        return link

    def begin_overlap(self, old: LinkState) -> None:
        """``old`` is about to be replaced: it takes no new streams, and streams
        without ids start remembering what it delivers (to recognise it later)."""
        old.retiring = True
        for stream in self.streams.values():
            if stream.source is old:
                stream._watch()

    def cancel_overlap(self, old: LinkState) -> None:
        """The replacement failed: ``old`` carries on alone."""
        old.retiring = False
        for stream in self.streams.values():
            if stream.source is old and stream.candidate is None:
                stream.recent = None
                stream._update_fast()

    def link_lost(self, link: LinkState, now: float) -> None:
        """``link`` died: its streams move to the other link, or start a gap."""
        if not link.alive:
            return
        link.alive = False
        link.requests.clear()
        link.asked.clear()
        if link in self.links:
            self.links.remove(link)
        for stream in self.streams.values():
            stream._link_lost(link, now)

    def unsubscribed(self, link: LinkState, names: Iterable[str], now: float) -> None:
        """The server stopped sending ``names`` on ``link`` (it ended a subscription):
        as if the link were lost, for those streams."""
        for name in names:
            link.subscribed.discard(name)
            stream = self.streams.get(name)
            if stream is not None:
                stream._link_lost(link, now)

    def handed_over(self, link: LinkState) -> bool:
        """Whether no stream is sourced from ``link`` any more."""
        return all(stream.source is not link for stream in self.streams.values())

    def carries_all(self, link: LinkState) -> bool:
        """Whether ``link`` has confirmed every stream."""
        return all(name in link.subscribed for name in self.streams)

    # -- requests --------------------------------------------------------------------

    def next_request(self, link: LinkState, batch: int) -> tuple[str, list[str]] | None:
        """The next SUBSCRIBE or UNSUBSCRIBE ``link`` needs, if any (one at a time)."""
        if not link.alive or link.requests:
            return None
        for name in link.single:
            if name in self.streams and name not in link.subscribed:
                return SUBSCRIBE, [name]
        if not link.retiring:
            names: list[str] = []
            for name in self.streams:
                if name not in link.subscribed and name not in link.single:
                    names.append(name)
                    if len(names) == batch:
                        break
            if names:
                return SUBSCRIBE, names
        if link.unwanted:
            return UNSUBSCRIBE, sorted(link.unwanted)[:batch]
        return None

    def request_sent(self, link: LinkState, request_id: int, method: str, names: list[str]) -> None:
        """A request is on its way on ``link``."""
        link.requests[request_id] = (method, tuple(names), ())
        if method == SUBSCRIBE:
            link.asked.update(names)
            for name in names:
                link.single.pop(name, None)
                stream = self.streams.get(name)
                if stream is not None and stream.source is not None and stream.source is not link:
                    stream._watch()
        elif method == UNSUBSCRIBE:
            link.unwanted.difference_update(names)

    def barrier_sent(self, link: LinkState, request_id: int) -> int:
        """A barrier request went out on ``link`` (a source being replaced).

        Its answer proves that ``link`` has delivered everything its server sent
        before it: every stream whose candidate had confirmed by now can switch.
        Returns how many streams wait on it.
        """
        waiting = tuple(
            stream
            for stream in self.streams.values()
            if stream.source is link and stream.candidate is not None
        )
        link.requests[request_id] = (BARRIER, (), waiting)
        return len(waiting)

    def answered(
        self, link: LinkState, request_id: int, error: tuple[int | None, str] | None, now: float
    ) -> Answer | None:
        """The answer to request ``request_id`` arrived on ``link`` (``None`` if unknown)."""
        request = link.requests.pop(request_id, None)
        if request is None:
            return None
        self.control += 1
        method, names, waiting = request
        if method == BARRIER:
            for stream in waiting:
                if stream.source is link and stream.candidate is not None:
                    stream._switch(now, proven=True)
            return Answer(method, names, error)
        if method != SUBSCRIBE:
            return Answer(method, names, error)
        link.asked.difference_update(names)
        if error is None:
            self.confirm(link, names, now)
            return Answer(method, names, None)
        if len(names) > 1:
            for name in names:  # one bad name fails the batch: find it
                if name in self.streams:
                    link.single[name] = None
            return Answer(method, names, error)
        refused = self.streams.get(names[0])
        return Answer(method, names, error, rejected=(refused,) if refused is not None else ())

    def confirm(self, link: LinkState, names: Iterable[str], now: float) -> None:
        """``link`` carries ``names`` from now on (the server said so, or sent data)."""
        if not link.alive:
            return
        for name in names:
            link.subscribed.add(name)
            stream = self.streams.get(name)
            if stream is None:
                link.unwanted.add(name)  # removed meanwhile
                continue
            stream._confirmed(link, now)
