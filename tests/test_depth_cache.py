"""Local order books: Binance's sync rules (pure) and depth caches on the fake exchange.

The end-to-end tests compare the local book with the fake exchange's own book at the
same update id: a user's book is right only if it is the exchange's book.
"""

from __future__ import annotations

import dataclasses
import email.utils
import logging
import time
from decimal import Decimal
from typing import Any

import httpx
import pytest
import trio
import trio.testing

from trio_binance import (
    BinanceAPIError,
    DepthCache,
    DepthCacheHandle,
    Endpoints,
    FuturesType,
    Product,
    Settings,
    open_binance_streams,
)
from trio_binance._order_book import (
    BookSync,
    OutOfSync,
    Snapshot,
    parse_snapshot,
    snapshot_weight,
    validate_depth_limit,
)
from trio_binance._rest import RestClient, WallClock, parse_retry_after
from trio_binance.testing import FakeBinance, FakeSettings, open_fake_binance
from trio_binance.testing._rest import RestRequest, RestResponse

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


def snap(last: int, bids: Any = (("10", "1"),), asks: Any = (("11", "1"),)) -> Snapshot:
    return parse_snapshot(
        {"lastUpdateId": last, "bids": [list(b) for b in bids], "asks": [list(a) for a in asks]}
    )


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
    assert book.bids() == [(10.0, 2.0)]  # "9" was before the snapshot: never applied
    assert book.asks() == []
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
    assert sync.book.update_id == 110 and sync.book.bids() == [(10.0, 4.0)]

    futures = BookSync("BTCUSDT", spot=False)
    futures.event(ev(102, 103, pu=101))
    assert not futures.snapshot(snap(100))  # futures need U <= lastUpdateId, or pu == it
    assert futures.snapshot(snap(102))


def test_futures_join_a_snapshot_that_fell_between_two_events() -> None:
    sync = BookSync("BTCUSDT", spot=False)
    sync.event(ev(101, 102, bids=[("10", "3")], pu=100))  # U > 100, but follows it
    assert sync.snapshot(snap(100))
    assert sync.book is not None and sync.book.bids() == [(10.0, 3.0)]
    later = BookSync("BTCUSDT", spot=False)
    assert later.snapshot(snap(100))  # nothing buffered yet: the next event decides
    assert later.event(ev(101, 101, pu=100))
    stale = BookSync("BTCUSDT", spot=False)
    assert stale.snapshot(snap(100))
    with pytest.raises(OutOfSync) as caught:
        stale.event(ev(105, 106, pu=104))  # 101..104 happened before the stream began
    assert caught.value.reason == "gap"
    assert "after the snapshot's 100" in caught.value.detail
    assert not stale.synced and len(stale.buffered) == 1  # kept for the next snapshot


def test_futures_rules_strict_drop_and_previous_update_chain() -> None:
    sync = BookSync("BTCUSDT", spot=False)
    sync.event(ev(90, 99, pu=89))  # u < 100: dropped
    sync.event(ev(100, 100, bids=[("10", "7")], pu=99))  # u == lastUpdateId: applied
    sync.event(ev(101, 105, bids=[("9", "1")], pu=100))
    assert sync.snapshot(snap(100))
    book = sync.book
    assert book is not None
    assert book.update_id == 105
    assert book.bids() == [(10.0, 7.0), (9.0, 1.0)]
    assert sync.event(ev(106, 110, pu=105))
    with pytest.raises(OutOfSync, match="follows 111"):
        sync.event(ev(112, 115, pu=111))


def test_a_hole_in_the_buffer_drops_what_came_before_it() -> None:
    sync = BookSync("BTCUSDT", spot=False)
    sync.event(ev(100, 101, pu=99))
    sync.event(ev(105, 106, bids=[("10", "5")], pu=104))  # 102..104 lost
    assert len(sync.buffered) == 1 and sync.discarded == 1
    assert not sync.snapshot(snap(100))  # it cannot bridge the hole: another, please
    assert sync.snapshot(snap(105))
    assert sync.book is not None and sync.book.update_id == 106
    assert sync.book.bids() == [(10.0, 5.0)]


