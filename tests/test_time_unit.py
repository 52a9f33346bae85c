"""``time_unit``: microsecond timestamps where Binance documents them (spot, WS-API)."""

from __future__ import annotations

import dataclasses

import pytest
import trio
import trio.testing

from trio_binance import Endpoints, Product, open_binance_streams
from trio_binance._streams import connection_url, validate_time_unit, with_time_unit
from trio_binance.testing import FakeBinance

from ._support import client

API_KEY = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"


@pytest.mark.parametrize(
    ("given", "sent"),
    [
        ("MICROSECOND", "MICROSECOND"),
        ("microsecond", "MICROSECOND"),
        ("MILLISECOND", "MILLISECOND"),
        ("millisecond", "MILLISECOND"),
        (None, None),
    ],
)
def test_binance_spellings_are_accepted(given: str | None, sent: str | None) -> None:
    assert validate_time_unit(given) == sent


@pytest.mark.parametrize("bad", ["Microsecond", "us", "NANOSECOND", "", 1000, True])
def test_other_time_units_are_a_value_error_naming_the_allowed(bad: object) -> None:
    with pytest.raises(ValueError, match="time_unit must be one of 'MICROSECOND'"):
        validate_time_unit(bad)


def test_only_the_spot_stream_and_ws_api_urls_carry_the_unit() -> None:
    plain = Endpoints.production()
    timed = with_time_unit(plain, "MICROSECOND")
    assert timed.spot_stream == "wss://stream.binance.com:9443?timeUnit=MICROSECOND"
    assert connection_url(timed.spot_stream) == (
        "wss://stream.binance.com:9443/stream?timeUnit=MICROSECOND"
    )
    assert timed.spot_ws_api == "wss://ws-api.binance.com:443/ws-api/v3?timeUnit=MICROSECOND"
    unchanged = {"spot_stream", "spot_ws_api"}
    assert all(
        getattr(timed, field) == getattr(plain, field)
        for field in plain.to_dict()
        if field not in unchanged
    )
    assert with_time_unit(plain, None) is plain
    assert connection_url(plain.spot_stream) == "wss://stream.binance.com:9443/stream"


async def test_a_bad_time_unit_fails_before_any_io(fake_binance: FakeBinance) -> None:
    with pytest.raises(ValueError, match="time_unit"):
        async with client(fake_binance, time_unit="seconds"):
            pass  # pragma: no cover
    assert fake_binance.handshakes == []


async def test_spot_streams_get_microsecond_timestamps(
    fake_binance: FakeBinance, autojump_clock: trio.testing.MockClock
) -> None:
    """python-binance's test_socket_spot_market_time_unit_microseconds, on the fake."""
    fake_binance.start_market(["BTCUSDT"], trade_interval=0.5, kline_interval=0.5)
    async with client(fake_binance, time_unit="microsecond") as bsm:
        assert bsm.time_unit == "MICROSECOND"
        assert bsm.endpoints == fake_binance.endpoints  # as given
        async with (
            bsm.symbol_ticker_socket("BTCUSDT") as ticker,
            bsm.trade_socket("BTCUSDT") as trades,
            bsm.kline_socket("BTCUSDT") as klines,
        ):
            tick = await ticker.recv()
            trade = await trades.recv()
            kline = await klines.recv()
    assert len(str(tick["E"])) >= 16, "Time should be in microseconds (16+ digits)"
    assert len(str(tick["O"])) >= 16 and len(str(tick["C"])) >= 16
    assert len(str(trade["E"])) >= 16 and len(str(trade["T"])) >= 16
    assert len(str(kline["k"]["t"])) >= 16 and len(str(kline["k"]["T"])) >= 16
    assert len(str(trade["t"])) < 16  # an id, not a time
    [conn] = fake_binance.connections
    assert conn.path == "/spot/stream?timeUnit=MICROSECOND"


async def test_milliseconds_can_be_asked_for_explicitly(
    fake_binance: FakeBinance, autojump_clock: trio.testing.MockClock
) -> None:
    fake_binance.start_market(["BTCUSDT"], trade_interval=0.5)
    async with client(fake_binance, time_unit="MILLISECOND") as bsm:
        async with bsm.symbol_ticker_socket("BTCUSDT") as ticker:
            tick = await ticker.recv()
    assert len(str(tick["E"])) == 13, "Time should be in milliseconds (13 digits)"
    assert fake_binance.connections[0].path == "/spot/stream?timeUnit=MILLISECOND"


async def test_futures_and_options_urls_are_left_alone(
    fake_binance: FakeBinance, autojump_clock: trio.testing.MockClock
) -> None:
    """Binance does not document timeUnit for futures or options: not sent, ms stay."""
    fake_binance.start_market(["BTCUSDT"], Product.USDM, trade_interval=0.5)
    async with client(fake_binance, time_unit="MICROSECOND") as bsm:
        async with bsm.aggtrade_futures_socket("BTCUSDT") as agg:
            event = await agg.recv()
        async with bsm.options_index_price_socket():
            pass
    assert len(str(event["E"])) == 13
    paths = sorted(c.path for c in fake_binance.connections)
    assert paths == ["/options/market/stream", "/usdm/market/stream"]


async def test_spot_user_data_subscribes_on_a_ws_api_url_with_the_unit(
    fake_binance: FakeBinance, autojump_clock: trio.testing.MockClock
) -> None:
    fake_binance.add_account(API_KEY, SECRET)
    async with open_binance_streams(
        API_KEY,
        SECRET,
        endpoints=fake_binance.endpoints,
        transport=fake_binance.transport,
        time_unit="MICROSECOND",
    ) as bsm:
        async with bsm.user_socket(), bsm.futures_user_socket():
            await fake_binance.wait_until(lambda: len(fake_binance.connections) == 2)
    paths = {c.service: c.path for c in fake_binance.connections}
    assert paths["ws_api"] == "/ws-api/v3?timeUnit=MICROSECOND"
    assert "timeUnit" not in paths["user_data"]


async def test_the_fake_refuses_a_time_unit_binance_does_not_know(
    fake_binance: FakeBinance, autojump_clock: trio.testing.MockClock
) -> None:
    bogus = dataclasses.replace(
        fake_binance.endpoints, spot_stream=f"{fake_binance.endpoints.spot_stream}?timeUnit=SECOND"
    )
    async with open_binance_streams(endpoints=bogus, transport=fake_binance.transport) as bsm:
        handle = bsm.trade_socket("BTCUSDT")
        await fake_binance.wait_until(lambda: bool(fake_binance.handshakes))
        await handle.aclose()
    first = fake_binance.handshakes[0]
    assert (first.status, first.reason) == (400, "invalid timeUnit 'SECOND'")
