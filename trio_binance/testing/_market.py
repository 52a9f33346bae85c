"""A synthetic market: order books, trades, klines and tickers for the fake exchange.

Each symbol keeps an integer order book (prices in ticks of 0.01, quantities in
lots of 0.001) that changes one level at a time; every change takes the next
update id.  The diff-depth streams batch the changes of each ``depth_interval``
into one ``depthUpdate`` (``U`` = first id, ``u`` = last id, and on futures and
options ``pu`` = the previous event's ``u``), so a REST snapshot taken at any
moment lines up with the stream exactly as Binance's local-order-book recipe
expects.  Trade and aggregate-trade ids grow by one per trade.

All state advances whether or not anyone listens, so ids stay continuous; the
JSON payloads are only built for streams that have subscribers.  The whole
market runs in one task, so the order of events at equal times is deterministic
under ``MockClock``.
"""

from __future__ import annotations

import dataclasses
import heapq
import logging
import random
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol, final

import orjson
import trio

from .._endpoints import Product

__all__ = ["FakeMarket"]

logger = logging.getLogger(__name__)

_PRICE_SCALE = 2  # prices in ticks of 0.01
_QTY_SCALE = 3  # quantities in lots of 0.001
_QUOTE_SCALE = _PRICE_SCALE + _QTY_SCALE
_BOOK_LEVELS = 20
_MAX_LEVELS = 40


class Outlet(Protocol):
    """What the market needs from the exchange."""

    def now_ms(self) -> int: ...

    def has_subscribers(self, stream: str, product: Product) -> bool: ...

    def publish_encoded(self, stream: str, data: str, product: Product) -> int: ...


def _fmt(value: int, scale: int, decimals: int) -> str:
    """``value / 10**scale`` as a decimal string with ``decimals`` places (>= scale)."""
    sign = "-" if value < 0 else ""
    whole, frac = divmod(abs(value), 10**scale)
    return f"{sign}{whole}.{frac:0{scale}d}{'0' * (decimals - scale)}"


@dataclasses.dataclass
class _Candle:
    start: int  # open time, ms
    open: int
    high: int
    low: int
    close: int
    volume: int = 0
    quote: int = 0
    taker_volume: int = 0
    taker_quote: int = 0
    count: int = 0
    first_id: int = -1
    last_id: int = -1


class _Names:
    """The stream names one symbol publishes on, per product."""

    def __init__(self, product: Product, s: str) -> None:
        options = product is Product.OPTIONS
        spot = product is Product.SPOT
        self.trade = f"{s}@optionTrade" if options else f"{s}@trade"
        self.agg_trade = None if options else f"{s}@aggTrade"
        self.book_ticker = f"{s}@bookTicker"
        speeds = ("", "@100ms") if spot else ("", "@100ms", "@500ms")
        self.diff_depth = tuple(f"{s}@depth{speed}" for speed in speeds)
        self.partial_depth = tuple(
            (f"{s}@depth{levels}{speed}", levels) for levels in (5, 10, 20) for speed in speeds
        )
        self.kline = f"{s}@kline_1m"
        self.mini_ticker = None if options else f"{s}@miniTicker"
        self.ticker = f"{s}@optionTicker" if options else f"{s}@ticker"