def test_duplicates_and_stale_events_are_skipped_everywhere() -> None:
    sync = BookSync("BTCUSDT", spot=True)
    sync.event(ev(101, 102))
    sync.event(ev(101, 102))  # a duplicate while buffering
    assert len(sync.buffered) == 1 and sync.skipped == 1
    assert sync.snapshot(snap(100))
    assert not sync.event(ev(99, 102))  # already in the book
    assert sync.event(ev(103, 103))
    assert sync.skipped == 2 and sync.applied == 2


def test_quantities_are_absolute_and_zero_removes_in_any_format() -> None:
    book = DepthCache("BTCUSDT")
    book._load(snap(1, bids=[("100.00", "1.000"), ("99.50", "2")], asks=[("101", "3")]))
    book._apply([["100.00", "0.000"], ["98", "0.00000000"]], [["101", "4"]])
    assert book.bids() == [(99.5, 2.0)]  # removed, and removing unknown 98 is fine
    assert book.asks() == [(101.0, 4.0)]
    book._apply([["100.5", "1"]], [["100.9", "1"], ["102", "1"]])
    book.update_id = 3
    assert book.bids(1) == [(100.5, 1.0)]
    assert book.asks() == [(100.9, 1.0), (101.0, 4.0), (102.0, 1.0)]
    assert book.asks(limit=2) == [(100.9, 1.0), (101.0, 4.0)]
    kept = book.copy()
    book._apply([], [["100.9", "0"]])
    book.update_id = 4
    assert book.best_ask() == (101.0, 4.0)
    assert kept.best_ask() == (100.9, 1.0) and kept.update_id == 3
    assert "BTCUSDT" in repr(book) and "update_id=4" in repr(book)


def test_decimal_books_are_exact() -> None:
    book = DepthCache("BTCUSDT", Decimal)
    book._load(snap(1, bids=[("0.1", "0.3")], asks=[]))
    book._apply([["0.10", "0.30000000"]], [])  # the same level, written longer
    assert book.bids() == [(Decimal("0.1"), Decimal("0.30000000"))]
    assert book.best_ask() is None


def test_malformed_events_are_skipped_and_a_bad_level_drops_the_book() -> None:
    sync = BookSync("BTCUSDT", spot=True)
    bad_events = (
        {"e": "depthUpdate"},
        [1, 2],
        None,
        {"U": "1", "u": 2, "b": [], "a": []},
        {"U": 1, "u": 2, "b": None, "a": []},
    )
    for bad in bad_events:
        assert not sync.event(bad)
    assert not sync.buffered and sync.malformed == len(bad_events)
    assert sync.snapshot(snap(100))
    for bad in bad_events:  # skipped: if one hid an update, the next ids show the gap
        assert not sync.event(bad)
    assert sync.synced and sync.malformed == 2 * len(bad_events)
    with pytest.raises(OutOfSync) as caught:
        sync.event(ev(101, 101, bids=[("10", "1"), ("x", "1")]))  # half applied: dropped
    assert caught.value.reason == "malformed" and not sync.synced and not sync.buffered


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
            assert cache.bids() == bids
            assert cache.asks() == asks
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


async def test_a_slow_reader_slows_the_stream_and_misses_nothing(
    fake_binance: FakeBinance, autojump_clock: trio.testing.MockClock
) -> None:
    fake_binance.start_market(["BTCUSDT"], depth_interval=0.1)
    async with client(fake_binance) as bsm:
        async with bsm.depth_cache("BTCUSDT", max_queue_size=5) as book:
            await trio.sleep(10)  # 100 updates arrive, 20 times the soft limit
            assert await check_matches(fake_binance, Product.SPOT, "BTCUSDT", book, 120) >= 15
            assert book.resyncs == 0
            assert book.stream.stats.dropped == 0
            assert book.stats.updates >= 100


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


