"""Local order books: Binance's sync rules (pure) and depth caches on the fake exchange.

The end-to-end tests compare the local book with the fake exchange's own book at the
same update id: a user's book is right only if it is the exchange's book.
"""

from __future__ import annotations

import dataclasses
import logging
from decimal import Decimal
from typing import Any

import pytest
import trio
import trio.testing

from trio_binance import (
    BinanceAPIError,
    DepthCache,
    DepthCacheHandle,
    FuturesType,
    Product,
    Settings,
)
from trio_binance._order_book import BookSync, OutOfSync, snapshot_weight, validate_depth_limit
from trio_binance.testing import FakeBinance

from ._support import client, library_tasks

# ---------------------------------------------------------------- pure: the rules


def ev(
    first: int, last: int, bids: Any = (), asks: Any = (), pu: int | None = None
) -> dict[str, Any]:
    event: dict[str, Any] = {"e": "depthUpdate", "E": last, "U": first, "u": last}
    if pu is not None:
        event["pu"] = pu
    event["b"] = [list(level) for level in bids]
    event["a"] = [list(level) for level in asks]
    return event


def snap(last: int, bids: Any = (("10", "1"),), asks: Any = (("11", "1"),)) -> dict[str, Any]:
    return {"lastUpdateId": last, "bids": [list(b) for b in bids], "asks": [list(a) for a in asks]}


def test_spot_joins_the_snapshot_and_drops_what_it_holds() -> None:
    sync = BookSync("BTCUSDT", spot=True)
    sync.event(ev(95, 100, bids=[("9", "5")]))  # entirely in the snapshot: dropped
    sync.event(ev(101, 103, bids=[("10", "2")]))  # U <= 101 <= u: the first applied
    sync.event(ev(104, 104, asks=[("11", "0")]))
    assert not sync.synced
    assert sync.snapshot(snap(101))
    book = sync.book
    assert book is not None
    assert book.update_id == 104
    assert book.get_bids() == [(10.0, 2.0)]  # "9" was before the snapshot: never applied
    assert book.get_asks() == []
    assert sync.event(ev(105, 106, asks=[("12", "3")]))
    assert book.best_ask() == (12.0, 3.0)
    assert not sync.event(ev(100, 106))  # old news: ignored
    with pytest.raises(OutOfSync, match="expected update 107, got 108"):
        sync.event(ev(108, 109))


def test_spot_may_join_at_last_update_id_plus_one() -> None:
    sync = BookSync("BTCUSDT", spot=True)
    sync.event(ev(101, 102))
    assert sync.snapshot(snap(100))
    assert sync.book is not None and sync.book.update_id == 102


def test_a_snapshot_older_than_the_stream_is_refused_and_the_buffer_kept() -> None:
    sync = BookSync("BTCUSDT", spot=True)
    sync.event(ev(105, 107))
    assert not sync.snapshot(snap(103))  # 104 was never seen: this snapshot cannot join
    assert not sync.synced and len(sync.buffered) == 1
    sync.event(ev(108, 110, bids=[("10", "4")]))
    assert sync.snapshot(snap(109))
    assert sync.book is not None
    assert sync.book.update_id == 110 and sync.book.get_bids() == [(10.0, 4.0)]

    futures = BookSync("BTCUSDT", spot=False)
    futures.event(ev(101, 102, pu=100))
    assert not futures.snapshot(snap(100))  # futures need U <= lastUpdateId
    assert futures.snapshot(snap(101))


def test_futures_rules_strict_drop_and_previous_update_chain() -> None:
    sync = BookSync("BTCUSDT", spot=False)
    sync.event(ev(90, 99, pu=89))  # u < 100: dropped
    sync.event(ev(100, 100, bids=[("10", "7")], pu=99))  # u == lastUpdateId: applied
    sync.event(ev(101, 105, bids=[("9", "1")], pu=100))
    assert sync.snapshot(snap(100))
    book = sync.book
    assert book is not None
    assert book.update_id == 105
    assert book.get_bids() == [(10.0, 7.0), (9.0, 1.0)]
    assert sync.event(ev(106, 110, pu=105))
    with pytest.raises(OutOfSync, match="follows 111"):
        sync.event(ev(112, 115, pu=111))


def test_a_hole_in_the_buffer_fails_the_join_and_resets() -> None:
    sync = BookSync("BTCUSDT", spot=False)
    sync.event(ev(100, 101, pu=99))
    sync.event(ev(105, 106, pu=104))  # 102..104 lost
    with pytest.raises(OutOfSync):
        sync.snapshot(snap(100))
    assert not sync.synced and sync.buffered == []


