"""Print BTCUSDT trades from Binance (needs network access to Binance).

python examples/trades.py
"""

import trio

from trio_binance import open_binance_streams


async def main() -> None:
    async with open_binance_streams() as bsm, bsm.trade_socket("BTCUSDT") as trades:
        async for msg in trades:
            print(msg["T"], msg["p"], msg["q"])


if __name__ == "__main__":
    trio.run(main)
