"""How to test your own app against the fake exchange, with a fake clock.

    python -m pytest examples/test_my_bot.py

The ``fake_binance`` fixture comes from trio_binance's pytest plugin; pytest-trio
provides ``autojump_clock``.  A day of virtual time runs in well under a second.
"""

import pytest
import trio

from trio_binance import Gap, StreamHandle, open_binance_streams
from trio_binance.testing import FakeBinance

pytestmark = pytest.mark.trio


async def average_price(handle: StreamHandle, n: int) -> float:
    """The app under test: the mean of the next ``n`` trade prices, ignoring gaps."""
    prices: list[float] = []
    async for msg in handle:
        if isinstance(msg, Gap):
            continue
        prices.append(float(msg["p"]))
        if len(prices) == n:
            return sum(prices) / n
    raise RuntimeError("stream ended")


async def test_survives_a_dropped_connection(
    fake_binance: FakeBinance, autojump_clock: trio.testing.MockClock
) -> None:
    fake_binance.start_market(["BTCUSDT"], trade_interval=1.0)
    async with open_binance_streams(
        endpoints=fake_binance.endpoints, transport=fake_binance.transport, gap_notices=True
    ) as bsm:
        async with bsm.trade_socket("BTCUSDT") as trades:
            await trades.receive()
            fake_binance.open_connections()[0].drop()  # the network fails
            assert 50 < await average_price(trades, 100) < 200
            assert trades.stats.reconnects == 1