def test_quantities_are_absolute_and_zero_removes_in_any_format() -> None:
    book = DepthCache("BTCUSDT")
    book._load(snap(1, bids=[("100.00", "1.000"), ("99.50", "2")], asks=[("101", "3")]))
    book._apply(ev(2, 2, bids=[("100.00", "0.000"), ("98", "0.00000000")], asks=[("101", "4")]))
    assert book.get_bids() == [(99.5, 2.0)]  # removed, and removing unknown 98 is fine
    assert book.get_asks() == [(101.0, 4.0)]
    book._apply(ev(3, 3, bids=[("100.5", "1")], asks=[("100.9", "1"), ("102", "1")]))
    assert book.get_bids(1) == [(100.5, 1.0)]
    assert book.get_asks() == [(100.9, 1.0), (101.0, 4.0), (102.0, 1.0)]
    assert book.get_asks(limit=2) == [(100.9, 1.0), (101.0, 4.0)]
    kept = book.copy()
    book._apply(ev(4, 4, asks=[("100.9", "0")]))
    assert book.best_ask() == (101.0, 4.0)
    assert kept.best_ask() == (100.9, 1.0) and kept.update_id == 3
    assert "BTCUSDT" in repr(book) and "update_id=4" in repr(book)


def test_decimal_books_are_exact() -> None:
    book = DepthCache("BTCUSDT", Decimal)
    book._load(snap(1, bids=[("0.1", "0.3")], asks=[]))
    book._apply(ev(2, 2, bids=[("0.10", "0.30000000")]))  # the same level, written longer
    assert book.get_bids() == [(Decimal("0.1"), Decimal("0.30000000"))]
    assert book.best_ask() is None


def test_malformed_events_are_refused() -> None:
    sync = BookSync("BTCUSDT", spot=True)
    for bad in ({"e": "depthUpdate"}, [1, 2], {"U": "1", "u": 2, "b": [], "a": []}):
        with pytest.raises(ValueError, match="not a depthUpdate"):
            sync.event(bad)  # type: ignore[arg-type]
    assert sync.buffered == []


def test_snapshot_limits_name_what_is_allowed() -> None:
    assert validate_depth_limit(Product.SPOT, 5000) == 5000
    with pytest.raises(ValueError, match="an int from 1 to 5000"):
        validate_depth_limit(Product.SPOT, 5001)
    with pytest.raises(ValueError, match="5, 10, 20, 50, 100, 500, 1000"):
        validate_depth_limit(Product.USDM, 200)
    with pytest.raises(ValueError, match="one of 10, 20"):
        validate_depth_limit(Product.OPTIONS, 5)
    with pytest.raises(ValueError):
        validate_depth_limit(Product.SPOT, True)


# ------------------------------------------------------- end to end on the fake

OPTION = "BTC-261225-100000-C"


def exchange_book(fake: FakeBinance, product: Product, symbol: str) -> tuple[Any, Any, int]:
    market = fake.markets[product]
    snapshot = market.depth_snapshot(symbol, 5000)
    bids = [(float(p), float(q)) for p, q in snapshot["bids"]]
    asks = [(float(p), float(q)) for p, q in snapshot["asks"]]
    return bids, asks, snapshot["lastUpdateId"]


async def check_matches(
    fake: FakeBinance, product: Product, symbol: str, book: DepthCacheHandle, updates: int
) -> int:
    """Receive ``updates`` books; each that is current must equal the exchange's."""
    compared = 0
    for _ in range(updates):
        cache = await book.receive()
        bids, asks, last = exchange_book(fake, product, symbol)
        if cache.update_id == last:  # nothing changed on the exchange since
            assert cache.get_bids() == bids
            assert cache.get_asks() == asks
            compared += 1
        best_bid, best_ask = cache.best_bid(), cache.best_ask()
        assert best_bid is not None and best_ask is not None and best_bid[0] < best_ask[0]
    return compared


def open_book(bsm: Any, product: Product, symbol: str, **options: Any) -> DepthCacheHandle:
    if product is Product.SPOT:
        return bsm.depth_cache(symbol, **options)  # type: ignore[no-any-return]
    if product is Product.OPTIONS:
        return bsm.options_depth_cache(symbol, **options)  # type: ignore[no-any-return]
    futures_type = FuturesType.USD_M if product is Product.USDM else FuturesType.COIN_M
    return bsm.futures_depth_cache(symbol, futures_type=futures_type, **options)  # type: ignore[no-any-return]