class _Symbol:
    """State of one symbol: book, update ids, trades, candle and day statistics."""

    def __init__(self, product: Product, symbol: str, price: int, rng: random.Random) -> None:
        self.product = product
        self.symbol = symbol
        self.pair = symbol.split("_")[0]
        self.rng = rng
        self.names = _Names(product, symbol.lower())
        spot = product is Product.SPOT
        self.price_decimals = 8 if spot else _PRICE_SCALE
        self.qty_decimals = 8 if spot else _QTY_SCALE
        self.quote_decimals = 8 if spot else _QUOTE_SCALE
        self.bids = {price - 1 - i: rng.randint(1, 5000) for i in range(_BOOK_LEVELS)}
        self.asks = {price + 1 + i: rng.randint(1, 5000) for i in range(_BOOK_LEVELS)}
        self.update_id = 1_000_000
        self.last_u = self.update_id  # ``u`` of the previous diff event
        self.pending: dict[tuple[bool, int], int] = {}
        self.pending_first: int | None = None
        self.drop_depth = 0
        self.top = self.best()
        self.trade_id = 100_000
        self.agg_id = 10_000
        self.last_price = price
        self.last_qty = 0
        self.day = _Candle(start=-1, open=price, high=price, low=price, close=price)
        self.candle = _Candle(start=-1, open=price, high=price, low=price, close=price)
        self.closed_candle: _Candle | None = None

    def p(self, ticks: int) -> str:
        return _fmt(ticks, _PRICE_SCALE, self.price_decimals)

    def q(self, lots: int) -> str:
        return _fmt(lots, _QTY_SCALE, self.qty_decimals)

    def quote(self, amount: int) -> str:
        return _fmt(amount, _QUOTE_SCALE, self.quote_decimals)

    def best(self) -> tuple[int, int, int, int]:
        bid, ask = max(self.bids), min(self.asks)
        return bid, self.bids[bid], ask, self.asks[ask]

    def levels(self, is_bid: bool, limit: int) -> list[list[str]]:
        book = self.bids if is_bid else self.asks
        return [
            [self.p(price), self.q(book[price])] for price in sorted(book, reverse=is_bid)[:limit]
        ]

    # ---------------------------------------------------------------- book

    def set_level(self, is_bid: bool, price: int, qty: int) -> None:
        book = self.bids if is_bid else self.asks
        if qty:
            book[price] = qty
        else:
            del book[price]
        self.update_id += 1
        self.pending[(is_bid, price)] = qty
        if self.pending_first is None:
            self.pending_first = self.update_id

    def step_book(self) -> None:
        """One random change to one level near the top of the book."""
        rng = self.rng
        is_bid = rng.random() < 0.5
        book = self.bids if is_bid else self.asks
        best_bid, best_ask = max(self.bids), min(self.asks)
        roll = rng.random()
        if len(book) > _MAX_LEVELS:
            self.set_level(is_bid, min(book) if is_bid else max(book), 0)
        elif roll < 0.3 or len(book) < _BOOK_LEVELS // 2:
            if best_ask - best_bid > 1 and rng.random() < 0.7:
                price = best_bid + 1 if is_bid else best_ask - 1
            else:
                price = min(book) - 1 if is_bid else max(book) + 1
            if price >= 1:
                self.set_level(is_bid, price, rng.randint(1, 5000))
        elif roll < 0.55 and len(book) > 5:
            self.set_level(is_bid, rng.choice(sorted(book, reverse=is_bid)[:5]), 0)
        else:
            # Mostly the best level, so the top of the book moves often.
            levels = sorted(book, reverse=is_bid)[: 1 if rng.random() < 0.5 else 10]
            self.set_level(is_bid, rng.choice(levels), rng.randint(1, 5000))

    # -------------------------------------------------------------- trades

    def trade(self, now: int) -> bool:
        """One trade at the top of the book; returns True if the taker bought."""
        is_buy = self.rng.random() < 0.5
        price = min(self.asks) if is_buy else max(self.bids)
        qty = self.rng.randint(1, 2000)
        self.trade_id += 1
        self.agg_id += 1
        self.last_price, self.last_qty = price, qty
        self.roll_candle(now)
        for candle in (self.candle, self.day):
            candle.high = max(candle.high, price)
            candle.low = min(candle.low, price)
            candle.close = price
            candle.volume += qty
            candle.quote += price * qty
            if is_buy:
                candle.taker_volume += qty
                candle.taker_quote += price * qty
            candle.count += 1
            if candle.first_id < 0:
                candle.first_id = self.trade_id
            candle.last_id = self.trade_id
        return is_buy

    def roll_candle(self, now: int) -> None:
        start = now - now % 60_000
        if start != self.candle.start:
            if self.candle.start >= 0:
                self.closed_candle = self.candle
            price = self.last_price
            self.candle = _Candle(start=start, open=price, high=price, low=price, close=price)


