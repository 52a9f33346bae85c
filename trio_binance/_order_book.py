"""Local order books: the book, and Binance's rules for keeping it in sync.

Pure: no I/O and no clock.  :class:`BookSync` takes diff-depth events and REST
snapshots in whatever order they arrive and says when the book is in sync, when a
snapshot is too old to use, and when a gap means starting over.
(:mod:`trio_binance._depth_cache` drives it with a stream handle and REST.)

The rules (see Binance's "How to manage a local order book correctly"):

* Spot: drop events with ``u <= lastUpdateId``; the first event applied must have
  ``U <= lastUpdateId + 1 <= u``, and every later one ``U == previous u + 1``.
* Futures and options: drop events with ``u < lastUpdateId``; the first event applied
  must have ``U <= lastUpdateId <= u`` (or, when the snapshot fell between two
  events, ``pu == lastUpdateId``), and every later one ``pu == previous u``.
* A snapshot older than the first buffered event cannot be joined to the stream:
  fetch another.  Quantities are absolute; a quantity of zero removes the level
  (a removal of a level the book does not hold is normal).

Cost: each side is a dict (price -> quantity) plus a plain list of its prices kept
in order incrementally with :mod:`bisect`, the best price at the end of the list: a
changed quantity is one dict write; a new or removed level one binary search plus a
C ``memmove`` of the levels between it and the top, which is short because the
book changes mostly near the top.  The best price is O(1), the top ``k`` one C
slice, and nothing re-sorts a side after the snapshot.
"""

from __future__ import annotations

import collections
from bisect import bisect_left, insort
from collections.abc import Callable, Iterable, Mapping
from operator import itemgetter
from typing import Any, Final, Generic, Literal, NamedTuple, final, overload

from typing_extensions import TypeVar

from ._endpoints import Product