PRODUCTS = [
    (Product.SPOT, "BTCUSDT"),
    (Product.USDM, "BTCUSDT"),
    (Product.COINM, "BTCUSD_PERP"),
    (Product.OPTIONS, OPTION),
]


@pytest.mark.parametrize(("product", "symbol"), PRODUCTS, ids=[p.value for p, _ in PRODUCTS])
async def test_book_equals_the_exchange_book(
    fake_binance: FakeBinance, autojump_clock: trio.testing.MockClock, product: Product, symbol: str
) -> None:
    fake_binance.start_market([symbol], product, depth_interval=0.5, book_ticker_interval=0.1)
    async with client(fake_binance) as bsm, open_book(bsm, product, symbol) as book:
        assert book.cache is not None
        assert await check_matches(fake_binance, product, symbol, book, 30) >= 25
        assert book.resyncs == 0
    depth_requests = [r for r in fake_binance.rest_requests if r.path.endswith("/depth")]
    assert len(depth_requests) == 1  # joined at the first try: one snapshot


@pytest.mark.parametrize(("product", "symbol"), PRODUCTS[:2], ids=["spot", "usdm"])
async def test_missed_updates_rebuild_the_book(
    fake_binance: FakeBinance,
    autojump_clock: trio.testing.MockClock,
    caplog: pytest.LogCaptureFixture,
    product: Product,
    symbol: str,
) -> None:
    market = fake_binance.start_market([symbol], product, depth_interval=0.5)
    async with client(fake_binance) as bsm, open_book(bsm, product, symbol) as book:
        await check_matches(fake_binance, product, symbol, book, 5)
        market.drop_depth_events(symbol, 2)
        assert await check_matches(fake_binance, product, symbol, book, 20) >= 15
        assert book.resyncs == 1
    assert "fetching a new snapshot" in caplog.text


async def test_reconnect_rebuilds_the_book(
    fake_binance: FakeBinance, autojump_clock: trio.testing.MockClock
) -> None:
    fake_binance.start_market(["BTCUSDT"], depth_interval=0.5)
    async with client(fake_binance) as bsm, bsm.depth_cache("BTCUSDT") as book:
        await check_matches(fake_binance, Product.SPOT, "BTCUSDT", book, 3)
        [conn] = fake_binance.open_connections()
        fake_binance.reject_handshakes(503, count=3)  # seconds of backoff: updates missed
        conn.drop()
        # The first books are the buffered past (each one a state the exchange had);
        # then the book is current again.
        assert await check_matches(fake_binance, Product.SPOT, "BTCUSDT", book, 30) >= 15
        assert book.resyncs == 1
        assert book.stream.stats.reconnects == 1


async def test_a_slow_reader_gets_a_rebuilt_book_not_a_wrong_one(
    fake_binance: FakeBinance, autojump_clock: trio.testing.MockClock
) -> None:
    fake_binance.start_market(["BTCUSDT"], depth_interval=0.1)
    async with client(fake_binance) as bsm:
        async with bsm.depth_cache("BTCUSDT", max_queue_size=5) as book:
            await trio.sleep(10)  # 100 updates arrive; the buffer keeps 5
            assert book.stream.stats.dropped > 0
            assert await check_matches(fake_binance, Product.SPOT, "BTCUSDT", book, 10) >= 8
            assert book.resyncs == 1


async def test_snapshot_errors_are_retried_or_raised(
    fake_binance: FakeBinance, autojump_clock: trio.testing.MockClock
) -> None:
    fake_binance.start_market(["BTCUSDT"], depth_interval=0.5)
    fake_binance.reject_rest(503, count=2, path="/api/v3/depth")
    async with client(fake_binance) as bsm:
        async with bsm.depth_cache("BTCUSDT") as book:
            assert book.cache is not None
        statuses = [r.path for r in fake_binance.rest_requests if r.path == "/api/v3/depth"]
        assert len(statuses) == 3
        fake_binance.reject_rest(
            400, path="/api/v3/depth", body={"code": -1121, "msg": "Invalid symbol."}
        )
        with pytest.raises(BinanceAPIError) as caught:
            async with bsm.depth_cache("BTCUSDT"):
                pass  # pragma: no cover
        assert caught.value.code == -1121


async def test_refresh_interval_rebuilds_periodically(
    fake_binance: FakeBinance, autojump_clock: trio.testing.MockClock
) -> None:
    fake_binance.start_market(["BTCUSDT"], depth_interval=1.0)
    async with client(fake_binance) as bsm:
        async with bsm.depth_cache("BTCUSDT", refresh_interval=10) as book:
            await check_matches(fake_binance, Product.SPOT, "BTCUSDT", book, 25)
            assert book.resyncs == 2


