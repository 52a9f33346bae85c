"""Property test of BookSync, the pure sync rules: whatever the stream does (gaps,
duplicates, stale events, reconnects that lose a run of events, snapshots that lag or
lead it), a synced book is always the exchange's true book at the book's update id.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from trio_binance._order_book import BookSync, OutOfSync, parse_snapshot

BASE_ID = 100
Change = tuple[bool, int, int]  # (is_bid, price tick, quantity in lots; 0 removes)


def price(tick: int) -> str:
    return f"{tick / 100:.2f}"


def qty(lots: int) -> str:
    return f"{lots / 1000:.3f}"


class Exchange:
    """The true book, one change per update id, published as grouped diff events."""

    def __init__(self, changes: list[Change], sizes: list[int]) -> None:
        self.changes = changes
        self.events: list[dict[str, Any]] = []
        start, previous_u = 0, BASE_ID
        for size in sizes:
            group = changes[start : start + size]
            if not group:
                break
            final: dict[tuple[bool, int], int] = {}
            for is_bid, tick, lots in group:
                final[(is_bid, tick)] = lots
            first_id = BASE_ID + start + 1
            last_id = BASE_ID + start + len(group)
            self.events.append(
                {
                    "e": "depthUpdate",
                    "E": last_id,
                    "U": first_id,
                    "u": last_id,
                    "pu": previous_u,
                    "b": [[price(t), qty(q)] for (b, t), q in final.items() if b],
                    "a": [[price(t), qty(q)] for (b, t), q in final.items() if not b],
                }
            )
            start += len(group)
            previous_u = last_id

    def state(self, update_id: int) -> tuple[dict[int, int], dict[int, int]]:
        bids: dict[int, int] = {}
        asks: dict[int, int] = {}
        for is_bid, tick, lots in self.changes[: update_id - BASE_ID]:
            side = bids if is_bid else asks
            if lots:
                side[tick] = lots
            else:
                side.pop(tick, None)
        return bids, asks

    def snapshot(self, update_id: int) -> dict[str, Any]:
        bids, asks = self.state(update_id)
        return {
            "lastUpdateId": update_id,
            "bids": [[price(t), qty(bids[t])] for t in sorted(bids, reverse=True)],
            "asks": [[price(t), qty(asks[t])] for t in sorted(asks)],
        }

    def expected(self, update_id: int) -> tuple[list[Any], list[Any]]:
        bids, asks = self.state(update_id)
        return (
            [(t / 100, bids[t] / 1000) for t in sorted(bids, reverse=True)],
            [(t / 100, asks[t] / 1000) for t in sorted(asks)],
        )


changes = st.lists(
    st.tuples(st.booleans(), st.integers(1, 40), st.integers(0, 3)), min_size=1, max_size=80
).map(lambda cs: [(b, t if b else t + 40, q) for b, t, q in cs])  # bids below asks
actions = st.lists(
    st.one_of(
        st.just(("next", 0)),
        st.just(("next", 0)),
        st.just(("next", 0)),
        st.tuples(st.just("drop"), st.integers(1, 4)),  # lost events: a reconnect's gap
        st.tuples(st.just("duplicate"), st.integers(0, 0)),
        st.tuples(st.just("stale"), st.integers(0, 1000)),
        st.tuples(st.just("snapshot"), st.integers(-5, 5)),  # lagging or leading
        st.tuples(st.just("garbage"), st.integers(0, 0)),
    ),
    max_size=150,
)


@settings(max_examples=300, deadline=None)
@given(
    spot=st.booleans(),
    changes=changes,
    sizes=st.lists(st.integers(1, 4), min_size=80, max_size=80),
    actions=actions,
)
def test_a_synced_book_is_always_the_true_book_at_its_id(
    spot: bool, changes: list[Change], sizes: list[int], actions: list[tuple[str, int]]
) -> None:
    exchange = Exchange(changes, sizes)
    events = exchange.events
    sync = BookSync("BTCUSDT", spot=spot)
    sent = 0  # events the exchange has published so far
    resyncs = 0

    def check() -> None:
        book = sync.book
        if book is not None:
            assert (book.bids(), book.asks()) == exchange.expected(book.update_id)
            assert book.update_id <= BASE_ID + len(changes)

    def deliver(event: Any) -> None:
        nonlocal resyncs
        try:
            applied = sync.event(event)
        except OutOfSync:
            resyncs += 1
            assert not sync.synced  # reported as resyncing, never shown wrong
            return
        if applied:
            assert sync.book is not None and sync.book.update_id == event["u"]
        check()

    for action, arg in actions:
        if action == "next" and sent < len(events):
            deliver(events[sent])
            sent += 1
        elif action == "drop":
            sent = min(len(events), sent + arg)
        elif action == "duplicate" and sent:
            deliver(events[sent - 1])
        elif action == "stale" and sent:
            deliver(events[arg % sent])
        elif action == "garbage":
            deliver({"e": "depthUpdate", "U": "x"})
        elif action == "snapshot" and not sync.synced:
            # The exchange's book now (what it has published), give or take a few ids.
            now = events[sent - 1]["u"] if sent else BASE_ID
            at = max(BASE_ID, min(BASE_ID + len(changes), now + arg))
            sync.snapshot(parse_snapshot(exchange.snapshot(at)))
            check()
    # Delivered in order from here on, with a fresh snapshot when asked for, the book
    # ends in sync at the exchange's last id.
    for _ in range(3):
        if not sync.synced:
            now = events[sent - 1]["u"] if sent else BASE_ID
            sync.snapshot(parse_snapshot(exchange.snapshot(now)))
            check()
        while sent < len(events):
            deliver(events[sent])
            sent += 1
    # Events dropped last leave a true but older book until an event shows the gap:
    # the last event again (as a new one would) shows it.
    deliver(events[-1])
    if not sync.synced:
        sync.snapshot(parse_snapshot(exchange.snapshot(events[-1]["u"])))
    assert sync.book is not None and sync.book.update_id == events[-1]["u"]
    check()
