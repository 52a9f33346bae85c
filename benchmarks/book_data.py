"""The order-book benchmark's market: a deep spot book and its diff stream.

Deterministic (seeded).  The book starts with ``levels`` price levels a side, one
tick apart around 50,000.00; each diff event changes ``per_event`` levels (both sides
together), mostly near the top, as Binance's diff streams do: about 60% of changes
set a new quantity on a level the book holds, 20% remove one, 20% add one.  Prices
and quantities are spot-formatted (8 decimals).  Events chain like spot's
(``U == previous u + 1``), one update id per changed level, starting right after the
snapshot's ``lastUpdateId``, so every client joins at the first try.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import orjson

__all__ = ["FIRST_ID", "BookData", "build_book", "fmt_price", "fmt_qty"]

FIRST_ID = 1_000_000
_MID = 5_000_000  # ticks of 0.01


def fmt_price(ticks: int) -> str:
    return f"{ticks // 100}.{ticks % 100:02d}000000"


def fmt_qty(lots: int) -> str:
    return f"{lots // 1000}.{lots % 1000:03d}00000"


@dataclass
class BookData:
    """A snapshot (as REST JSON levels, best first) and the diff events after it."""

    last_update_id: int
    bids: list[list[str]]
    asks: list[list[str]]
    events: list[dict[str, object]]

    def snapshot_json(self, limit: int, last_update_id: int | None = None) -> bytes:
        return orjson.dumps(
            {
                "lastUpdateId": self.last_update_id if last_update_id is None else last_update_id,
                "bids": self.bids[:limit],
                "asks": self.asks[:limit],
            }
        )


def build_book(levels: int, count: int, per_event: int = 10, seed: int = 13) -> BookData:
    """A ``levels``-deep book and ``count`` events of ``per_event`` changes each."""
    rng = random.Random(seed)
    bids = {_MID - 1 - i: rng.randint(1, 50_000) for i in range(levels)}
    asks = {_MID + 1 + i: rng.randint(1, 50_000) for i in range(levels)}
    snapshot_bids = [[fmt_price(p), fmt_qty(bids[p])] for p in sorted(bids, reverse=True)]
    snapshot_asks = [[fmt_price(p), fmt_qty(asks[p])] for p in sorted(asks)]
    best_bid, best_ask = max(bids), min(asks)
    events: list[dict[str, object]] = []
    update_id = FIRST_ID
    for _ in range(count):
        changed: dict[tuple[bool, int], int] = {}
        for _ in range(per_event * 4):
            if len(changed) >= per_event:
                break
            is_bid = rng.random() < 0.5
            side = bids if is_bid else asks
            depth = int(rng.expovariate(1 / 8))  # mostly the first few dozen ticks
            roll = rng.random()
            if roll < 0.2 and len(side) > levels // 2:  # remove a held level
                top = best_bid if is_bid else best_ask
                price = top - depth if is_bid else top + depth
                if price not in side:
                    continue
                del side[price]
                changed[(is_bid, price)] = 0
                if price == best_bid:
                    best_bid = max(bids)
                elif price == best_ask:
                    best_ask = min(asks)
            elif roll < 0.4:  # a new level (inside the spread when there is room)
                if best_ask - best_bid > 1 and rng.random() < 0.3:
                    price = best_bid + 1 if is_bid else best_ask - 1
                else:
                    top = best_bid if is_bid else best_ask
                    price = top - depth if is_bid else top + depth
                    if price in side:
                        price += -rng.randint(1, 5) if is_bid else rng.randint(1, 5)
                side[price] = changed[(is_bid, price)] = rng.randint(1, 50_000)
                best_bid, best_ask = (max(best_bid, price), best_ask) if is_bid else (
                    best_bid, min(best_ask, price))  # fmt: skip
            else:  # a new quantity on a held level
                top = best_bid if is_bid else best_ask
                price = top - depth if is_bid else top + depth
                if price not in side:
                    continue
                side[price] = changed[(is_bid, price)] = rng.randint(1, 50_000)
        if not changed:
            continue
        first = update_id + 1
        update_id += len(changed)
        events.append(
            {
                "e": "depthUpdate",
                "E": 1_700_000_000_000 + len(events),
                "s": "BTCUSDT",
                "U": first,
                "u": update_id,
                "b": [[fmt_price(p), fmt_qty(q)] for (b, p), q in changed.items() if b],
                "a": [[fmt_price(p), fmt_qty(q)] for (b, p), q in changed.items() if not b],
            }
        )
    return BookData(FIRST_ID, snapshot_bids, snapshot_asks, events)
