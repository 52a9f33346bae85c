"""Connections that come back: drops, close frames, rejects, pings, server garbage."""

from __future__ import annotations

import itertools
import random

import pytest
import trio
import trio.testing

from trio_binance import Gap, Product, Settings
from trio_binance.testing import FakeBinance

from ._support import client


async def _next_trade(handle: object) -> dict[str, object]:
    while True:
        msg = await handle.receive()  # type: ignore[attr-defined]
        if not isinstance(msg, Gap):
            return msg  # type: ignore[no-any-return]


@pytest.mark.parametrize("how", ["drop", "close"])
async def test_reconnects_and_resubscribes(
    fake_binance: FakeBinance, autojump_clock: trio.testing.MockClock, how: str
) -> None:
    fake_binance.start_market(["BTCUSDT"], trade_interval=0.5)
    async with client(fake_binance) as bsm, bsm.trade_socket("BTCUSDT") as trades:
        before = await _next_trade(trades)
        [first] = fake_binance.open_connections()
        if how == "drop":
            first.drop()
        else:
            await first.close(1001, "going away")
        await fake_binance.wait_for_connections(1)
        after = [await _next_trade(trades) for _ in range(3)]
        [second] = fake_binance.open_connections()
        assert second is not first
        assert second.subscriptions == {"btcusdt@trade"}
        assert after[0]["t"] > before["t"]
        [conn_stats] = bsm.connection_stats()
        assert conn_stats.reconnects == 1
        assert trades.stats.reconnects == 1


async def test_rejected_handshakes_back_off_on_schedule(
    fake_binance: FakeBinance, autojump_clock: trio.testing.MockClock
) -> None:
    fake_binance.start_market(["BTCUSDT"], trade_interval=0.5)
    fake_binance.reject_handshakes(503, count=6)
    async with client(fake_binance, rng=random.Random(7)) as bsm:
        async with bsm.trade_socket("BTCUSDT") as trades:
            assert (await trades.receive())["e"] == "trade"
    times = [h.time for h in fake_binance.handshakes]
    statuses = [h.status for h in fake_binance.handshakes]
    assert statuses == [503] * 6 + [101]
    waits = [b - a for a, b in itertools.pairwise(times)]
    for n, wait in enumerate(waits, start=1):
        ceiling = min(60.0, 0.5 * 2 ** (n - 1))
        assert ceiling / 2 <= wait <= ceiling + 1e-6, (n, wait)


@pytest.mark.parametrize(("status", "floor"), [(429, 30.0), (418, 120.0)])
async def test_rate_limit_and_ban_rejects_back_off_long(
    fake_binance: FakeBinance, autojump_clock: trio.testing.MockClock, status: int, floor: float
) -> None:
    fake_binance.start_market(["BTCUSDT"], trade_interval=0.5)
    fake_binance.reject_handshakes(status, count=2)
    async with client(fake_binance, settings=Settings(live_timeout=None)) as bsm:
        async with bsm.with_options(gap_notices=True).trade_socket("BTCUSDT") as trades:
            await trades.receive()
        [stats] = bsm.connection_stats()
        assert stats.rejects == 2
    times = [h.time for h in fake_binance.handshakes]
    assert times[1] - times[0] == pytest.approx(floor)
    assert times[2] - times[1] == pytest.approx(2 * floor)


async def test_retry_after_header_is_honoured(
    fake_binance: FakeBinance, autojump_clock: trio.testing.MockClock
) -> None:
    fake_binance.reject_handshakes(429, count=1, headers={"Retry-After": "300"})
    async with client(fake_binance, settings=Settings(live_timeout=None)) as bsm:
        await bsm.trade_socket("BTCUSDT").wait_live()
    times = [h.time for h in fake_binance.handshakes]
    assert times[1] - times[0] == pytest.approx(300)


async def test_a_consumer_that_never_reads_does_not_stop_ping_answers(
    fake_binance: FakeBinance, autojump_clock: trio.testing.MockClock
) -> None:
    fake_binance.start_market(["BTCUSDT"], trade_interval=0.05, book_ticker_interval=None)
    async with client(fake_binance) as bsm:
        stuck = bsm.trade_socket("BTCUSDT")
        await stuck.wait_live()
        await trio.sleep(600)  # ten minutes of spot pings every 20 s, 1 min deadline
        [conn] = fake_binance.connections
        assert conn.closed_at is None
        assert conn.pings_sent >= 29
        assert conn.pings_answered >= conn.pings_sent - 1  # the last may be in flight
        assert stuck.stats.backlog > 10_000
        assert stuck.stats.dropped == 0


async def test_garbage_and_binary_frames_are_skipped(
    fake_binance: FakeBinance, autojump_clock: trio.testing.MockClock
) -> None:
    fake_binance.start_market(["BTCUSDT"], trade_interval=0.5)
    async with client(fake_binance) as bsm, bsm.trade_socket("BTCUSDT") as trades:
        first = await trades.receive()
        [conn] = fake_binance.open_connections()
        conn.send_garbage()
        conn.send_raw(b"\x00\x01binary")
        conn.send_raw("[1, 2, 3]")
        conn.send_json({"unexpected": True})
        following = [await trades.receive() for _ in range(3)]
        assert [m["t"] for m in following] == [first["t"] + i for i in range(1, 4)]
        assert fake_binance.open_connections() == [conn]
        [stats] = bsm.connection_stats()
        assert stats.malformed == 4


async def test_oversized_message_costs_a_reconnect_not_the_stream(
    fake_binance: FakeBinance, autojump_clock: trio.testing.MockClock
) -> None:
    fake_binance.start_market(["BTCUSDT"], trade_interval=0.5)
    settings = Settings(max_message_size=64 * 1024)
    async with client(fake_binance, settings=settings, gap_notices=True) as bsm:
        async with bsm.trade_socket("BTCUSDT") as trades:
            await trades.receive()
            [conn] = fake_binance.open_connections()
            conn.send_oversized(256 * 1024)
            gap = await trades.receive()
            assert isinstance(gap, Gap) and gap.reason == "reconnect"
            assert (await trades.receive())["e"] == "trade"
    assert fake_binance.connections[0].close_code == 1009


async def test_streams_on_every_product_come_back_after_drops(
    fake_binance: FakeBinance, autojump_clock: trio.testing.MockClock
) -> None:
    fake_binance.start_market(["BTCUSDT"], trade_interval=0.5)
    fake_binance.start_market(["BTCUSDT"], Product.USDM, trade_interval=0.5)
    fake_binance.start_market(["BTCUSD_PERP"], Product.COINM, trade_interval=0.5)
    async with client(fake_binance) as bsm:
        handles = [
            bsm.trade_socket("BTCUSDT"),
            bsm.aggtrade_futures_socket("BTCUSDT"),
            bsm.symbol_ticker_futures_socket("BTCUSDT"),
            bsm.aggtrade_futures_socket("BTCUSD_PERP", futures_type="COIN_M"),
        ]
        for handle in handles:
            await handle.receive()
        for conn in fake_binance.open_connections():
            conn.drop()
        for handle in handles:
            await handle.receive()
        assert len(fake_binance.open_connections()) == 4
