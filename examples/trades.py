"""Print BTCUSDT trades.

python examples/trades.py                          # from Binance
trio-binance fake --endpoints-out fake.json &      # or offline, from the fake exchange
python examples/trades.py --endpoints fake.json --count 5
"""

from __future__ import annotations

import argparse

import trio

from trio_binance import Endpoints, open_binance_streams


async def main(endpoints: Endpoints | None, count: int | None) -> None:
    async with (
        open_binance_streams(endpoints=endpoints) as bsm,
        bsm.trade_socket("BTCUSDT") as trades,
    ):
        seen = 0
        async for msg in trades:
            print(msg["T"], msg["p"], msg["q"])
            seen += 1
            if seen == count:
                return


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Print BTCUSDT trades.")
    parser.add_argument(
        "--endpoints", metavar="FILE", help="endpoints JSON, e.g. of trio-binance fake"
    )
    parser.add_argument("--count", type=int, help="stop after this many trades")
    args = parser.parse_args()
    trio.run(main, Endpoints.from_file(args.endpoints) if args.endpoints else None, args.count)