__all__ = [
    "SNAPSHOT_LIMITS",
    "BookSync",
    "DepthCache",
    "NumberT",
    "OutOfSync",
    "ResyncReason",
    "Snapshot",
    "check_conv_type",
    "parse_snapshot",
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

#: The type of a book's prices and quantities: what its ``conv_type`` returns, ``float``
#: unless you ask for, say, ``decimal.Decimal``.  ``DepthCache`` alone is
#: ``DepthCache[float]``.
NumberT = TypeVar("NumberT", default=float)

#: Why a book stopped being in sync: a gap in the update ids (a missed update, or a
#: snapshot older than the stream: with no event between them, the two look the
#: same), an event that could not be applied, or the periodic ``refresh_interval``.
ResyncReason = Literal["gap", "malformed", "refresh"]


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


def check_conv_type(conv_type: object) -> None:
    """Check that ``conv_type`` turns Binance's decimal strings into numbers.

    A book orders, negates and compares to zero what ``conv_type`` returns: ``float``,
    ``decimal.Decimal`` or ``fractions.Fraction`` do; ``str`` does not.

    Raises:
        ValueError: It does not (named in the message).
    """
    try:
        if not callable(conv_type):
            raise TypeError
        value = conv_type("1.5")
        ok = bool(-value < value) and bool(conv_type("0.000") == 0) and not conv_type("0.000")
    except Exception:
        ok = False
    if not ok:
        raise ValueError(
            f"conv_type must turn price strings into numbers (float, decimal.Decimal...), "
            f"got {conv_type!r}"
        )


def _top(limit: int | None) -> slice:
    """The slice of an ``order`` list that reads its best ``limit`` keys, best first."""
    if limit is None:
        return slice(None, None, -1)
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
        raise ValueError(f"limit must be None or an int >= 0, got {limit!r}")
    return slice(None, -limit - 1, -1)


class Snapshot(NamedTuple):
    """A REST order-book snapshot, in one shape whatever the product sent.

    Attributes:
        update_id: The id of the last update the snapshot includes.
        bids: ``[price, quantity]`` string pairs as Binance sent them.
        asks: Likewise.
        event_time: ``E`` (or ``T``) in ms, if the snapshot carries one.
    """

    update_id: int
    bids: list[Any]
    asks: list[Any]
    event_time: int | None


def parse_snapshot(body: object) -> Snapshot:
    """Read a REST depth snapshot: ``{"lastUpdateId", "bids", "asks"}`` on every product.

    UNCONFIRMED: Binance's older options documentation shows the snapshot as
    ``{"T", "u", "bids", "asks"}``, with no ``lastUpdateId``.  Until the live
    ``/eapi/v1/depth`` is seen, both are accepted, ``u`` standing for
    ``lastUpdateId``.  This is the only place that decides it.

    Raises:
        ValueError: ``body`` is not a snapshot.
    """
    if isinstance(body, dict):
        bids, asks = body.get("bids"), body.get("asks")
        update_id = body.get("lastUpdateId")
        if update_id is None:
            update_id = body.get("u")  # the older options shape (UNCONFIRMED, see above)
        event_time = body.get("E", body.get("T"))
        if type(update_id) is int and type(bids) is list and type(asks) is list:
            return Snapshot(update_id, bids, asks, event_time if type(event_time) is int else None)
    raise ValueError(f"not an order-book snapshot: {str(body)[:100]!r}")


class OutOfSync(Exception):
    """The book can no longer be trusted and was dropped: fetch a new snapshot.

    Attributes:
        reason: A :data:`ResyncReason`.
        detail: What was seen, for logs.
    """

    def __init__(self, reason: ResyncReason, detail: str) -> None:
        super().__init__(detail)
        self.reason: ResyncReason = reason
        self.detail = detail


#: Price strings whose converted keys a book side remembers (then it starts afresh).
_KEY_CACHE: Final = 4096


def _update(
    side: dict[Any, Any],
    order: list[Any],
    keys: dict[str, Any],
    levels: Iterable[Any],
    conv: Any,
    negate: bool,
) -> None:
    """Apply absolute ``[price, quantity]`` levels to one side of the book.

    A side is keyed by price, negated for asks: ``side`` maps key to quantity and
    ``order`` holds the keys in ascending order, so the best price is last on both
    sides and the busy top of the book is the cheap end of the list to insert into
    or delete from.  ``keys`` remembers the key of recent price strings: the same
    levels change again and again, and a dict lookup costs less than a conversion.
    """
    for price_text, qty_text in levels:
        key = keys.get(price_text)
        if key is None:
            key = conv(price_text)
            if negate:
                key = -key
            if len(keys) >= _KEY_CACHE:
                keys.clear()
            keys[price_text] = key
        qty = conv(qty_text)
        if qty:
            if key not in side:
                insort(order, key)
            side[key] = qty
        elif side.pop(key, None) is not None:
            del order[bisect_left(order, key)]


@final
class DepthCache(Generic[NumberT]):
    """A local order book: price levels on each side, kept in sync by the library.

    Prices and quantities are converted with ``conv_type`` (``float`` unless you ask
    for, say, ``decimal.Decimal``).  The object returned by a depth-cache handle is
    the live book: it changes only inside the handle's ``receive()``.  Call
    :meth:`copy` to keep a state.

    For type checkers the book is generic in that number type: a book made with
    ``conv_type=Decimal`` is a ``DepthCache[Decimal]``, and ``DepthCache`` alone
    is ``DepthCache[float]``, whose :meth:`best_bid` is a
    ``tuple[float, float] | None``.

    Trio-native reads (tuples, cheap): :meth:`best_bid`, :meth:`best_ask` (O(1)),
    :meth:`bids` and :meth:`asks` (O(k) for the top ``k``).  python-binance's methods
    behave as python-binance's: :meth:`get_bids` and :meth:`get_asks` (every level,
    as ``[price, quantity]`` lists), :meth:`add_bid`, :meth:`add_ask`,
    :meth:`sort_depth`, :meth:`get_symbol`.

    Attributes:
        symbol: The symbol, upper case.
        conv_type: Converts price and quantity strings.
        update_id: The book's last update id (the snapshot's ``lastUpdateId``, then
            the ``u`` of each applied event).
        update_time: ``E`` (ms) of the last applied event; the snapshot's own event
            time (futures) or ``None`` right after a snapshot without one.
    """

    __slots__ = (
        "_ask_keys",
        "_ask_order",
        "_asks",
        "_bid_keys",
        "_bid_order",
        "_bids",
        "conv_type",
        "symbol",
        "update_id",
        "update_time",
    )

    @overload
    def __init__(self: DepthCache[float], symbol: str) -> None: ...
    @overload
    def __init__(self, symbol: str, conv_type: Callable[[str], NumberT]) -> None: ...
    def __init__(self, symbol: str, conv_type: Callable[[str], Any] = float) -> None:
        self.symbol = symbol
        self.conv_type: Callable[[str], NumberT] = conv_type
        # Each side maps its keys (bid prices, ask prices negated) to quantities, and
        # lists the keys in ascending order, the best last (see _update).
        self._bids: dict[Any, NumberT] = {}
        self._asks: dict[Any, NumberT] = {}
        self._bid_order: list[Any] = []
        self._ask_order: list[Any] = []
        self._bid_keys: dict[str, Any] = {}
        self._ask_keys: dict[str, Any] = {}
        self.update_id = 0
        self.update_time: int | None = None

    def __repr__(self) -> str:
        return (
            f"<DepthCache {self.symbol} update_id={self.update_id} "
            f"bids={len(self._bids)} asks={len(self._asks)} "
            f"best_bid={self.best_bid()} best_ask={self.best_ask()}>"
        )

    # -- Trio-native reads -----------------------------------------------------

    def best_bid(self) -> tuple[NumberT, NumberT] | None:
        """The highest bid ``(price, quantity)``, or ``None`` if there is none."""
        if not self._bid_order:
            return None
        price = self._bid_order[-1]
        return price, self._bids[price]

    def best_ask(self) -> tuple[NumberT, NumberT] | None:
        """The lowest ask ``(price, quantity)``, or ``None`` if there is none."""
        if not self._ask_order:
            return None
        key = self._ask_order[-1]
        return -key, self._asks[key]

    def bids(self, limit: int | None = None) -> list[tuple[NumberT, NumberT]]:
        """Bid levels ``(price, quantity)``, highest price first (at most ``limit``)."""
        side = self._bids
        if type(limit) is int and limit >= 0:
            return [(price, side[price]) for price in self._bid_order[: -limit - 1 : -1]]
        return [(price, side[price]) for price in self._bid_order[_top(limit)]]

    def asks(self, limit: int | None = None) -> list[tuple[NumberT, NumberT]]:
        """Ask levels ``(price, quantity)``, lowest price first (at most ``limit``)."""
        side = self._asks
        if type(limit) is int and limit >= 0:
            return [(-key, side[key]) for key in self._ask_order[: -limit - 1 : -1]]
        return [(-key, side[key]) for key in self._ask_order[_top(limit)]]

    def copy(self) -> DepthCache[NumberT]:
        """An independent copy of the book as it is now."""
        other = DepthCache(self.symbol, self.conv_type)
        other._bids = dict(self._bids)
        other._asks = dict(self._asks)
        other._bid_order = self._bid_order.copy()
        other._ask_order = self._ask_order.copy()
        other.update_id = self.update_id
        other.update_time = self.update_time
        return other

    # -- python-binance's DepthCache methods -------------------------------------

    def get_bids(self) -> list[list[NumberT]]:
        """Every bid as a ``[price, quantity]`` list, highest price first (python-binance)."""
        return [[price, qty] for price, qty in self.bids()]

    def get_asks(self) -> list[list[NumberT]]:
        """Every ask as a ``[price, quantity]`` list, lowest price first (python-binance)."""
        return [[price, qty] for price, qty in self.asks()]

    def add_bid(self, bid: Any) -> None:
        """Set one bid level from a ``[price, quantity]`` pair of strings (python-binance).

        A quantity of zero, in any format (``"0"``, ``"0.000"``), removes the level.
        """
        _update(self._bids, self._bid_order, self._bid_keys, (bid,), self.conv_type, False)

    def add_ask(self, ask: Any) -> None:
        """Set one ask level from a ``[price, quantity]`` pair of strings (python-binance)."""
        _update(self._asks, self._ask_order, self._ask_keys, (ask,), self.conv_type, True)

    def get_symbol(self) -> str:
        """The symbol (python-binance's ``DepthCacheManager.get_symbol``, here on the book)."""
        return self.symbol

    @staticmethod
    def sort_depth(
        vals: Mapping[Any, Any] | list[Any],
        reverse: bool = False,
        conv_type: Callable[[Any], Any] = float,
    ) -> list[list[Any]]:
        """Levels as ``[price, quantity]`` lists sorted by price (python-binance).

        Args:
            vals: A dict of price to quantity, or a list of ``[price, quantity]`` pairs.
            reverse: Highest price first.
            conv_type: Applied to every price and quantity.

        Raises:
            ValueError: ``vals`` is neither a dict nor a list.
        """
        if isinstance(vals, dict):
            pairs: Iterable[Any] = vals.items()
        elif isinstance(vals, list):
            pairs = vals
        else:
            raise ValueError(f"Unknown order book depth data type: {type(vals)}")
        levels = [[conv_type(price), conv_type(qty)] for price, qty in pairs]
        levels.sort(key=itemgetter(0), reverse=reverse)
        return levels

    # -- updates (the library's side) --------------------------------------------

    def _load(self, snapshot: Snapshot) -> None:
        conv: Callable[[str], Any] = self.conv_type  # (numbers that negate: check_conv_type)
        bids = {conv(p): conv(q) for p, q in snapshot.bids}
        asks = {conv(p): conv(q) for p, q in snapshot.asks}
        self._bids = {price: qty for price, qty in bids.items() if qty}
        self._asks = {-price: qty for price, qty in asks.items() if qty}
        self._bid_order = sorted(self._bids)  # the one sort, of the snapshot
        self._ask_order = sorted(self._asks)
        self.update_id = snapshot.update_id
        self.update_time = snapshot.event_time

    def _apply(self, bids: list[Any], asks: list[Any]) -> None:
        conv = self.conv_type
        if bids:
            _update(self._bids, self._bid_order, self._bid_keys, bids, conv, False)
        if asks:
            _update(self._asks, self._ask_order, self._ask_keys, asks, conv, True)


#: What a failed conversion of a level raises (``float``, ``Decimal``, custom types).
_LEVEL_ERRORS: Final = (TypeError, ValueError, ArithmeticError)


@final
class BookSync:
    """Binance's local-order-book procedure for one symbol.

    Feed it every diff event with :meth:`event` and a REST snapshot with
    :meth:`snapshot`.  Until a snapshot joins the buffered events, events are
    buffered (as one unbroken chain: a hole drops what came before it, which no
    later snapshot can use).  Afterwards they are applied to :attr:`book`; an event
    that shows a missed update drops the book and raises :class:`OutOfSync`, and
    the caller fetches a new snapshot.  Malformed events are skipped and counted:
    if one hid a real update, the next event's ids show the gap.

    Attributes:
        book: The book while in sync, else ``None``.
        buffered: Events waiting for a snapshot, oldest first.
        applied: Events applied to a book.
        skipped: Events already in the book or the buffer (stale or duplicate).
        malformed: Events skipped because they are not ``depthUpdate`` events.
        discarded: Buffered events dropped because a hole or a trim made them useless.
    """

    def __init__(self, symbol: str, *, spot: bool, conv_type: Callable[[str], Any] = float) -> None:
        self.symbol = symbol
        self.spot = spot
        self.conv_type = conv_type
        self.book: DepthCache[Any] | None = None
        self.buffered: collections.deque[dict[str, Any]] = collections.deque()
        self._joining = False  # a snapshot is loaded and no event has followed it yet
        self.applied = 0
        self.skipped = 0
        self.malformed = 0
        self.discarded = 0

    @property
    def synced(self) -> bool:
        """True while a snapshot joined to the stream is the book."""
        return self.book is not None

    def reset(self) -> None:
        """Drop the book and the buffer: a new snapshot is needed."""
        self.book = None
        self._joining = False
        self.discarded += len(self.buffered)
        self.buffered.clear()

    def trim(self, keep: int) -> None:
        """Keep only the newest ``keep`` buffered events.

        Called while no snapshot request is in flight: events received before the
        next request goes out are older than its snapshot, but for the last few
        (a snapshot may lag the stream a little).
        """
        buffered = self.buffered
        while len(buffered) > keep:
            buffered.popleft()
            self.discarded += 1

    def event(self, event: Any) -> bool:
        """Take one ``depthUpdate`` event; True when it changed the synced book.

        Raises:
            OutOfSync: The event shows that updates were missed (``reason="gap"``),
                or a level could not be applied (``"malformed"``).  The book was
                dropped; a gap's event is kept in the buffer for the next snapshot.
        """
        try:
            first = event["U"]
            last = event["u"]
            bids = event["b"]
            asks = event["a"]
        except (TypeError, KeyError, IndexError):
            self.malformed += 1
            return False
        if (
            type(first) is not int
            or type(last) is not int
            or type(bids) is not list
            or type(asks) is not list
        ):
            self.malformed += 1
            return False
        book = self.book
        if book is None:
            self._buffer(event, first, last)
            return False
        current = book.update_id
        if self.spot:
            if last <= current:
                self.skipped += 1
                return False
            if first > current + 1:
                self._lost(event, f"expected update {current + 1}, got {first}")
        elif self._joining:
            if last < current:
                self.skipped += 1
                return False
            if not self._joins(event, first, current):
                self._lost(event, f"first update {first} is after the snapshot's {current}")
        else:
            if last <= current:
                self.skipped += 1
                return False
            previous = event.get("pu")
            if previous is None:  # no pu (UNCONFIRMED for options): ids must be contiguous
                if first > current + 1:
                    self._lost(event, f"expected update {current + 1}, got {first}")
            elif previous != current:
                self._lost(event, f"update follows {previous}, the book is at {current}")
        try:
            book._apply(bids, asks)
        except _LEVEL_ERRORS as exc:
            self.malformed += 1
            self.reset()  # the book may be half-updated
            raise OutOfSync("malformed", f"a depth event holds a bad level ({exc})") from None
        book.update_id = last
        event_time = event.get("E")
        if type(event_time) is int:
            book.update_time = event_time
        self._joining = False
        self.applied += 1
        return True

    def snapshot(self, snapshot: Snapshot) -> bool:
        """Join a REST snapshot to the buffered events.

        Returns:
            True when the book is now in sync; False when the snapshot is older than
            the first buffered event it would need (fetch another; the buffer is kept).

        Raises:
            OutOfSync: A buffered event could not be applied (``"malformed"``).
            ValueError, TypeError, ArithmeticError: The snapshot holds something that
                is not a level (nothing changed).
        """
        last = snapshot.update_id
        buffered = self.buffered
        # Spot drops u <= lastUpdateId, futures and options u < lastUpdateId.
        newest_dropped = last if self.spot else last - 1
        while buffered and buffered[0]["u"] <= newest_dropped:
            buffered.popleft()
            self.discarded += 1
        if buffered and not self._joins(buffered[0], buffered[0]["U"], last):
            return False
        book: DepthCache[Any] = DepthCache(self.symbol, self.conv_type)
        book._load(snapshot)
        self.book = book
        self._joining = True
        pending = list(buffered)
        buffered.clear()
        for event in pending:  # one unbroken chain that starts at the snapshot
            self.event(event)
        return True

    def _joins(self, event: dict[str, Any], first: int, last: int) -> bool:
        """Whether ``event`` (not older than the snapshot) is the first to apply to it.

        Spot: ``U <= lastUpdateId + 1``.  Futures and options: ``U <= lastUpdateId``,
        or an event that starts right after the snapshot (``pu == lastUpdateId``)
        when the snapshot fell between two events.
        """
        if self.spot:
            return first <= last + 1
        previous: object = event.get("pu")
        if first <= last:
            return True
        return previous == last if previous is not None else first == last + 1

    def _buffer(self, event: dict[str, Any], first: int, last: int) -> None:
        buffered = self.buffered
        if buffered:
            previous_last = buffered[-1]["u"]
            if last <= previous_last:
                self.skipped += 1
                return
            if self.spot or (previous := event.get("pu")) is None:
                follows = first <= previous_last + 1
            else:
                follows = previous == previous_last
            if not follows:  # a hole: what came before it can never be joined
                self.discarded += len(buffered)
                buffered.clear()
        buffered.append(event)

    def _lost(self, event: dict[str, Any], detail: str) -> None:
        if self._joining:
            detail += (
                " (the first update since the snapshot: it may have been older than the stream)"
            )
        self.reset()
        self.buffered.append(event)  # the newest event: the next snapshot may join it
        raise OutOfSync("gap", detail)
