"""Print USD-M futures account events (needs Binance API keys in the environment).

BINANCE_API_KEY=... BINANCE_API_SECRET=... python examples/user_data.py
"""

import os

import trio

from trio_binance import UserStreamError, open_binance_streams


async def main() -> None:
    key, secret = os.environ["BINANCE_API_KEY"], os.environ["BINANCE_API_SECRET"]
    async with open_binance_streams(key, secret) as bsm:
        try:
            async with bsm.futures_user_socket() as account:
                async for event in account:
                    print(event["e"], event.get("E"))
        except UserStreamError as exc:  # the key was rejected, or renewals kept failing
            print("user data stopped:", exc)


if __name__ == "__main__":
    trio.run(main)
