"""Nothing lost silently: rotation, serverShutdown, dead sockets, slow consumers, limits."""

from __future__ import annotations

import math
import time

import pytest
import trio
import trio.testing

from trio_binance import Gap, Overflow, Product, QueueOverflow, Settings
from trio_binance.testing import FakeBinance, FakeConnection

from ._support import all_closed, client

HOUR = 3600.0


def max_overlap(conns: list[FakeConnection], until: float) -> int:
    """The most connections open at the same moment.

    Under a fake clock a rotation takes no time at all: the new connection opens at
    the very instant the old one closes.  At equal times an opening counts first,
    as it happened first (the old one is closed only once the new one carries
    every stream).
    """
    edges = []
    for conn in conns:
        edges.append((conn.opened_at, 1))
        edges.append((conn.closed_at if conn.closed_at is not None else until, -1))
    open_now = peak = 0
    for _, delta in sorted(edges, key=lambda e: (e[0], -e[1])):
        open_now += delta
        peak = max(peak, open_now)
    return peak


async def collect_trades(handle: object, until: float, out: list[int], gaps: list[Gap]) -> None:
    with trio.move_on_at(until):
        async for msg in handle:  # type: ignore[attr-defined]
            if isinstance(msg, Gap):
                gaps.append(msg)
            else:
                out.append(msg["t"])


async def test_48_hours_of_trades_with_two_rotations_and_no_gap(
    fake_binance: FakeBinance, autojump_clock: trio.testing.MockClock
) -> None:
    fake_binance.start_market(
        ["BTCUSDT"], trade_interval=30.0, book_ticker_interval=None, depth_interval=None,
        kline_interval=None, ticker_interval=None,
    )  # fmt: skip
    ids: list[int] = []
    gaps: list[Gap] = []
    async with client(fake_binance, gap_notices=True) as bsm:
        trades = bsm.trade_socket("BTCUSDT")
        await trades.wait_live()
        await collect_trades(trades, 48 * HOUR, ids, gaps)
        [stats] = bsm.connection_stats()
    assert stats.rotations == 2
    assert gaps == []
    assert len(ids) > 48 * HOUR / 30 - 5
    assert ids == list(range(ids[0], ids[0] + len(ids)))  # no gap, no duplicate
    conns = fake_binance.connections
    assert len(conns) == 3
    assert max_overlap(conns, trio.current_time()) == 2
    # Every connection was retired by us before Binance's 24-hour cut.
    assert all(c.closed_by in (None, "client") for c in conns)
    assert all((c.closed_at or trio.current_time()) - c.opened_at < 24 * HOUR for c in conns)


async def test_server_shutdown_switches_connections_without_a_gap(
    fake_binance: FakeBinance, autojump_clock: trio.testing.MockClock
) -> None:
    fake_binance.start_market(["BTCUSDT"], trade_interval=0.1, book_ticker_interval=None)
    ids: list[int] = []
    gaps: list[Gap] = []
    async with client(fake_binance, gap_notices=True) as bsm:
        trades = bsm.trade_socket("BTCUSDT")
        bookticker = bsm.symbol_book_ticker_socket("BTCUSDT")
        await trades.wait_live()
        await bookticker.wait_live()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(collect_trades, trades, 60.0, ids, gaps)
            await trio.sleep(10)
            [old] = fake_binance.open_connections()
            shutdown_at = trio.current_time()
            old.server_shutdown()
            await old.wait_closed()
            switched_after = trio.current_time() - shutdown_at
        [stats] = bsm.connection_stats()
    assert switched_after < 5
    assert old.closed_by == "client"
    assert stats.rotations == 1
    assert gaps == []
    assert ids == list(range(ids[0], ids[0] + len(ids)))
    assert len(ids) > 500


async def test_a_stalled_connection_is_replaced_within_the_deadline(
    fake_binance: FakeBinance, autojump_clock: trio.testing.MockClock
) -> None:
    fake_binance.start_market(["BTCUSDT"], trade_interval=1.0)
    async with client(fake_binance, gap_notices=True) as bsm:
        async with bsm.trade_socket("BTCUSDT") as trades:
            await trades.receive()
            [stalled] = fake_binance.open_connections()
            stalled_at = trio.current_time()
            stalled.stall()
            msg = await trades.receive()
            while not isinstance(msg, Gap):
                msg = await trades.receive()
            replaced_after = trio.current_time() - stalled_at
            assert msg.reason == "reconnect"
            assert (await trades.receive())["e"] == "trade"
    assert replaced_after < 60  # spot: the server wants a pong within 1 minute
    assert stalled.closed_by == "client"


async def test_a_quiet_but_healthy_connection_is_kept(
    fake_binance: FakeBinance, autojump_clock: trio.testing.MockClock
) -> None:
    async with client(fake_binance) as bsm:
        # No market: nothing is ever published, only the server's pings arrive.
        async with bsm.trade_socket("BTCUSDT"):
            await trio.sleep(2 * HOUR)
    await all_closed(fake_binance)
    [conn] = fake_binance.connections
    assert conn.closed_at is not None and conn.closed_at >= 2 * HOUR


