"""Local order books: the book, and Binance's rules for keeping it in sync.

Pure: no I/O and no clock.  :class:`BookSync` takes diff-depth events and REST
snapshots in whatever order they arrive and says when the book is in sync, when the
snapshot is too old to use, and when a gap means starting over.
(:mod:`trio_binance._depth_cache` drives it with a stream handle and REST.)

The rules (see Binance's "How to manage a local order book correctly"):

* Spot: drop events with ``u <= lastUpdateId``; the first event applied must have
  ``U <= lastUpdateId + 1 <= u``, and every later one ``U == previous u + 1``.
* Futures and options: drop events with ``u < lastUpdateId``; the first event applied
  must have ``U <= lastUpdateId <= u``, and every later one ``pu == previous u``.
* A snapshot older than the first buffered event cannot be joined to the stream:
  fetch another.  Quantities are absolute; a quantity of zero removes the level
  (a removal of a level the book does not hold is normal).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Final, final

from ._endpoints import Product

__all__ = [
    "SNAPSHOT_LIMITS",
    "BookSync",
    "DepthCache",
    "OutOfSync",
    "snapshot_weight",
    "validate_depth_limit",
]

_FUTURES_LIMITS: Final = (5, 10, 20, 50, 100, 500, 1000)
#: Snapshot sizes each REST depth endpoint accepts (spot: any from 1 to 5000).
SNAPSHOT_LIMITS: Final[dict[Product, tuple[int, ...] | range]] = {
    Product.SPOT: range(1, 5001),
    Product.USDM: _FUTURES_LIMITS,
    Product.COINM: _FUTURES_LIMITS,
    Product.OPTIONS: (10, 20, 50, 100, 500, 1000),
}


def snapshot_weight(product: Product, limit: int) -> int:
    """The request weight Binance charges for a snapshot of ``limit`` levels."""
    if product is Product.SPOT:
        steps: tuple[tuple[int, int], ...] = ((100, 5), (500, 25), (1000, 50), (5000, 250))
    elif product is Product.OPTIONS:
        steps = ((50, 1), (100, 5), (500, 10), (1000, 20))
    else:
        steps = ((50, 2), (100, 5), (500, 10), (1000, 20))
    for most, weight in steps:
        if limit <= most:
            return weight
    return steps[-1][1]


def validate_depth_limit(product: Product, limit: object) -> int:
    """Check a snapshot size against what ``product``'s REST endpoint accepts.

    Raises:
        ValueError: ``limit`` is not one of the allowed sizes (named in the message).
    """
    allowed = SNAPSHOT_LIMITS[product]
    if isinstance(limit, bool) or not isinstance(limit, int) or limit not in allowed:
        if isinstance(allowed, range):
            choices = f"an int from {allowed.start} to {allowed.stop - 1}"
        else:
            choices = "one of " + ", ".join(map(str, allowed))
        raise ValueError(f"{product.value} order-book limit must be {choices}, got {limit!r}")
    return limit


class OutOfSync(Exception):
    """An event does not follow the book: updates were missed.  Start over."""


@final
class DepthCache:
    """A local order book: price levels on each side, kept in sync by the library.

    Prices and quantities are converted with ``conv_type`` (``float`` unless you ask
    for, say, ``decimal.Decimal``).  The object returned by a depth-cache handle is
    the live book: it changes at the handle's next ``receive()``.  Call
    :meth:`copy` to keep a state.

    Attributes:
        symbol: The symbol, upper case.
        update_id: The book's last update id (the snapshot's ``lastUpdateId``, then
            the ``u`` of each applied event).
        update_time: ``E`` (ms) of the last applied event; ``None`` right after a
            snapshot that carries no event time.
    """

    __slots__ = (
        "_asks",
        "_bids",
        "_conv",
        "_sorted_asks",
        "_sorted_bids",
        "symbol",
        "update_id",
        "update_time",
    )

    def __init__(self, symbol: str, conv_type: Callable[[str], Any] = float) -> None:
        self.symbol = symbol
        self._conv = conv_type
        self._bids: dict[Any, Any] = {}
        self._asks: dict[Any, Any] = {}
        # Price order, rebuilt only after a level appears or disappears (a changed
        # quantity, the common update, keeps it).
        self._sorted_bids: list[Any] | None = None
        self._sorted_asks: list[Any] | None = None
        self.update_id = 0
        self.update_time: int | None = None

    def __repr__(self) -> str:
        return (
            f"<DepthCache {self.symbol} update_id={self.update_id} "
            f"bids={len(self._bids)} asks={len(self._asks)} "
            f"best_bid={self.best_bid()} best_ask={self.best_ask()}>"
        )

    def get_bids(self, limit: int | None = None) -> list[tuple[Any, Any]]:
        """Bid levels ``(price, quantity)``, highest price first (at most ``limit``)."""
        if self._sorted_bids is None:
            self._sorted_bids = sorted(self._bids, reverse=True)
        prices = self._sorted_bids if limit is None else self._sorted_bids[:limit]
        bids = self._bids
        return [(price, bids[price]) for price in prices]

    def get_asks(self, limit: int | None = None) -> list[tuple[Any, Any]]:
        """Ask levels ``(price, quantity)``, lowest price first (at most ``limit``)."""
        if self._sorted_asks is None:
            self._sorted_asks = sorted(self._asks)
        prices = self._sorted_asks if limit is None else self._sorted_asks[:limit]
        asks = self._asks
        return [(price, asks[price]) for price in prices]

    def best_bid(self) -> tuple[Any, Any] | None:
        """The highest bid ``(price, quantity)``, or ``None`` if there is none."""
        bids = self.get_bids(1)
        return bids[0] if bids else None

    def best_ask(self) -> tuple[Any, Any] | None:
        """The lowest ask ``(price, quantity)``, or ``None`` if there is none."""
        asks = self.get_asks(1)
        return asks[0] if asks else None

    def copy(self) -> DepthCache:
        """An independent copy of the book as it is now."""
        other = DepthCache(self.symbol, self._conv)
        other._bids = dict(self._bids)
        other._asks = dict(self._asks)
        other.update_id = self.update_id
        other.update_time = self.update_time
        return other

    # -- updates (the library's side) ----------------------------------------

    def _load(self, snapshot: dict[str, Any]) -> None:
        conv = self._conv
        self._bids = {conv(p): conv(q) for p, q in snapshot["bids"] if conv(q) != 0}
        self._asks = {conv(p): conv(q) for p, q in snapshot["asks"] if conv(q) != 0}
        self._sorted_bids = self._sorted_asks = None
        self.update_id = int(snapshot["lastUpdateId"])
        event_time = snapshot.get("E")
        self.update_time = event_time if isinstance(event_time, int) else None

    def _apply(self, event: dict[str, Any]) -> None:
        if self._update(self._bids, event["b"]):
            self._sorted_bids = None
        if self._update(self._asks, event["a"]):
            self._sorted_asks = None
        self.update_id = int(event["u"])
        event_time = event.get("E")
        if isinstance(event_time, int):
            self.update_time = event_time

    def _update(self, side: dict[Any, Any], levels: Iterable[list[str]]) -> bool:
        """Apply absolute quantities; True if a level appeared or disappeared."""
        conv = self._conv
        reorder = False
        for price_text, qty_text in levels:
            price = conv(price_text)
            qty = conv(qty_text)
            if qty == 0:
                if side.pop(price, None) is not None:
                    reorder = True
            else:
                if price not in side:
                    reorder = True
                side[price] = qty
        return reorder


@final
class BookSync:
    """Binance's local-order-book procedure for one symbol.

    Feed it every diff event with :meth:`event` and a REST snapshot with
    :meth:`snapshot`.  Until a snapshot joins the buffered events, events are
    buffered; afterwards they are applied to :attr:`book` or raise
    :class:`OutOfSync`, after which the caller calls :meth:`reset` and fetches a
    new snapshot.
    """

    def __init__(self, symbol: str, *, spot: bool, conv_type: Callable[[str], Any] = float) -> None:
        self.symbol = symbol
        self.spot = spot
        self.conv_type = conv_type
        self.book: DepthCache | None = None
        self.buffered: list[dict[str, Any]] = []
        self._first = True  # the next applied event is the first after the snapshot

    @property
    def synced(self) -> bool:
        """True once a snapshot has joined the stream."""
        return self.book is not None

    def reset(self) -> None:
        """Forget the book and the buffer: a new snapshot is needed."""
        self.book = None
        self.buffered.clear()
        self._first = True

    def event(self, event: dict[str, Any]) -> bool:
        """Take one ``depthUpdate`` event; True when it changed the synced book.

        Raises:
            OutOfSync: The event shows that updates were missed.
            ValueError: The event is not a ``depthUpdate`` (after a malformed level,
                the book is half-updated: start over).
        """
        if (
            type(event) is not dict
            or type(event.get("U")) is not int
            or type(event.get("u")) is not int
            or not isinstance(event.get("b"), list)
            or not isinstance(event.get("a"), list)
        ):
            raise ValueError(f"{self.symbol}: not a depthUpdate event")
        if self.book is None:
            self.buffered.append(event)
            return False
        return self._apply(self.book, event)

    def snapshot(self, snapshot: dict[str, Any]) -> bool:
        """Join a REST snapshot to the buffered events.

        Returns:
            True when the book is now in sync; False when the snapshot is older than
            the first buffered event (fetch another; the buffer is kept).

        Raises:
            OutOfSync: The buffered events have a hole after the snapshot.
            ValueError: The snapshot or an event holds something that is not a level.
        """
        last = int(snapshot["lastUpdateId"])
        buffered = self.buffered
        # Spot may join at U == last + 1; futures need U <= last.
        if buffered and int(buffered[0]["U"]) > (last + 1 if self.spot else last):
            return False
        book = DepthCache(self.symbol, self.conv_type)
        book._load(snapshot)  # ValueError, TypeError on garbage: nothing changed
        self.book = book
        self._first = True
        self.buffered = []
        try:
            for event in buffered:
                self._apply(book, event)
        except (OutOfSync, ValueError, TypeError):
            self.reset()
            raise
        return True

    def _apply(self, book: DepthCache, event: dict[str, Any]) -> bool:
        first_id = int(event["U"])
        last_id = int(event["u"])
        current = book.update_id
        if self.spot:
            if last_id <= current:
                return False  # already in the book
            if first_id > current + 1:
                raise OutOfSync(f"expected update {current + 1}, got {first_id}")
        elif self._first:
            if last_id < current:
                return False
            if first_id > current:
                raise OutOfSync(f"first update {first_id} is after {current}")
        else:
            if last_id <= current:
                return False
            previous = event.get("pu")
            expected_ok = previous == current if previous is not None else first_id == current + 1
            if not expected_ok:
                raise OutOfSync(f"update follows {previous}, the book is at {current}")
        self._first = False
        book._apply(event)
        return True