@final
class FakeMarket:
    """A running synthetic market of one product.

    Created by :meth:`FakeBinance.start_market`; runs in the fake exchange's
    nursery until the fake closes or :meth:`stop` is called.

    Attributes:
        product: The product the market publishes for.
        symbols: Its symbols, uppercase, e.g. ``("BTCUSDT",)``.
    """

    def __init__(
        self,
        outlet: Outlet,
        *,
        product: Product,
        symbols: Iterable[str],
        seed: int,
        trade_interval: float | None,
        depth_interval: float | None,
        book_ticker_interval: float | None,
        kline_interval: float | None,
        ticker_interval: float | None,
        start_prices: Mapping[str, float] | None,
    ) -> None:
        self.product = product
        self.symbols = tuple(dict.fromkeys(s.upper() for s in symbols))
        if not self.symbols:
            raise ValueError("start_market needs at least one symbol")
        prices = {k.upper(): v for k, v in (start_prices or {}).items()}
        self._outlet = outlet
        self._state = {
            symbol: _Symbol(
                product,
                symbol,
                max(10, round(prices.get(symbol, 100.0) * 10**_PRICE_SCALE)),
                random.Random(f"{seed}/{product.value}/{symbol}"),
            )
            for symbol in self.symbols
        }
        self._schedule: list[tuple[float, Callable[[], None]]] = []
        for interval, tick in (
            (book_ticker_interval, self._book_tick),
            (trade_interval, self._trade_tick),
            (depth_interval, self._depth_tick),
            (kline_interval, self._kline_tick),
            (ticker_interval, self._ticker_tick),
        ):
            if interval is not None:
                if not interval > 0:
                    raise ValueError(f"market intervals must be positive, got {interval!r}")
                self._schedule.append((interval, tick))
        self._scope = trio.CancelScope()
        now = outlet.now_ms()
        for state in self._state.values():
            state.roll_candle(now)
            state.day.start = now

    def __repr__(self) -> str:
        return f"<FakeMarket {self.product.value} {','.join(self.symbols)}>"

    # ------------------------------------------------------------ inspection

    def _symbol(self, symbol: str) -> _Symbol:
        try:
            return self._state[symbol.upper()]
        except KeyError:
            raise KeyError(f"{symbol!r} is not traded in {self!r}") from None

    def last_update_id(self, symbol: str) -> int:
        """The id of the latest order-book change of ``symbol``."""
        return self._symbol(symbol).update_id

    def last_trade_id(self, symbol: str) -> int:
        """The ``t`` of the latest trade of ``symbol``."""
        return self._symbol(symbol).trade_id

    def last_agg_trade_id(self, symbol: str) -> int:
        """The ``a`` of the latest aggregate trade of ``symbol``."""
        return self._symbol(symbol).agg_id

    def depth_snapshot(self, symbol: str, limit: int = 100) -> dict[str, Any]:
        """The REST depth snapshot of ``symbol`` right now, in the product's shape.

        Spot: ``{lastUpdateId, bids, asks}``; futures and options add ``E`` and
        ``T``; COIN-M also ``symbol`` and ``pair``.
        """
        state = self._symbol(symbol)
        snapshot: dict[str, Any] = {"lastUpdateId": state.update_id}
        if self.product is not Product.SPOT:
            now = self._outlet.now_ms()
            if self.product is Product.COINM:
                snapshot.update(symbol=state.symbol, pair=state.pair)
            snapshot.update(E=now, T=now)
        snapshot["bids"] = state.levels(True, limit)
        snapshot["asks"] = state.levels(False, limit)
        return snapshot

    # -------------------------------------------------------------- scripting

    def drop_depth_events(self, symbol: str, count: int = 1) -> None:
        """Lose the next ``count`` diff-depth events of ``symbol``: a sequence gap.

        The events are generated (the book and ids move on, REST snapshots
        include them) but never delivered, so a client sees ``U`` jump (spot)
        or ``pu`` differ from the last ``u`` it saw (futures and options).
        """
        self._symbol(symbol).drop_depth += count

    def flood_depth(self, symbol: str, count: int) -> None:
        """Publish ``count`` diff-depth events of ``symbol`` at once, as a replay or a
        backfill would: each is one more change of the book (ids continue, REST
        snapshots follow).  Whatever changed since the last event goes out first.

        Connections queue the frames (see ``FakeSettings.send_queue_size``).
        """
        state = self._symbol(symbol)
        self._publish_diff(state)
        for _ in range(count):
            state.step_book()
            self._publish_diff(state)

    def stop(self) -> None:
        """Stop publishing; the state (and REST snapshots) stay as they are."""
        self._scope.cancel()

    async def _run(self) -> None:
        with self._scope:
            start = trio.current_time()
            heap = [(start + interval, index) for index, (interval, _) in enumerate(self._schedule)]
            heapq.heapify(heap)
            while heap:
                when, index = heapq.heappop(heap)
                await trio.sleep_until(when)
                interval, tick = self._schedule[index]
                tick()
                heapq.heappush(heap, (when + interval, index))

    # ------------------------------------------------------------ publishing

    def _wanted(self, name: str | None) -> bool:
        return name is not None and self._outlet.has_subscribers(name, self.product)

    def _send(self, name: str | None, payload: object) -> None:
        if name is not None:
            self._outlet.publish_encoded(name, orjson.dumps(payload).decode(), self.product)

    def _book_tick(self) -> None:
        for state in self._state.values():
            state.step_book()
            top = state.best()
            if top == state.top:
                continue
            state.top = top
            if not self._wanted(state.names.book_ticker):
                continue
            bid, bid_qty, ask, ask_qty = top
            payload: dict[str, Any] = {"u": state.update_id}
            if self.product is not Product.SPOT:
                now = self._outlet.now_ms()
                payload = {"e": "bookTicker", "u": state.update_id, "E": now, "T": now}
            payload.update(s=state.symbol)
            if self.product is Product.COINM:
                payload["ps"] = state.pair
            payload.update(b=state.p(bid), B=state.q(bid_qty), a=state.p(ask), A=state.q(ask_qty))
            self._send(state.names.book_ticker, payload)

    def _depth_tick(self) -> None:
        spot = self.product is Product.SPOT
        for state in self._state.values():
            names = state.names
            first = state.update_id if state.pending_first is None else state.pending_first
            partial = [(n, levels) for n, levels in names.partial_depth if self._wanted(n)]
            if partial:
                now = self._outlet.now_ms()
                for name, levels in partial:
                    bids, asks = state.levels(True, levels), state.levels(False, levels)
                    if spot:
                        body: dict[str, Any] = {"lastUpdateId": state.update_id}
                        body.update(bids=bids, asks=asks)
                    else:
                        body = self._depth_event(state, now, first, bids, asks)
                    self._send(name, body)
            self._publish_diff(state)

    def _publish_diff(self, state: _Symbol) -> None:
        """Send the changes since the last diff event as one ``depthUpdate``."""
        if not state.pending:
            return
        first = state.pending_first
        assert first is not None
        dropped = state.drop_depth > 0
        if dropped:
            state.drop_depth -= 1
        wanted = [n for n in state.names.diff_depth if self._wanted(n)]
        if wanted and not dropped:
            changes = sorted(state.pending.items(), key=lambda item: item[0][1])
            bids = [[state.p(p), state.q(q)] for (b, p), q in reversed(changes) if b]
            asks = [[state.p(p), state.q(q)] for (b, p), q in changes if not b]
            event = self._depth_event(state, self._outlet.now_ms(), first, bids, asks)
            data = orjson.dumps(event).decode()
            for name in wanted:
                self._outlet.publish_encoded(name, data, self.product)
        state.last_u = state.update_id
        state.pending.clear()
        state.pending_first = None

    def _depth_event(
        self, state: _Symbol, now: int, first: int, bids: list[list[str]], asks: list[list[str]]
    ) -> dict[str, Any]:
        event: dict[str, Any] = {"e": "depthUpdate", "E": now}
        if self.product is not Product.SPOT:
            event["T"] = now
        event["s"] = state.symbol
        if self.product is Product.COINM:
            event["ps"] = state.pair
        event.update(U=first, u=state.update_id)
        if self.product is not Product.SPOT:
            event["pu"] = state.last_u
        event.update(b=bids, a=asks)
        return event

    def _trade_tick(self) -> None:
        now = self._outlet.now_ms()
        spot = self.product is Product.SPOT
        for state in self._state.values():
            is_buy = state.trade(now)
            names = state.names
            price, qty = state.p(state.last_price), state.q(state.last_qty)
            if self._wanted(names.trade):
                trade: dict[str, Any] = {"e": "trade", "E": now}
                if spot:
                    trade.update(s=state.symbol, t=state.trade_id, p=price, q=qty, T=now)
                    trade.update(m=not is_buy, M=True)
                else:
                    trade.update(T=now, s=state.symbol, t=state.trade_id, p=price, q=qty)
                    trade.update(X="MARKET", S="BUY" if is_buy else "SELL", m=not is_buy)
                self._send(names.trade, trade)
            if self._wanted(names.agg_trade):
                agg: dict[str, Any] = {"e": "aggTrade", "E": now, "s": state.symbol}
                agg.update(a=state.agg_id, p=price, q=qty)
                if not spot:
                    agg["nq"] = qty
                agg.update(f=state.trade_id, l=state.trade_id, T=now, m=not is_buy)
                if spot:
                    agg["M"] = True
                self._send(names.agg_trade, agg)

    def _kline_tick(self) -> None:
        now = self._outlet.now_ms()
        for state in self._state.values():
            state.roll_candle(now)
            closed, state.closed_candle = state.closed_candle, None
            if not self._wanted(state.names.kline):
                continue
            for candle, final_ in ((closed, True), (state.candle, False)):
                if candle is None:
                    continue
                k: dict[str, Any] = {"t": candle.start, "T": candle.start + 59_999}
                k.update(s=state.symbol, i="1m", f=candle.first_id, L=candle.last_id)
                k.update(o=state.p(candle.open), c=state.p(candle.close))
                k.update(h=state.p(candle.high), l=state.p(candle.low), v=state.q(candle.volume))
                k.update(n=candle.count, x=final_, q=state.quote(candle.quote))
                k.update(V=state.q(candle.taker_volume), Q=state.quote(candle.taker_quote), B="0")
                self._send(state.names.kline, {"e": "kline", "E": now, "s": state.symbol, "k": k})

    def _ticker_tick(self) -> None:
        now = self._outlet.now_ms()
        spot = self.product is Product.SPOT
        for state in self._state.values():
            day, names = state.day, state.names
            if self._wanted(names.mini_ticker):
                mini: dict[str, Any] = {"e": "24hrMiniTicker", "E": now, "s": state.symbol}
                mini.update(c=state.p(day.close), o=state.p(day.open), h=state.p(day.high))
                mini.update(l=state.p(day.low), v=state.q(day.volume), q=state.quote(day.quote))
                self._send(names.mini_ticker, mini)
            if not self._wanted(names.ticker):
                continue
            change = day.close - day.open
            average = day.quote // day.volume if day.volume else day.close
            ticker: dict[str, Any] = {"e": "24hrTicker", "E": now, "s": state.symbol}
            ticker.update(p=state.p(change), P=f"{change * 100 / day.open:.3f}", w=state.p(average))
            if spot:
                ticker["x"] = state.p(day.open)
            ticker.update(c=state.p(day.close), Q=state.q(state.last_qty))
            if spot:
                bid, bid_qty, ask, ask_qty = state.best()
                ticker.update(
                    b=state.p(bid), B=state.q(bid_qty), a=state.p(ask), A=state.q(ask_qty)
                )
            ticker.update(o=state.p(day.open), h=state.p(day.high), l=state.p(day.low))
            ticker.update(v=state.q(day.volume), q=state.quote(day.quote), O=day.start, C=now)
            ticker.update(F=day.first_id, L=day.last_id, n=day.count)
            self._send(names.ticker, ticker)
