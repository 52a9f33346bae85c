"""Print USD-M futures account events (needs API keys in the environment).

    BINANCE_API_KEY=... BINANCE_API_SECRET=... python examples/user_data.py

Offline, with an account on the fake exchange (it sends a balance event every second):

    trio-binance fake --endpoints-out fake.json --api-key demo --api-secret s3cret &
    BINANCE_API_KEY=demo BINANCE_API_SECRET=s3cret \\
        python examples/user_data.py --endpoints fake.json --count 2
"""

from __future__ import annotations

import argparse
import os

import trio

from trio_binance import Endpoints, UserStreamError, open_binance_streams


async def main(endpoints: Endpoints | None, count: int | None) -> None:
    key, secret = os.environ["BINANCE_API_KEY"], os.environ["BINANCE_API_SECRET"]
    async with open_binance_streams(key, secret, endpoints=endpoints) as bsm:
        try:
            async with bsm.futures_user_socket() as account:
                seen = 0
                async for event in account:
                    print(event["e"], event.get("E"))
                    seen += 1
                    if seen == count:
                        return
        except UserStreamError as exc:  # the key was rejected, or renewals kept failing
            print("user data stopped:", exc)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Print USD-M account events.")
    parser.add_argument(
        "--endpoints", metavar="FILE", help="endpoints JSON, e.g. of trio-binance fake"
    )
    parser.add_argument("--count", type=int, help="stop after this many events")
    args = parser.parse_args()
    trio.run(main, Endpoints.from_file(args.endpoints) if args.endpoints else None, args.count)