async def test_garbage_on_the_stream_rebuilds_the_book(
    fake_binance: FakeBinance, autojump_clock: trio.testing.MockClock
) -> None:
    fake_binance.start_market(["BTCUSDT"], depth_interval=0.5)
    async with client(fake_binance) as bsm, bsm.depth_cache("BTCUSDT") as book:
        await check_matches(fake_binance, Product.SPOT, "BTCUSDT", book, 2)
        fake_binance.publish("btcusdt@depth", {"e": "depthUpdate", "U": "x"})
        assert await check_matches(fake_binance, Product.SPOT, "BTCUSDT", book, 8) >= 6
        assert book.resyncs == 1


async def test_bad_arguments_fail_before_any_io(fake_binance: FakeBinance) -> None:
    async with client(fake_binance) as bsm:
        with pytest.raises(ValueError, match="limit must be an int from 1 to 5000"):
            bsm.depth_cache("BTCUSDT", limit=0)
        with pytest.raises(ValueError, match="interval"):
            bsm.depth_cache("BTCUSDT", ws_interval=250)
        with pytest.raises(ValueError, match="one of 5, 10"):
            bsm.futures_depth_cache("BTCUSDT", limit=7)
        with pytest.raises(ValueError, match="conv_type"):
            bsm.depth_cache("BTCUSDT", conv_type="float")  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="refresh_interval"):
            bsm.options_depth_cache(OPTION, refresh_interval=0)
        with pytest.raises(ValueError, match="max_queue_size"):
            bsm.depth_cache("BTCUSDT", max_queue_size=0)
        with pytest.raises(ValueError, match="symbol"):
            bsm.depth_cache("BTC/USDT")
        assert fake_binance.open_connections() == []
    assert fake_binance.rest_requests == []


async def test_leaving_the_manager_ends_the_book_and_every_task(
    fake_binance: FakeBinance, autojump_clock: trio.testing.MockClock
) -> None:
    fake_binance.start_market(["BTCUSDT"], depth_interval=0.5)
    seen = 0

    async def reader(book: DepthCacheHandle) -> None:
        nonlocal seen
        async for _cache in book:  # ends when the manager closes
            seen += 1

    async with trio.open_nursery() as nursery:
        async with client(fake_binance) as bsm:
            book = bsm.depth_cache("BTCUSDT")
            await book.wait_synced()
            nursery.start_soon(reader, book)
            await trio.sleep(3)
    assert seen >= 5
    assert library_tasks() == []


async def test_cancelled_while_syncing_then_used_again(
    fake_binance: FakeBinance, autojump_clock: trio.testing.MockClock
) -> None:
    fake_binance.start_market(["BTCUSDT"], depth_interval=0.5)
    fake_binance.reject_rest(503, count=3, path="/api/v3/depth")
    async with client(fake_binance) as bsm:
        book = bsm.depth_cache("BTCUSDT")
        with trio.move_on_after(0.6):  # inside the snapshot retries
            await book.wait_synced()
        assert book.cache is None
        async with book:
            assert await check_matches(fake_binance, Product.SPOT, "BTCUSDT", book, 5) >= 4
        with pytest.raises(trio.ClosedResourceError):
            await book.receive()


async def test_logs_never_show_a_wrong_book(
    fake_binance: FakeBinance,
    autojump_clock: trio.testing.MockClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="trio_binance")
    market = fake_binance.start_market(["BTCUSDT"], Product.USDM, depth_interval=0.25)
    async with client(fake_binance) as bsm, bsm.futures_depth_cache("BTCUSDT") as book:
        for round_ in range(3):
            market.drop_depth_events("BTCUSDT", 1 + round_)
            await check_matches(fake_binance, Product.USDM, "BTCUSDT", book, 12)
        assert book.resyncs == 3
    assert "in sync again" in caplog.text


async def test_one_task_reads_a_book(
    fake_binance: FakeBinance, autojump_clock: trio.testing.MockClock
) -> None:
    fake_binance.start_market(["BTCUSDT"], depth_interval=0.5)
    async with client(fake_binance) as bsm, bsm.depth_cache("BTCUSDT") as book:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(book.receive)
            await trio.testing.wait_all_tasks_blocked()
            with pytest.raises(trio.BusyResourceError, match="already reading"):
                await book.receive()
        assert (await book.receive()).update_id > 0  # free again


