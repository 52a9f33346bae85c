"""Market streams end to end against the fake exchange, as a user runs them."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from trio_binance import Endpoints, Product, StreamRejected, open_binance_streams
from trio_binance.testing import FakeBinance

from ._support import all_closed, client, library_tasks


async def test_trade_stream_yields_bare_payloads_in_order(
    fake_binance: FakeBinance, autojump_clock: trio.testing.MockClock
) -> None:
    fake_binance.start_market(["BTCUSDT"], trade_interval=0.5)
    async with client(fake_binance) as bsm, bsm.trade_socket("BTCUSDT") as trades:
        received = [await trades.receive() for _ in range(5)]
    assert all(msg["e"] == "trade" and msg["s"] == "BTCUSDT" for msg in received)
    ids = [msg["t"] for msg in received]
    assert ids == list(range(ids[0], ids[0] + 5))
    [conn] = fake_binance.connections
    assert conn.path == "/spot/stream"


async def test_recv_alias_and_async_for(
    fake_binance: FakeBinance, autojump_clock: trio.testing.MockClock
) -> None:
    fake_binance.start_market(["ETHUSDT"], trade_interval=0.5)
    async with client(fake_binance) as bsm, bsm.aggtrade_socket("ethusdt") as handle:
        first = await handle.recv()
        rest = []
        async for msg in handle:
            rest.append(msg)
            if len(rest) == 3:
                break
    assert [m["a"] for m in [first, *rest]] == list(range(first["a"], first["a"] + 4))


async def test_multiplex_yields_envelopes(
    fake_binance: FakeBinance, autojump_clock: trio.testing.MockClock
) -> None:
    fake_binance.start_market(["BTCUSDT", "ETHUSDT"], trade_interval=0.5)
    async with client(fake_binance) as bsm:
        async with bsm.multiplex_socket(["btcusdt@trade", "ethusdt@trade"]) as handle:
            seen = set()
            while len(seen) < 2:
                msg = await handle.receive()
                assert set(msg) == {"stream", "data"}
                assert msg["data"]["s"].lower() + "@trade" == msg["stream"]
                seen.add(msg["stream"])


async def test_routes_follow_binance_2026(
    fake_binance: FakeBinance, autojump_clock: trio.testing.MockClock
) -> None:
    fake_binance.start_market(["BTCUSDT"], Product.USDM, trade_interval=0.5)
    async with client(fake_binance) as bsm:
        async with (
            bsm.aggtrade_futures_socket("BTCUSDT") as agg,
            bsm.futures_diff_depth_socket("BTCUSDT") as depth,
        ):
            assert (await agg.receive())["e"] == "aggTrade"
            assert (await depth.receive())["e"] == "depthUpdate"
    paths = sorted(c.path for c in fake_binance.connections)
    assert paths == ["/usdm/market/stream", "/usdm/public/stream"]
    assert all(not c.misrouted for c in fake_binance.connections)


async def test_two_handles_share_one_subscription_and_both_get_everything(
    fake_binance: FakeBinance, autojump_clock: trio.testing.MockClock
) -> None:
    fake_binance.start_market(["BTCUSDT"], trade_interval=0.5)
    async with client(fake_binance) as bsm:
        async with bsm.trade_socket("BTCUSDT") as a, bsm.trade_socket("BTCUSDT") as b:
            got_a = [(await a.receive())["t"] for _ in range(10)]
            got_b = [(await b.receive())["t"] for _ in range(10)]
    assert got_a == got_b
    [conn] = fake_binance.connections
    subscribes = [r for r in conn.requests if r.method == "SUBSCRIBE"]
    assert [r.params for r in subscribes] == [["btcusdt@trade"]]


async def test_many_handles_share_one_connection_with_live_subscribe(
    fake_binance: FakeBinance, autojump_clock: trio.testing.MockClock
) -> None:
    symbols = [f"SYM{i}USDT" for i in range(40)]
    async with client(fake_binance) as bsm:
        handles = [bsm.trade_socket(s) for s in symbols]
        for handle in handles:
            await handle.wait_live()
        [conn] = fake_binance.open_connections()
        assert conn.subscriptions == {f"sym{i}usdt@trade" for i in range(40)}
        for handle in handles[:30]:
            await handle.aclose()
        await fake_binance.wait_until(lambda: len(conn.subscriptions) == 10)
        late = bsm.kline_socket("BTCUSDT", "5m")
        await late.wait_live()
        assert "btcusdt@kline_5m" in conn.subscriptions
        assert len(fake_binance.connections) == 1
        for handle in [*handles[30:], late]:
            await handle.aclose()
        # The last stream gone, the connection closes.
        await all_closed(fake_binance)


async def test_invalid_stream_fails_only_its_own_handle(
    fake_binance: FakeBinance, autojump_clock: trio.testing.MockClock
) -> None:
    fake_binance.start_market(["BTCUSDT"], trade_interval=0.5)
    async with client(fake_binance) as bsm:
        good = bsm.trade_socket("BTCUSDT")
        bad = bsm.multiplex_socket(["btcusdt@aggTrade", "btcusdt@noSuchStream"])
        with pytest.raises(StreamRejected) as info:
            await bad.wait_live()
        assert info.value.stream == "btcusdt@noSuchStream"
        assert info.value.code == 2
        with pytest.raises(StreamRejected):
            await bad.receive()
        async with good:
            assert (await good.receive())["e"] == "trade"
        [conn] = fake_binance.open_connections()
        assert "btcusdt@noSuchStream" not in conn.subscriptions


async def test_bad_input_raises_before_any_io(fake_binance: FakeBinance) -> None:
    async with client(fake_binance) as bsm:
        with pytest.raises(ValueError, match="symbol"):
            bsm.trade_socket("btcusdt@trade/ethusdt")
        with pytest.raises(ValueError, match="interval"):
            bsm.kline_socket("BTCUSDT", "7m")
        with pytest.raises(ValueError, match="retired"):
            bsm.ticker_socket()
        with pytest.raises(ValueError, match="overflow"):
            bsm.with_options(overflow="sometimes")
    assert fake_binance.handshakes == []


async def test_user_exception_comes_out_unwrapped_and_everything_closes(
    fake_binance: FakeBinance, autojump_clock: trio.testing.MockClock
) -> None:
    fake_binance.start_market(["BTCUSDT"], trade_interval=0.5)
    with pytest.raises(KeyError, match="boom"):
        async with client(fake_binance) as bsm, bsm.trade_socket("BTCUSDT") as trades:
            await trades.receive()
            raise KeyError("boom")
    assert library_tasks() == []
    await all_closed(fake_binance)
    assert [c.closed_by for c in fake_binance.connections] == ["client"]


async def test_normal_exit_ends_handles_and_tasks(
    fake_binance: FakeBinance, autojump_clock: trio.testing.MockClock
) -> None:
    fake_binance.start_market(["BTCUSDT"], trade_interval=0.5)
    async with client(fake_binance) as bsm:
        trades = bsm.trade_socket("BTCUSDT")
        await trades.wait_live()
        await trio.sleep(5)
    assert library_tasks() == []
    await all_closed(fake_binance)
    # What was buffered is still readable, then the channel ends.
    buffered = [msg async for msg in trades]
    assert buffered and all(m["e"] == "trade" for m in buffered)


class _HangingTransport:
    """A transport whose connections never complete (a black-holed network)."""

    async def open_stream(self, host: str, port: int, *, tls: bool) -> trio.abc.Stream:
        await trio.sleep_forever()
        raise AssertionError("unreachable")

    def http_transport(self) -> None:
        return None


async def test_cancellation_mid_handshake_exits_promptly(
    autojump_clock: trio.testing.MockClock,
) -> None:
    endpoints = Endpoints.production()
    with trio.move_on_after(3) as scope:
        async with open_binance_streams(endpoints=endpoints, transport=_HangingTransport()) as bsm:
            await bsm.trade_socket("BTCUSDT").wait_live()
    assert scope.cancelled_caught
    assert trio.current_time() == pytest.approx(3)
    assert library_tasks() == []


async def test_cancellation_mid_reconnect_exits_promptly(
    fake_binance: FakeBinance, autojump_clock: trio.testing.MockClock
) -> None:
    fake_binance.reject_handshakes(503, count=1000)
    with trio.move_on_after(60) as scope:
        async with client(fake_binance) as bsm:
            await bsm.trade_socket("BTCUSDT").wait_live()
    assert scope.cancelled_caught
    assert len(fake_binance.handshakes) > 3
    assert library_tasks() == []


async def test_live_timeout_reports_the_last_cause(
    fake_binance: FakeBinance, autojump_clock: trio.testing.MockClock
) -> None:
    from trio_binance import Settings, StreamUnavailable

    fake_binance.reject_handshakes(503, count=1000)
    async with client(fake_binance, settings=Settings(live_timeout=20)) as bsm:
        with pytest.raises(StreamUnavailable, match="not live after 20") as info:
            async with bsm.trade_socket("BTCUSDT"):
                pass
        assert "503" in str(info.value.__cause__)


async def test_an_exception_group_from_the_users_own_nursery_comes_out_as_itself(
    fake_binance: FakeBinance, autojump_clock: trio.testing.MockClock
) -> None:
    async def fail() -> None:
        raise ValueError("from a task of the user's")

    with pytest.RaisesGroup(pytest.RaisesExc(ValueError, match="user's")):
        async with client(fake_binance) as bsm:
            bsm.trade_socket("BTCUSDT")
            async with trio.open_nursery() as nursery:
                nursery.start_soon(fail)
    assert library_tasks() == []