async def test_garbage_on_the_stream_is_skipped_and_a_bad_level_rebuilds_the_book(
    fake_binance: FakeBinance,
    autojump_clock: trio.testing.MockClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    market = fake_binance.start_market(["BTCUSDT"], depth_interval=0.5)
    async with client(fake_binance) as bsm, bsm.depth_cache("BTCUSDT") as book:
        await check_matches(fake_binance, Product.SPOT, "BTCUSDT", book, 2)
        fake_binance.publish("btcusdt@depth", {"e": "depthUpdate", "U": "x"})
        # Nothing was missed (the ids go on): no new snapshot.
        assert await check_matches(fake_binance, Product.SPOT, "BTCUSDT", book, 8) >= 6
        assert book.resyncs == 0 and book.stats.malformed == 1
        assert "skipped 1 malformed depth event" in caplog.text
        last = market.last_update_id("BTCUSDT")
        bad = {"e": "depthUpdate", "U": last + 1, "u": last + 1, "b": [["x", "1"]], "a": []}
        fake_binance.publish("btcusdt@depth", bad)
        assert await check_matches(fake_binance, Product.SPOT, "BTCUSDT", book, 8) >= 6
        assert book.resyncs == 1 and book.state.last_resync_reason == "malformed"


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
            bsm.options_depth_cache(OPTION, refresh_interval=-1)
        with pytest.raises(ValueError, match="conv_type must turn price strings into numbers"):
            bsm.depth_cache("BTCUSDT", conv_type=str)
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
        await book.receive()  # the synced book, at once
        async with trio.open_nursery() as nursery:
            nursery.start_soon(book.receive)
            await trio.testing.wait_all_tasks_blocked()
            with pytest.raises(trio.BusyResourceError, match="already reading"):
                await book.receive()
        assert (await book.receive()).update_id > 0  # free again


class ScriptedStream:
    """Stands in for the diff-depth handle: the test feeds events one by one."""

    name = "btcusdt@depth"
    stats = None

    def __init__(self) -> None:
        self.send, self.events = trio.open_memory_channel[dict[str, Any]](100)

    async def wait_live(self) -> None:
        await trio.lowlevel.checkpoint()

    async def receive(self) -> dict[str, Any]:
        return await self.events.receive()

    def receive_nowait(self) -> dict[str, Any]:
        return self.events.receive_nowait()

    async def receive_batch(self, max_items: int | None = None) -> list[dict[str, Any]]:
        batch = [await self.events.receive()]
        while max_items is None or len(batch) < max_items:
            try:
                batch.append(self.events.receive_nowait())
            except trio.WouldBlock:
                break
        return batch

    async def aclose(self) -> None:
        await self.events.aclose()


async def test_a_snapshot_that_cannot_join_backs_off_and_tries_again(
    autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    import random

    from trio_binance._backoff import Backoff, WindowBudget

    caplog.set_level(logging.INFO, logger="trio_binance")
    stream = ScriptedStream()
    snapshots = [snap(100), snap(120, bids=[("10", "9")])]
    fetched: list[float] = []

    async def fetch() -> Snapshot:
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
    assert cache.bids() == [(10.0, 8.0)]  # snapshot 120, then event 119..121
    assert "the snapshot is older than the stream; another in" in caplog.text
    assert book.stats.stale_snapshots == 1 and book.resyncs == 0


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
                    assert (cache.bids(), cache.asks()) == (bids, asks)
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


# ------------------------------------------- floods, failures, state, python-binance


async def test_a_flood_of_100000_events_is_applied_in_full_without_a_resync(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # A replay or a backfill: 100,000 diff events queued at once.  Default settings:
    # the book's stream holds the backlog ("block") and the book keeps up.
    settings = FakeSettings(send_queue_size=200_000)  # the fake's queue, not ours
    async with open_fake_binance(settings=settings) as fake:
        market = fake.start_market(
            ["BTCUSDT"], depth_interval=None, book_ticker_interval=None, trade_interval=None
        )
        async with client(fake) as bsm, bsm.depth_cache("BTCUSDT") as book:
            start = book.stats.updates
            market.flood_depth("BTCUSDT", 100_000)
            last = market.last_update_id("BTCUSDT")
            cache = await book.receive()  # the synced book
            while cache.update_id < last:
                cache = await book.receive()
            bids, asks, exchange_last = exchange_book(fake, Product.SPOT, "BTCUSDT")
            assert exchange_last == last
            assert (cache.bids(), cache.asks()) == (bids, asks)
            stats = book.stats
            assert stats.updates - start >= 99_000  # one event per change (a few no-ops)
            assert stats.resyncs == 0 and stats.skipped == 0
            assert stats.stream.dropped == 0
            assert book.state.synced


async def test_a_stalled_reader_holds_the_backlog_and_catches_up_without_a_resync(
    autojump_clock: trio.testing.MockClock,
) -> None:
    settings = FakeSettings(send_queue_size=100_000)
    async with open_fake_binance(settings=settings) as fake:
        market = fake.start_market(["BTCUSDT"], Product.USDM, depth_interval=0.25)
        async with client(fake) as bsm, bsm.futures_depth_cache("BTCUSDT") as book:
            market.flood_depth("BTCUSDT", 20_000)
            await trio.sleep(30)  # the reader stalls; 120 more events arrive meanwhile
            assert book.stream.stats.backlog > 20_000
            assert await check_matches(fake, Product.USDM, "BTCUSDT", book, 20_200) >= 50
            stats = book.stats
            assert stats.resyncs == 0 and stats.stream.dropped == 0
            assert stats.stream.peak_backlog > 20_000


async def test_an_unknown_symbol_fails_fast(
    fake_binance: FakeBinance, autojump_clock: trio.testing.MockClock
) -> None:
    # Binance sends nothing on the stream of a symbol that does not exist; the
    # snapshot request, sent as soon as the stream is subscribed, says why.
    fake_binance.start_market(["BTCUSDT"], depth_interval=0.5)
    async with client(fake_binance) as bsm:
        with trio.fail_after(1), pytest.raises(BinanceAPIError) as caught:
            async with bsm.futures_depth_cache("NOSUCHUSDT"):
                pass  # pragma: no cover
    assert (caught.value.status, caught.value.code) == (400, -1121)
    assert caught.value.msg == "Invalid symbol."
    assert [r.path for r in fake_binance.rest_requests] == ["/fapi/v1/depth"]


@pytest.mark.parametrize("header", ["1.5", "HTTP-date"])
async def test_retry_after_is_honoured_by_every_book_of_the_product(
    fake_binance: FakeBinance,
    autojump_clock: trio.testing.MockClock,
    caplog: pytest.LogCaptureFixture,
    header: str,
) -> None:
    fake_binance.start_market(["BTCUSDT", "ETHUSDT"], depth_interval=0.5)
    if header == "HTTP-date":
        # Whole seconds from the wall clock: at least 2 s from now, at most 3.
        header = email.utils.formatdate(time.time() + 3, usegmt=True)
        wait = 2.0
    else:
        wait = 1.5
    fake_binance.reject_rest(429, path="/api/v3/depth", headers={"Retry-After": header})
    async with client(fake_binance) as bsm:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(bsm.depth_cache("BTCUSDT").wait_synced)
            await trio.sleep(0.5)  # the 429 came back; another book of the product:
            nursery.start_soon(bsm.depth_cache("ETHUSDT").wait_synced)
    times = [r.time for r in fake_binance.rest_requests if r.path == "/api/v3/depth"]
    assert len(times) == 3  # one 429, then one each
    assert min(times[1:]) - times[0] >= wait
    assert max(times[1:]) - times[0] < wait + 2  # and not the 30 s of a blind backoff
    assert "snapshot request failed (HTTP 429); retrying in" in caplog.text


def test_retry_after_is_read_in_seconds_or_as_an_http_date() -> None:
    assert parse_retry_after("1.5") == 1.5
    assert parse_retry_after(" 30 ") == 30.0
    assert parse_retry_after(None) is None
    for junk in ("soon", "-1", "nan", "inf", ""):
        assert parse_retry_after(junk) is None
    date = "Wed, 21 Oct 2015 07:28:00 GMT"
    assert parse_retry_after(date, now=1445412470.0) == 10.0
    assert parse_retry_after(date, now=1445412490.0) == 0.0  # past: no wait


async def test_api_errors_carry_retry_after() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(418, headers={"Retry-After": "120"}, json={"code": -1003})

    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as http:
        rest = RestClient(http, Endpoints.production(), api_key="k", signer=None, clock=WallClock())
        with pytest.raises(BinanceAPIError) as caught:
            await rest.create_listen_key("usdm")
    assert (caught.value.status, caught.value.retry_after) == (418, 120.0)


async def test_the_older_options_snapshot_shape_is_accepted(
    fake_binance: FakeBinance, autojump_clock: trio.testing.MockClock
) -> None:
    market = fake_binance.start_market([OPTION], Product.OPTIONS, depth_interval=0.5)

    def older_shape(request: RestRequest) -> RestResponse:
        snapshot = market.depth_snapshot(OPTION, int(request.params["limit"]))
        return RestResponse(200, {"T": snapshot["T"], "u": snapshot["lastUpdateId"],
                                  "bids": snapshot["bids"], "asks": snapshot["asks"]})  # fmt: skip

    fake_binance.rest.add("GET", "/eapi/v1/depth", older_shape)
    async with client(fake_binance) as bsm, bsm.options_depth_cache(OPTION) as book:
        assert await check_matches(fake_binance, Product.OPTIONS, OPTION, book, 10) >= 8
        assert book.resyncs == 0
    assert parse_snapshot({"T": 5, "u": 7, "bids": [], "asks": []}) == Snapshot(7, [], [], 5)
    with pytest.raises(ValueError, match="not an order-book snapshot"):
        parse_snapshot({"T": 5, "bids": [], "asks": []})


class SlowRest:
    """The fake's transport, with REST answers that take ``delay`` seconds; closing
    the HTTP client breaks the requests in flight, as a real connection pool does."""

    def __init__(self, fake: FakeBinance, delay: float) -> None:
        self._fake = fake
        self._delay = delay

    async def open_stream(self, host: str, port: int, *, tls: bool) -> trio.abc.Stream:
        return await self._fake.transport.open_stream(host, port, tls=tls)

    def http_transport(self) -> httpx.AsyncBaseTransport:
        inner = self._fake.transport.http_transport()
        closed = trio.Event()
        delay = self._delay

        class Slow(httpx.AsyncBaseTransport):
            async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
                with trio.move_on_after(delay):
                    await closed.wait()
                if closed.is_set():
                    raise httpx.ReadError("connection closed", request=request)
                return await inner.handle_async_request(request)

            async def aclose(self) -> None:
                closed.set()

        return Slow()


async def test_leaving_the_manager_mid_snapshot_is_quiet(
    fake_binance: FakeBinance,
    autojump_clock: trio.testing.MockClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake_binance.start_market(["BTCUSDT"], depth_interval=0.5)
    ended: list[str] = []

    async def reader(book: DepthCacheHandle) -> None:
        try:
            async for _cache in book:
                pass  # pragma: no cover - the snapshot never comes
        finally:
            ended.append("ended")

    async with trio.open_nursery() as nursery:
        transport = SlowRest(fake_binance, delay=30)
        async with open_binance_streams(
            endpoints=fake_binance.endpoints, transport=transport
        ) as bsm:
            nursery.start_soon(reader, bsm.depth_cache("BTCUSDT"))
            await fake_binance.wait_until(lambda: len(fake_binance.connections) == 1)
            await trio.sleep(1)  # the snapshot is in flight
    assert ended == ["ended"]
    assert "snapshot request failed" not in caplog.text
    assert library_tasks() == []


async def test_state_says_why_and_since_when_the_book_is_not_synced(
    fake_binance: FakeBinance,
    autojump_clock: trio.testing.MockClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    market = fake_binance.start_market(["BTCUSDT"], Product.USDM, depth_interval=0.5)
    async with client(fake_binance) as bsm:
        book = bsm.futures_depth_cache("BTCUSDT")
        state = book.state
        assert (state.synced, state.reason, state.resyncs) == (False, "starting", 0)
        await trio.sleep(1)
        async with book:
            assert book.state.synced and book.state.reason is None and book.cache is not None
            await check_matches(fake_binance, Product.USDM, "BTCUSDT", book, 3)
            market.drop_depth_events("BTCUSDT", 1)
            fake_binance.reject_rest(503, count=3, path="/fapi/v1/depth")
            seen: list[Any] = []

            async def watch() -> None:
                while book.state.resyncs == 0 or not book.state.synced:
                    seen.append((trio.current_time(), book.state, book.cache))
                    await trio.sleep(0.1)

            async with trio.open_nursery() as nursery:
                nursery.start_soon(watch)
                await check_matches(fake_binance, Product.USDM, "BTCUSDT", book, 5)
            lost = [(t, s, c) for t, s, c in seen if not s.synced]
            assert lost, "the resync was never visible"
            when, state, cache = lost[0]
            assert cache is None and state.reason == "gap" and state.since <= when
            assert state.detail is not None and "update follows" in state.detail
            assert state.last_resync_reason == "gap" and state.resyncs == 1
            assert book.state.synced and book.state.since > state.since
            stats = book.stats
            assert dict(stats.resync_reasons) == {"gap": 1} and stats.snapshot_failures == 3
            assert stats.snapshots == 5  # the first, three refused, the one that joined
    assert "resyncing (gap: update follows" in caplog.text


async def test_the_first_receive_returns_the_synced_book(
    fake_binance: FakeBinance, autojump_clock: trio.testing.MockClock
) -> None:
    fake_binance.start_market(["BTCUSDT"], depth_interval=0.5)
    async with client(fake_binance) as bsm, bsm.depth_cache("BTCUSDT") as book:
        synced = book.cache
        assert synced is not None
        snapshot_id = synced.update_id
        with trio.move_on_after(0.01):  # no time passes: returned at once
            first = await book.receive()
        assert first is synced and first.update_id == snapshot_id
        assert book.stats.updates == 0
        second = await book.receive()  # the next update
        assert second.update_id > snapshot_id and book.stats.updates == 1


async def test_refresh_interval_zero_means_disabled(
    fake_binance: FakeBinance, autojump_clock: trio.testing.MockClock
) -> None:
    fake_binance.start_market(["BTCUSDT"], depth_interval=1.0)
    async with client(fake_binance) as bsm:
        async with bsm.depth_cache("BTCUSDT", refresh_interval=0) as book:
            await check_matches(fake_binance, Product.SPOT, "BTCUSDT", book, 25)
            assert book.resyncs == 0


def test_python_binance_methods_behave_as_python_binance() -> None:
    book = DepthCache("BTCUSDT")
    for price, qty in (("100.0", "1"), ("101.5", "2"), ("99", "3")):
        book.add_bid([price, qty])
    book.add_ask(["102", "4"])
    book.add_ask(["103", "5"])
    bids = book.get_bids()
    assert bids == [[101.5, 2.0], [100.0, 1.0], [99.0, 3.0]]
    assert all(type(level) is list for level in bids)
    assert book.get_asks() == [[102.0, 4.0], [103.0, 5.0]]
    book.add_bid(["101.5", "0.00000000"])
    book.add_ask(["102", "0.000"])  # python-binance would keep this level: we do not
    assert book.get_bids()[0] == [100.0, 1.0] and book.get_asks() == [[103.0, 5.0]]
    assert book.get_symbol() == "BTCUSDT" and book.conv_type is float
    assert book.bids(1) == [(100.0, 1.0)] and book.best_ask() == (103.0, 5.0)

    assert DepthCache.sort_depth({"2": "1", "10": "3"}) == [[2.0, 1.0], [10.0, 3.0]]
    assert DepthCache.sort_depth([["2", "1"], ["10", "3"]], reverse=True) == [
        [10.0, 3.0],
        [2.0, 1.0],
    ]
    assert DepthCache.sort_depth({"0.1": "2"}, conv_type=Decimal) == [
        [Decimal("0.1"), Decimal("2")]
    ]
    with pytest.raises(ValueError, match="Unknown order book depth data type"):
        DepthCache.sort_depth(("1", "2"))  # type: ignore[arg-type]

    exact = DepthCache("ETHBTC", conv_type=Decimal)
    exact.add_bid(["0.05", "1.5"])
    assert exact.get_bids() == [[Decimal("0.05"), Decimal("1.5")]]
    with pytest.raises(ValueError, match="limit must be None or an int"):
        exact.bids(-1)


async def test_the_handle_has_python_binance_names(
    fake_binance: FakeBinance, autojump_clock: trio.testing.MockClock
) -> None:
    fake_binance.start_market(["BTCUSDT"], depth_interval=0.5)
    async with client(fake_binance) as bsm:
        book = bsm.depth_cache("btcusdt", conv_type=Decimal)
        assert book.get_symbol() == "BTCUSDT" and book.get_depth_cache() is None
        async with book:
            cache = await book.recv()
            assert book.get_depth_cache() is cache
            best = cache.best_bid()
            assert best is not None and isinstance(best[0], Decimal)