async def test_a_quiet_futures_connection_is_kept(
    fake_binance: FakeBinance, autojump_clock: trio.testing.MockClock
) -> None:
    async with client(fake_binance) as bsm:
        async with bsm.aggtrade_futures_socket("BTCUSDT"):
            await trio.sleep(2 * HOUR)
    assert len(fake_binance.connections) == 1


async def test_a_drop_yields_exactly_one_gap_with_its_span(
    fake_binance: FakeBinance, autojump_clock: trio.testing.MockClock
) -> None:
    fake_binance.start_market(["BTCUSDT"], trade_interval=1.0, book_ticker_interval=None)
    async with client(fake_binance, gap_notices=True) as bsm:
        async with bsm.trade_socket("BTCUSDT") as trades:
            for _ in range(5):
                last = await trades.receive()
            last_seen = trio.current_time()
            [conn] = fake_binance.open_connections()
            conn.drop()
            dropped_at = trio.current_time()
            items = [await trades.receive() for _ in range(5)]
    gaps = [m for m in items if isinstance(m, Gap)]
    assert len(gaps) == 1
    gap = gaps[0]
    assert items[0] is gap  # delivered before anything after the gap
    assert gap.reason == "reconnect"
    assert gap.start == pytest.approx(last_seen)
    assert gap.start <= dropped_at < gap.end
    resubscribed = fake_binance.connections[1].requests[0].time
    assert gap.end >= resubscribed
    assert gap.last_id == last["t"]
    assert gap.last_event_time == last["E"]
    assert trades.gaps == [gap]


async def test_drop_oldest_keeps_the_latest_and_other_handles_keep_full_rate(
    fake_binance: FakeBinance, autojump_clock: trio.testing.MockClock
) -> None:
    fake_binance.start_market(["BTCUSDT"], trade_interval=0.01, book_ticker_interval=None)
    async with client(fake_binance) as bsm:
        slow = bsm.with_options(overflow=Overflow.DROP_OLDEST, max_queue_size=10, gap_notices=True)
        stuck = slow.trade_socket("BTCUSDT")
        fast = bsm.trade_socket("BTCUSDT")
        await stuck.wait_live()
        await fast.wait_live()
        fast_ids = [(await fast.receive())["t"] for _ in range(2000)]
        assert fast_ids == list(range(fast_ids[0], fast_ids[0] + 2000))
        gap = await stuck.receive()
        assert isinstance(gap, Gap) and gap.reason == "overflow"
        latest = [(await stuck.receive())["t"] for _ in range(10)]
        assert latest == list(range(latest[0], latest[0] + 10))
        assert stuck.stats.dropped == gap.dropped > 1900
        assert latest[-1] >= fast_ids[-1]


async def test_raise_policy_stops_only_the_slow_handle(
    fake_binance: FakeBinance, autojump_clock: trio.testing.MockClock
) -> None:
    fake_binance.start_market(["BTCUSDT"], trade_interval=0.01, book_ticker_interval=None)
    async with client(fake_binance) as bsm:
        stuck = bsm.with_options(overflow="raise", max_queue_size=50).trade_socket("BTCUSDT")
        fast = bsm.trade_socket("BTCUSDT")
        await stuck.wait_live()
        fast_ids = [(await fast.receive())["t"] for _ in range(500)]
        assert fast_ids == list(range(fast_ids[0], fast_ids[0] + 500))
        buffered = [await stuck.receive() for _ in range(50)]
        assert [m["t"] for m in buffered] == list(range(buffered[0]["t"], buffered[0]["t"] + 50))
        with pytest.raises(QueueOverflow):
            await stuck.receive()
        assert stuck.stats.dropped >= 1
        [conn] = fake_binance.open_connections()
        assert conn.subscriptions == {"btcusdt@trade"}  # still there for `fast`


async def test_block_policy_holds_the_backlog_and_loses_nothing(
    fake_binance: FakeBinance, autojump_clock: trio.testing.MockClock
) -> None:
    fake_binance.start_market(["BTCUSDT"], trade_interval=0.01, book_ticker_interval=None)
    async with client(fake_binance, max_queue_size=10) as bsm:
        trades = bsm.trade_socket("BTCUSDT")
        await trades.wait_live()
        await trio.sleep(30)  # 3,000 trades arrive while nobody reads
        assert trades.stats.backlog > 2900
        batch = await trades.receive_batch()
        ids = [m["t"] for m in batch]
        assert ids == list(range(ids[0], ids[0] + len(ids)))
        assert trades.stats.dropped == 0