class ScriptedStream:
    """Stands in for the diff-depth handle: the test feeds events one by one."""

    name = "btcusdt@depth"

    def __init__(self) -> None:
        self.send, self.events = trio.open_memory_channel[dict[str, Any]](100)

    async def wait_live(self) -> None:
        await trio.lowlevel.checkpoint()

    async def receive(self) -> dict[str, Any]:
        return await self.events.receive()

    def receive_nowait(self) -> dict[str, Any]:
        return self.events.receive_nowait()

    async def aclose(self) -> None:
        await self.events.aclose()


async def test_a_hole_found_while_joining_backs_off_and_starts_over(
    autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    import random

    from trio_binance._backoff import Backoff, WindowBudget

    stream = ScriptedStream()
    snapshots = [snap(100), snap(120, bids=[("10", "9")])]
    fetched: list[float] = []

    async def fetch() -> dict[str, Any]:
        fetched.append(trio.current_time())
        await trio.lowlevel.checkpoint()
        return snapshots.pop(0)

    book = DepthCacheHandle(
        stream=stream,  # type: ignore[arg-type]
        sync=BookSync("BTCUSDT", spot=True),
        fetch=fetch,
        budget=WindowBudget(1000, 60.0),
        weight=25,
        backoff=Backoff(
            initial=1.0, maximum=8.0, reject=1.0, ban=1.0, reject_max=8.0, rng=random.Random(1)
        ),
        refresh_interval=None,
        description="spot BTCUSDT order book",
    )
    stream.send.send_nowait(ev(99, 101))
    stream.send.send_nowait(ev(105, 106))  # 102..104 never arrived: a hole

    async def later() -> None:
        await trio.sleep(0.1)
        stream.send.send_nowait(ev(119, 121, bids=[("10", "8")]))
        stream.send.send_nowait(ev(122, 122))

    async with trio.open_nursery() as nursery:
        nursery.start_soon(later)
        cache = await book.wait_synced()
    assert fetched[0] == 0.0
    assert 0.5 <= fetched[1] <= 1.0  # the backoff's first pause, not a tight loop
    assert cache.update_id == 122
    assert cache.get_bids() == [(10.0, 8.0)]  # snapshot 120, then event 119..121
    assert "starting over" in caplog.text


async def test_books_share_the_request_weight_budget(
    fake_binance: FakeBinance,
    autojump_clock: trio.testing.MockClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="trio_binance")
    symbols = [f"SYM{n}USDT" for n in range(6)]
    fake_binance.start_market(symbols, depth_interval=0.5)
    spot = dataclasses.replace(Settings().limits_for(Product.SPOT), rest_weight_per_minute=100)
    settings = Settings(limits={**Settings().limits, Product.SPOT: spot})  # snapshots: 50/min
    async with client(fake_binance, settings=settings) as bsm:
        books = [bsm.depth_cache(symbol, limit=500) for symbol in symbols]  # weight 25 each
        async with trio.open_nursery() as nursery:
            for book in books:
                nursery.start_soon(book.wait_synced)
        assert all(book.cache is not None for book in books)
        for symbol, book in zip(symbols, books, strict=True):
            # Each book reads through the updates buffered since it synced, then
            # shows the exchange's book.
            for _ in range(1000):
                cache = await book.receive()
                bids, asks, last = exchange_book(fake_binance, Product.SPOT, symbol)
                if cache.update_id == last:
                    assert (cache.get_bids(), cache.get_asks()) == (bids, asks)
                    break
            else:
                raise AssertionError(f"{symbol}: the book never caught up")
    times = [r.time for r in fake_binance.rest_requests if r.path == "/api/v3/depth"]
    assert len(times) == 6
    for start in times:  # never more than 50 weight (2 snapshots) in any minute
        assert sum(1 for t in times if start <= t < start + 60) <= 2
    assert times[-1] >= 120  # so the last waited two minutes, and said so
    assert "waits" in caplog.text and "for request weight" in caplog.text


def test_snapshot_weights_follow_binance() -> None:
    assert [snapshot_weight(Product.SPOT, n) for n in (1, 100, 101, 500, 1000, 5000)] == [
        5,
        5,
        25,
        25,
        50,
        250,
    ]
    assert [snapshot_weight(Product.USDM, n) for n in (5, 50, 100, 500, 1000)] == [2, 2, 5, 10, 20]
    assert [snapshot_weight(Product.OPTIONS, n) for n in (10, 100, 1000)] == [1, 5, 20]