async def test_3000_streams_land_on_three_connections_within_every_limit(
    fake_binance: FakeBinance, autojump_clock: trio.testing.MockClock
) -> None:
    symbols = [f"S{i:04d}USDT" for i in range(3000)]
    async with client(fake_binance) as bsm:
        handles = [bsm.trade_socket(s) for s in symbols]
        for handle in handles:
            await handle.wait_live()
        conns = fake_binance.open_connections()
        assert len(conns) == math.ceil(3000 / 1024)
        assert sum(len(c.subscriptions) for c in conns) == 3000
        # Close and reopen in bursts.
        for round_ in range(3):
            for handle in handles[round_ * 500 : (round_ + 1) * 500]:
                await handle.aclose()
            reopened = [bsm.trade_socket(s) for s in symbols[round_ * 500 : (round_ + 1) * 500]]
            for handle in reopened:
                await handle.wait_live()
            handles[round_ * 500 : (round_ + 1) * 500] = reopened
        await trio.sleep(5)
    assert all(c.closed_by in (None, "client") for c in fake_binance.connections)
    assert all(c.close_code in (None, 1000) for c in fake_binance.connections)
    for conn in fake_binance.connections:
        times = [r.time for r in conn.requests]
        for i, start in enumerate(times):
            assert len([t for t in times[i:] if t < start + 1.0]) <= 5


async def test_connection_attempt_budget_holds_through_a_storm_of_drops(
    fake_binance: FakeBinance, autojump_clock: trio.testing.MockClock
) -> None:
    settings = Settings(max_connection_attempts=20, connection_attempt_window=60.0)
    symbols = [f"S{i:03d}USDT" for i in range(40)]
    async with client(fake_binance, settings=settings) as bsm:
        handles = [bsm.futures_kline_socket(s) for s in symbols[:5]]
        handles += [bsm.trade_socket(s) for s in symbols[5:10]]
        handles += [bsm.options_kline_socket(f"btc-261225-{i}-c") for i in range(5)]
        for handle in handles:
            await handle.wait_live()
        for _ in range(30):
            for conn in fake_binance.open_connections():
                conn.drop()
            await trio.sleep(1)
        for handle in handles:
            await handle.wait_live()
    times = sorted(h.time for h in fake_binance.handshakes)
    for i, start in enumerate(times):
        assert len([t for t in times[i:] if t < start + 60.0]) <= 20


async def test_stats_are_kept_per_handle_and_per_connection(
    fake_binance: FakeBinance, autojump_clock: trio.testing.MockClock
) -> None:
    fake_binance.start_market(["BTCUSDT"], trade_interval=0.5, book_ticker_interval=None)
    async with client(fake_binance) as bsm, bsm.trade_socket("BTCUSDT") as trades:
        msgs = [await trades.receive() for _ in range(10)]
        stats = trades.stats
        assert stats.messages >= 10
        assert stats.last_event_time == max(m["E"] for m in msgs[-1:]) or stats.backlog > 0
        assert stats.last_receive_time is not None
        [conn] = bsm.connection_stats()
        assert conn.bytes > 10 * 100
        assert conn.frames >= 10
        assert conn.streams == 1 and conn.links == 1
        # The fake's clock starts on 2026-01-01, ours reads today: the lag shows it.
        assert stats.event_lag is not None and stats.event_lag > 0
        assert stats.last_event_time is not None
        expected = time.time() - stats.last_event_time / 1000
        assert stats.event_lag == pytest.approx(expected, abs=5.0)


@pytest.mark.parametrize(
    ("product", "limit"), [(Product.SPOT, 1024), (Product.COINM, 200), (Product.OPTIONS, 200)]
)
def test_stream_limits_per_product(product: Product, limit: int) -> None:
    assert Settings().limits_for(product).max_streams == limit


async def test_block_slows_the_socket_to_a_reading_consumer_and_loses_nothing(
    fake_binance: FakeBinance, autojump_clock: trio.testing.MockClock
) -> None:
    # The feed (1,000 trades/s) is twice as fast as the consumer (one per 2 ms).
    fake_binance.start_market(["BTCUSDT"], trade_interval=0.001, book_ticker_interval=None)
    async with client(fake_binance, max_queue_size=100) as bsm:
        async with bsm.trade_socket("BTCUSDT") as trades:
            ids = []
            peak = 0
            for _ in range(3000):
                ids.append((await trades.receive())["t"])
                peak = max(peak, trades.stats.backlog)
                await trio.sleep(0.002)
    assert ids == list(range(ids[0], ids[0] + 3000))
    assert trades.stats.dropped == 0
    assert peak < 1000  # held near the soft limit, not growing with the gap in rates
    await all_closed(fake_binance)
    [conn] = fake_binance.connections
    assert conn.closed_by == "client"  # never dropped as a slow reader by the server


async def test_a_stuck_block_handle_does_not_hold_up_another_handle(
    fake_binance: FakeBinance, autojump_clock: trio.testing.MockClock
) -> None:
    fake_binance.start_market(["BTCUSDT"], trade_interval=0.01, book_ticker_interval=None)
    async with client(fake_binance, max_queue_size=10) as bsm:
        stuck = bsm.trade_socket("BTCUSDT")
        fast = bsm.trade_socket("BTCUSDT")
        await stuck.wait_live()
        await fast.wait_live()
        start = trio.current_time()
        got = [(await fast.receive())["t"] for _ in range(3000)]
        elapsed = trio.current_time() - start
    assert got == list(range(got[0], got[0] + 3000))
    assert elapsed < 3000 * 0.01 * 1.1  # the feed's own pace
    assert stuck.stats.backlog >= 2990
